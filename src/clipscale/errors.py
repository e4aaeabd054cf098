"""Typed exceptions. The library raises these; only the CLI turns them into one line and an exit code.

A message says what was wrong, the valid choices where there are some, and the fix.
"""
from __future__ import annotations

from typing import Iterable


class ClipscaleError(Exception):
    """Base class of every error clipscale raises on purpose."""

    exit_code = 2


class UserInputError(ClipscaleError, ValueError):
    """Bad input from the caller: an option, a file's content, a spec."""


class NotFoundError(UserInputError, LookupError):
    """A name that is not in a registry (model, checkpoint, task, law form)."""


class DataError(UserInputError):
    """A table or dataset that is missing columns, has bad values or the wrong layout."""


class FitError(ClipscaleError):
    """A law that cannot be fitted to the data given (too few points, no spread)."""


class OfflineError(ClipscaleError):
    """A download was needed but the network (or the server) cannot be reached."""


class DownloadError(ClipscaleError):
    """A download failed or its checksum did not match."""


class UnsafeCheckpointError(ClipscaleError):
    """A checkpoint that would need to run code to load (pickled objects beyond tensors)."""


class TrainingError(ClipscaleError):
    """A training run that cannot go on (NaN loss, failed engine)."""


class ComputeError(ClipscaleError):
    """An architecture whose compute (parameters, GMACs) could not be counted."""


def choices_hint(valid: Iterable[str], limit: int = 20) -> str:
    """'valid choices: a, b, c' with at most `limit` names shown."""
    names = sorted(set(map(str, valid)))
    shown = ", ".join(names[:limit])
    more = f", ... ({len(names) - limit} more)" if len(names) > limit else ""
    return f"valid choices: {shown}{more}"


def did_you_mean(name: str, valid: Iterable[str], n: int = 3) -> list[str]:
    """The valid names nearest to `name` (difflib's ratio >= 0.6), best first; [] when none is near."""
    import difflib

    names = sorted(set(map(str, valid)))
    near = difflib.get_close_matches(name, names, n=n)
    if not near:  # a case slip (vit-b-32) is not "far"
        lower = {v.lower(): v for v in names}
        near = [lower[m] for m in difflib.get_close_matches(name.lower(), list(lower), n=n)]
    return near


def unknown(kind: str, name: str, valid: Iterable[str], fix: str = "") -> NotFoundError:
    """A NotFoundError for `name` that names the nearest valid names ("did you mean") and lists the
    valid choices (only their count, when there are many and some are near)."""
    valid = sorted(set(map(str, valid)))
    near = did_you_mean(str(name), valid)
    guess = f"did you mean {' or '.join(map(repr, near))}? " if near else ""
    listed = f"({len(valid)} valid choices)" if near and len(valid) > 20 else choices_hint(valid)
    return NotFoundError(f"unknown {kind} {name!r}; {guess}{listed}" + (f"; {fix}" if fix else ""))
