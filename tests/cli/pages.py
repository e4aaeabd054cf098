"""The help pages of the command line and the examples written on them (shared by the CLI tests)."""
from __future__ import annotations

import argparse
import re
import shlex

from clipscale.cli import build_parser

_COMMENT = re.compile(r"\s{2,}\(.*\)\s*$")  # a trailing "   (what this example does)"


def pages() -> list[tuple[str, argparse.ArgumentParser]]:
    """(prog, parser) of every command and subcommand, the internal `study worker` left out."""
    out, todo = [], [build_parser()]
    while todo:
        parser = todo.pop()
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    if name != "worker":
                        out.append((sub.prog, sub))
                        todo.append(sub)
    return out


def examples(parser: argparse.ArgumentParser) -> list[list[str]]:
    """The command lines written on a page (description and epilog): lines that start with
    `clipscale ` or `torchrun `, continued after a trailing backslash, without a trailing comment."""
    lines = f"{parser.description or ''}\n{parser.epilog or ''}".splitlines()
    out, i = [], 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if not line.startswith(("clipscale ", "torchrun ")):
            continue
        while line.endswith("\\") and i < len(lines):
            line = line[:-1].rstrip() + " " + lines[i].strip()
            i += 1
        out.append(shlex.split(_COMMENT.sub("", line)))
    return out
