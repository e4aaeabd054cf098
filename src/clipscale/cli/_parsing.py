"""What every command's parser shares: one-line errors, defaults in --help, typed counts, one way
to report a missing subcommand, and renamed flags that still work for a while (with a line saying so).
"""
from __future__ import annotations

import argparse
import sys

from clipscale.errors import UserInputError, choices_hint


class Formatter(argparse.HelpFormatter):
    """Appends '(default: X)' to an option's help unless the help already says its default, or the
    default is None/False (nothing to show: the help says what happens without the option)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if ("default" in text.lower() or default in (None, False, argparse.SUPPRESS) or default == []
                or not action.option_strings or isinstance(action, argparse._VersionAction)):
            return text
        return f"{text} (default: %(default)s)"


class RawFormatter(Formatter, argparse.RawDescriptionHelpFormatter):
    """Formatter that keeps the description's and epilog's line breaks (examples)."""


class Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line ('clipscale: error: ...', exit 2) and whose
    subcommands are Parsers too."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", Formatter)
        super().__init__(*args, **kwargs)

    def parse_known_args(self, args=None, namespace=None):
        namespace, rest = super().parse_known_args(args, namespace)
        for dest, flag in getattr(self, "required_renamed", {}).items():  # see renamed(required=True)
            if getattr(namespace, dest, None) is None:
                self.error(f"the following arguments are required: {flag}")
        return namespace, rest

    def error(self, message: str):
        print(f"clipscale: error: {self.prog}: {message}; see `{self.prog} --help`", file=sys.stderr)
        raise SystemExit(2)


def actions(parser: argparse.ArgumentParser, dest: str, metavar: str = "ACTION"):
    """Subcommands of `parser`; running `parser` without one is the one-line UserInputError every
    command group gives (a list of the valid choices)."""
    sub = parser.add_subparsers(dest=dest, metavar=metavar)

    def missing(args) -> int:
        public = [name for name, sp in sub.choices.items() if sp.description]  # internal ones have none
        raise UserInputError(f"`{parser.prog}` needs an {metavar.lower()}; {choices_hint(public)}; "
                             f"see `{parser.prog} --help`")

    parser.set_defaults(func=missing)
    return sub


class _Renamed(argparse.Action):
    """An old option name: works as the new one, with a warning line naming the new one."""

    def __init__(self, option_strings, dest, new: str, **kwargs):
        self.new = new
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"clipscale: warning: {option_string} is renamed {self.new} (same meaning); the old name will go",
              file=sys.stderr)
        setattr(namespace, self.dest, self.const if self.nargs == 0 else values)


def renamed(parser, old: str, new: str, dest: str, *, flag: bool = False, required: bool = False, **kwargs) -> None:
    """Accept `old` (hidden from --help) as `new`, which sets `dest`; `flag`: a store_true option.
    `required`: one of the two must be given (declare `new` with required=False and default None)."""
    extra = {"nargs": 0, "const": True} if flag else kwargs
    parser.add_argument(old, dest=dest, action=_Renamed, new=new, help=argparse.SUPPRESS,
                        default=argparse.SUPPRESS, **extra)
    if required:
        parser.required_renamed = {**getattr(parser, "required_renamed", {}), dest: new}


def _count(minimum: int, what: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {what}, got {value}")
        return value

    parse.__name__ = what  # argparse names the type in some messages
    return parse


positive_int = _count(1, "a positive integer")
nonnegative_int = _count(0, "an integer >= 0")


def positive_float(text: str) -> float:
    """A finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text}")
    return value


def comma_list(text: str) -> list[str]:
    """'a, b,c' -> ['a', 'b', 'c']; empty items dropped."""
    return [part.strip() for part in text.split(",") if part.strip()]
