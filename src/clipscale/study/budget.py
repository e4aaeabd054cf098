"""Wall-time budgets for studies (issue 10): parsing of budget strings.

A budget is a wall-clock duration in seconds (float). Accepted forms:
a positive number of seconds ('600', '600s'), minutes ('10m'), or hours
('1.5h', '2h'). Anything else raises :class:`clipscale.errors.UserInputError`
whose message names the accepted forms, so the CLI can print it as one line.
"""

from __future__ import annotations

import math
import re

from clipscale.errors import UserInputError

ACCEPTED_FORMS = "'600', '600s', '10m', '1.5h', '2h' (a positive number, optional unit s, m or h)"

_UNIT_SECONDS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([smh]?)\s*$")


def parse_budget(text: str | float | int) -> float:
    """Return the budget *text* as wall-clock seconds (float, > 0).

    Numbers are taken as seconds. Raises UserInputError on an empty, zero,
    negative, non-finite or unit-less-word budget (e.g. '10 minutes').
    """
    if isinstance(text, bool):
        raise UserInputError(f"budget {text!r} is not a duration; accepted forms: {ACCEPTED_FORMS}")
    if isinstance(text, (int, float)):
        seconds = float(text)
    else:
        match = _PATTERN.match(str(text).lower())
        if match is None:
            raise UserInputError(
                f"budget {text!r} is not a duration; accepted forms: {ACCEPTED_FORMS}")
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if not math.isfinite(seconds) or seconds <= 0:
        raise UserInputError(
            f"budget {text!r} must be a positive duration; accepted forms: {ACCEPTED_FORMS}")
    return seconds


def scale_levels(levels: list[int], factor: float, batch_size: int) -> list[int]:
    """samples_seen *levels* times *factor*, each rounded to whole batches (at least one batch).

    Raises UserInputError if rounding merges two levels (the grid would lose a point).
    """
    if factor <= 0 or batch_size <= 0:
        raise UserInputError(f"scale factor {factor} and batch size {batch_size} must be positive")
    scaled = [max(1, round(level * factor / batch_size)) * batch_size for level in levels]
    if len(set(scaled)) != len(set(levels)):
        raise UserInputError(f"scaling {levels} by {factor:.3g} with batch {batch_size} merges levels "
                             f"into {scaled}; raise the budget")
    return scaled


def makespan(seconds: list[float], slots: int) -> float:
    """Wall seconds to run jobs of *seconds* on *slots* parallel workers, longest first (LPT greedy)."""
    if slots <= 0:
        raise UserInputError(f"parallel slots must be positive, got {slots}")
    loads = [0.0] * slots
    for job in sorted(seconds, reverse=True):
        loads[loads.index(min(loads))] += job
    return max(loads)
