"""Progress of long evaluation steps, reported to a callback: the library itself prints nothing.

A progress callback is `progress(what, done, total)`: `what` names the step ('images <source key>',
'finetune'), `done` and `total` count its units (images, optimizer steps). Every function that
takes `progress` accepts such a callable, False/None (silent, the default), or True, shorthand for
`TqdmBars()`: bars on stderr, what `clipscale eval` and `clipscale finetune` show unless --quiet.
"""
from __future__ import annotations

from typing import Callable, Union

Progress = Callable[[str, int, int], None]
ProgressArg = Union[Progress, bool, None]


def resolve(progress: ProgressArg) -> Progress | None:
    """The callback to report to: None for False/None, TqdmBars() for True, else `progress` itself."""
    if progress is True:
        return TqdmBars()
    if not progress:
        return None
    return progress


class TqdmBars:
    """Renders progress callbacks as tqdm bars on stderr, one per step name, closed when done."""

    def __init__(self):
        self._bars: dict = {}

    def __call__(self, what: str, done: int, total: int) -> None:
        import sys

        from tqdm import tqdm

        bar = self._bars.get(what)
        if bar is None:
            bar = self._bars[what] = tqdm(total=total, desc=what, file=sys.stderr, leave=False)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()
            del self._bars[what]
