"""The `clipscale` command: a thin layer that selects and overrides configs, then calls the library.

Each stage registers its subcommands in its own module (cli/<stage>.py, a `register(subparsers)`
function that adds the command of the module's name). Heavy imports (torch, open_clip) happen inside
the handlers, after the input is checked, and only the command asked for is registered (a parser
may need its stage's registry), so a typo fails in a second. Library errors
(clipscale.errors.ClipscaleError) and bad arguments become one line on stderr and exit 2.
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import importlib
import logging
import os
import sys
import warnings

from clipscale import __version__
from clipscale.cli._parsing import Parser
from clipscale.errors import ClipscaleError, UserInputError, unknown

# Order is the order of `clipscale --help`.
_STAGE_MODULES = ("zoo", "compute", "classify", "data", "train", "eval", "finetune", "fit", "backtest", "predict", "compare", "plan",
                  "paper", "design", "study", "demo", "report")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The `clipscale` parser with every command, or with the command `only` alone."""
    parser = Parser(
        prog="clipscale",
        description="Reproducible scaling laws for contrastive language-image (CLIP) models. "
                    "`clipscale COMMAND --help` documents each command, with examples.",
    )
    parser.add_argument("--version", action="version", version=f"clipscale {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _STAGE_MODULES:
        if only is None or name == only:
            importlib.import_module(f"clipscale.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    try:
        if command is None and not any(a in ("-h", "--help", "--version") for a in argv):
            raise UserInputError("missing command; valid choices: " + ", ".join(_STAGE_MODULES)
                                 + "; see `clipscale --help`")
        if command is not None and command not in _STAGE_MODULES:
            raise unknown("command", command, _STAGE_MODULES, fix="see `clipscale --help`")
    except UserInputError as exc:
        print(f"clipscale: error: {exc}", file=sys.stderr)
        return exc.exit_code
    helps = any(a in ("-h", "--help") for a in argv)
    try:
        args = build_parser(only=command if command or helps else "").parse_args(argv)  # --version: no command
    except SystemExit as exc:  # --help, --version (0) and bad arguments (2, one line printed by Parser.error)
        return int(exc.code or 0)
    with _library_warnings_on_stderr():
        return _run(args.func, args)


class _OneLine(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        if record.levelno == logging.INFO:  # what a run tells its user (e.g. where it resumes)
            return f"clipscale: {record.getMessage()}"
        return f"clipscale: {record.levelname.lower()}: {record.getMessage()}"


@contextlib.contextmanager
def _library_warnings_on_stderr():
    """Show the library's log records ('clipscale: warning: ...', info as 'clipscale: ...') on stderr
    while a command runs; the library logs at info only what a user should see."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine())
    log = logging.getLogger("clipscale")
    old_level = log.level
    log.addHandler(handler)
    log.setLevel(min(old_level or logging.INFO, logging.INFO))
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(old_level)


# Warnings meant for the developers of a library, not for the person at the command line.
_DEVELOPER_WARNINGS = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)


@contextlib.contextmanager
def _library_python_warnings():
    """Python warnings raised by libraries while a command runs (scikit-learn's ConvergenceWarning,
    torch's notices) are kept off the screen; those meant for users are summarised in one line."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")  # each distinct warning once, as Python shows them
        yield
    shown = [w for w in caught if not issubclass(w.category, _DEVELOPER_WARNINGS)]
    if shown:
        kinds = collections.Counter(w.category.__name__ for w in shown)
        first = str(shown[0].message).strip().splitlines()[0][:120]
        print(f"clipscale: note: {len(shown)} library warning(s) hidden ("
              + ", ".join(f"{n} x{k}" for k, n in kinds.items()) + f"; first: {first})", file=sys.stderr)


def _run(func, args) -> int:
    """Run a subcommand's handler; library errors become one line on stderr and an exit code."""
    try:
        with _library_python_warnings():
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
