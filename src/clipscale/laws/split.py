"""The held-out split of a backtest: which runs a law is fitted without, and then asked to predict.

One small frozen value, `Holdout`, validated once when it is made: exactly one of `top_frac` (the
fraction of runs with the largest compute), `top` (that many largest-compute runs), `above` (every
run whose compute exceeds it, in the compute column's unit) or `frontier_top` (the K largest-compute
runs on the compute frontier are judged, and every run at or above the cheapest of them is held
out: the demo's split). Every backtest of clipscale.laws (and the CLI's --holdout-top-frac /
--holdout-top / --holdout-above / --holdout-frontier-top) takes one.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from clipscale.errors import DataError
from clipscale.laws.rolling import frontier_holdout, frontier_targets

FORMS = ("top_frac (--holdout-top-frac: the fraction F of runs with the largest compute), top "
         "(--holdout-top: the K largest-compute runs), above (--holdout-above: the runs with compute > C) or "
         "frontier_top (--holdout-frontier-top: the K largest-compute frontier runs judged, every run at or "
         "above the cheapest of them held out)")


@dataclasses.dataclass(frozen=True)
class Holdout:
    """The runs a backtest holds out: exactly one of `top_frac` (a fraction in (0, 1)), `top` (a
    count >= 1), `above` (a compute, the compute column's unit; runs above it are held out) or
    `frontier_top` (a count >= 1 of largest-compute frontier runs to judge; needs the errors)."""

    top_frac: float | None = None
    top: int | None = None
    above: float | None = None
    frontier_top: int | None = None

    def __post_init__(self) -> None:
        given = [v is not None for v in (self.top_frac, self.top, self.above, self.frontier_top)]
        if sum(given) != 1:
            raise DataError(f"give exactly one held-out split: {FORMS}")
        if self.top_frac is not None and not 0 < self.top_frac < 1:
            raise DataError(f"--holdout-top-frac must be a fraction in (0, 1), got {self.top_frac}; e.g. 0.2")
        if self.top is not None and (isinstance(self.top, bool) or int(self.top) != self.top or self.top < 1):
            raise DataError(f"--holdout-top must be a whole number >= 1, got {self.top}")
        if self.above is not None and not math.isfinite(self.above):
            raise DataError(f"--holdout-above must be a finite compute, got {self.above}")
        if self.frontier_top is not None and (isinstance(self.frontier_top, bool)
                                              or int(self.frontier_top) != self.frontier_top or self.frontier_top < 1):
            raise DataError(f"--holdout-frontier-top must be a whole number >= 1, got {self.frontier_top}")

    @classmethod
    def of(cls, top_frac: float | None = None, top: int | None = None,
           above: float | None = None, frontier_top: int | None = None) -> "Holdout | None":
        """The split the options give (e.g. the CLI's flags), or None when none is given."""
        if top_frac is None and top is None and above is None and frontier_top is None:
            return None
        return cls(top_frac=top_frac, top=top, above=above, frontier_top=frontier_top)

    def judged_mask(self, compute, error) -> np.ndarray:
        """The held-out runs a frontier law is judged on: the held-out runs on the compute frontier of
        all the runs (error at or below every cheaper run's; laws.rolling.frontier_targets), or, for
        `frontier_top`, the K largest-compute ones of them."""
        c, e = np.asarray(compute, dtype=float), np.asarray(error, dtype=float)
        if self.frontier_top is not None:
            return frontier_holdout(c, e, int(self.frontier_top))[1]
        return frontier_targets(c, e) & ~self.train_mask(c, e)

    def train_mask(self, compute, error=None) -> np.ndarray:
        """Boolean mask of the training runs over `compute` (one value per run): all but the
        held-out ones (ties in compute broken by order). `error` (fractions, one per run) is needed
        by `frontier_top`. DataError when nothing would be fitted."""
        c = np.asarray(compute, dtype=float)
        n = len(c)
        if self.above is not None:
            return c <= self.above
        if self.frontier_top is not None:
            if error is None:
                raise DataError("a frontier_top split needs the runs' errors to find the compute frontier")
            return frontier_holdout(c, np.asarray(error, dtype=float), int(self.frontier_top))[0]
        k = int(self.top) if self.top is not None else max(1, math.ceil(self.top_frac * n))
        if k >= n:
            raise DataError(f"holding out {k} of {n} runs leaves none to fit; hold out fewer")
        order = np.argsort(c, kind="stable")
        train = np.ones(n, bool)
        train[order[n - k:]] = False
        return train

    def describe(self) -> str:
        """In words, e.g. 'the 3 largest-compute runs held out'."""
        if self.top is not None:
            return f"the {self.top} largest-compute run{'s' if self.top != 1 else ''} held out"
        if self.top_frac is not None:
            return f"the {100 * self.top_frac:g}% of runs with the largest compute held out"
        if self.frontier_top is not None:
            return (f"the {self.frontier_top} largest-compute frontier run{'s' if self.frontier_top != 1 else ''} "
                    "judged, every run at or above the cheapest of them held out")
        return f"the runs above compute {self.above:g} held out"
