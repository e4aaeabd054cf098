"""The `clipscale` command: a thin layer that selects and overrides configs, then calls the library.

Each stage registers its subcommands in its own module (cli/<stage>.py, a `register(subparsers)`
function). Heavy imports (torch, open_clip) happen inside the handlers so `--help` stays fast.
Library errors (clipscale.errors.ClipscaleError) become one line on stderr and a nonzero exit.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys

from clipscale import __version__
from clipscale.errors import ClipscaleError

# Order is the order of `clipscale --help`.
_STAGE_MODULES = ("zoo", "compute", "classify", "data", "train", "eval", "finetune", "fit", "backtest", "predict", "compare", "plan",
                  "paper", "design", "study", "demo", "report")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clipscale",
        description="Reproducible scaling laws for contrastive language-image (CLIP) models.",
    )
    parser.add_argument("--version", action="version", version=f"clipscale {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _STAGE_MODULES:
        importlib.import_module(f"clipscale.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    with _library_warnings_on_stderr():
        return _run(func, args)


class _OneLine(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"clipscale: {record.levelname.lower()}: {record.getMessage()}"


@contextlib.contextmanager
def _library_warnings_on_stderr():
    """Show the library's log warnings ('clipscale: warning: ...') on stderr while a command runs."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine())
    log = logging.getLogger("clipscale")
    old_level = log.level
    log.addHandler(handler)
    log.setLevel(min(old_level or logging.WARNING, logging.WARNING))
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(old_level)


def _run(func, args) -> int:
    """Run a subcommand's handler; library errors become one line on stderr and an exit code."""
    try:
        return int(func(args) or 0)
    except ClipscaleError as exc:
        print(f"clipscale: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("clipscale: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `clipscale zoo list | head`: not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
