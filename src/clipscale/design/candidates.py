"""Candidate runs of a design: what a run would cost and where it sits (model size, samples seen,
unique data), before it is trained.

A candidate is one row of a study's grid (models x samples-seen levels x data sizes x ...) or of a
finished results table (the replay). Units: `compute` is the law's x (total GMACs: per-sample GMACs x
samples seen), `cost` is what the budget counts (total GMACs, or seconds when a planner measured
them), `size` is the model size (per-sample GMACs or parameters: any unit, used only in ratios and
logs), `samples` is samples seen, `data` the unique samples of the training set (None: unknown).
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Iterable, Sequence

import numpy as np

from clipscale.errors import DataError

#: Unique image-text pairs of the paper's training sets (Cherti et al. 2023, section 3: LAION-80M is
#: an 80M subset of LAION-400M; LAION-400M, Schuhmann et al. 2021: 413M pairs; LAION-2B is the English
#: subset of LAION-5B, Schuhmann et al. 2022: 2.32B pairs). The replay reads a table's unique data
#: from here by the `upstream_dataset` value when no data-size column is given.
PAPER_UNIQUE_SAMPLES: dict[str, float] = {"LAION-80M": 80e6, "LAION-400M": 413e6, "LAION-2B": 2.32e9}

#: Repeated data is worth less: effective data D' = U + U * R* * (1 - exp(-R / R*)), R = D / U - 1
#: repetitions, with R* = 15.4 (Muennighoff et al. 2023, "Scaling Data-Constrained Language Models",
#: eq. 5 and the fitted R_D*). Used only as the design's prior on which runs land on the frontier.
REPEAT_DECAY = 15.4

#: Two samples-seen values closer than this ratio count as one level (the paper's "3B" bucket holds
#: runs of 2.4B to 2.6B samples).
LEVEL_RATIO = 1.25


@dataclasses.dataclass(frozen=True)
class Candidate:
    """One run that could be trained: `key` names it (unique), `compute` in total GMACs (the law's
    x), `cost` in the budget's unit (total GMACs or seconds), `size` the model size (per-sample GMACs
    or parameters), `samples` the samples seen, `data` the unique samples (None when unknown)."""

    key: str
    compute: float
    cost: float
    size: float
    samples: float
    data: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def check_candidates(candidates: Sequence[Candidate]) -> None:
    """Unique keys and finite positive numbers; raises DataError naming the first bad candidate."""
    if not candidates:
        raise DataError("no candidate runs to choose from; give the study's grid (or a results table's pool)")
    seen: set[str] = set()
    for c in candidates:
        if c.key in seen:
            raise DataError(f"candidate key {c.key!r} appears twice; each run needs its own key")
        seen.add(c.key)
        for name in ("compute", "cost", "size", "samples") + (("data",) if c.data is not None else ()):
            v = getattr(c, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise DataError(f"candidate {c.key!r}: {name} must be a finite number > 0, got {v!r}")


def effective_data(samples, data) -> np.ndarray:
    """Effective samples seen after repetition (REPEAT_DECAY); the samples themselves where the unique
    data is unknown (NaN) or not repeated."""
    d = np.asarray(samples, float)
    u = np.asarray(data, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        reps = np.maximum(d / u - 1.0, 0.0)
        eff = u + u * REPEAT_DECAY * (1.0 - np.exp(-reps / REPEAT_DECAY))
    return np.where(np.isfinite(eff), np.minimum(eff, d), d)


def levels(values: Iterable[float]) -> int:
    """How many distinct levels `values` hold (values within LEVEL_RATIO of each other are one)."""
    out: list[float] = []
    for v in sorted(float(x) for x in values):
        if not out or v > out[-1] * LEVEL_RATIO:
            out.append(v)
    return len(out)


def frontier_mask(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Runs on the Pareto frontier: error below every cheaper run's (ties in x keep the lowest y);
    the rule of the laws' `frontier` methods, restated here for the design's fantasies."""
    order = np.lexsort((y, x))
    ys = y[order]
    best_before = np.concatenate([[np.inf], np.minimum.accumulate(ys)[:-1]])
    mask = np.zeros(len(x), bool)
    mask[order] = ys < best_before
    return mask
