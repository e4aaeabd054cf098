"""The per-run laws: the error of one run from its model size N, samples seen D and (for a law that
knows data repetition) the unique samples U of its training set.

A registry of small frozen entries, looked up by name like laws.methods. Each entry's `fit` turns
runs into a model that follows `PerRunModel`: `predict(size, data, unique=None, *, group=None)` (error
fractions), `predict_interval(size, data, unique=None, *, group=None, level=0.9)` -> (lo, hi) and
`extrapolation_decades(size, data, *, group=None)` (decades of compute N x D outside the group's fitted
runs; 0 inside). `clipscale backtest --target runs`, `clipscale predict --size`, the report's "next
model up" and a study read the per-run law only through this registry.

Two entries: "perrun", the recommended law (laws.defaults.PER_RUN_LAW): E(N, D, U) of laws.perrun,
the data-constrained law with a repetition decay shared by every group (one pooled fit, a
`PerRunFit`), bounded to [0, 1] error, calibrated intervals; and "joint", the joint law E(N, D) =
floor + A/N^size_exp + B/D^data_exp (laws.joint: one fit per group, bounded to [0, 1] error), which
knows nothing of unique data.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Protocol

import numpy as np

from clipscale.errors import DataError, unknown
from clipscale.laws.defaults import N_BOOT, N_BOOT_PERRUN, SEED
from clipscale.laws.joint import JointFit, fit_joint
from clipscale.laws.perrun import MIN_RUNS, PerRunFit, fit_perrun


class PerRunModel(Protocol):
    """What a per-run law's `fit` returns (size N in GMACs per sample, data D in samples seen, unique
    U in samples; errors as fractions; `group` one of the labels it was fitted with)."""

    def predict(self, size, data, unique=None, *, group=None) -> np.ndarray: ...

    def predict_interval(self, size, data, unique=None, *, group=None,
                         level: float = 0.9) -> tuple[np.ndarray, np.ndarray]: ...

    def extrapolation_decades(self, size, data, *, group=None) -> np.ndarray: ...


@dataclasses.dataclass(frozen=True)
class PerRunLaw:
    """One per-run law. `fit(size, data, error, unique=None, *, group=None, n_boot, seed)` -> a
    `PerRunModel` for every group label in `group` (one label per run; None: one group); `uses_unique`:
    whether it reads U (the runs' unique samples) at all; `pooled`: see below; `n_boot`: its bootstrap
    default (laws.defaults); `min_runs`: the fewest fitted runs a group needs (fewer: the group is
    skipped, with the reason)."""

    name: str
    summary: str
    fit: Callable[..., PerRunModel]
    uses_unique: bool = False
    #: fitted to every group at once (shared parameters): one `fit` call with all groups' runs and
    #: their labels; otherwise one call per group (and a progress step each)
    pooled: bool = False
    n_boot: int = N_BOOT
    min_runs: int = 1


@dataclasses.dataclass
class JointPerRun:
    """The joint law E(N, D) of each group (laws.JointFit), behind the `PerRunModel` protocol; U is
    not part of it and is ignored."""

    fits: dict[str, JointFit]

    def _law(self, group) -> JointFit:
        if group is None and len(self.fits) == 1:
            return next(iter(self.fits.values()))
        if str(group) not in self.fits:
            raise unknown("group", str(group), self.fits, "pass a group the law was fitted on")
        return self.fits[str(group)]

    def predict(self, size, data, unique=None, *, group=None) -> np.ndarray:
        return self._law(group).predict(size, data)

    def predict_interval(self, size, data, unique=None, *, group=None, level: float = 0.9):
        return self._law(group).predict_interval(size, data, level=level)

    def extrapolation_decades(self, size, data, *, group=None) -> np.ndarray:
        law = self._law(group)
        c = np.asarray(size, float) * np.asarray(data, float)
        if not law.size.size:
            raise DataError("this joint fit carries no fitted runs; refit it to measure extrapolation")
        run_c = law.size * law.data
        return np.maximum(0.0, np.maximum(np.log10(c / run_c.max()), np.log10(run_c.min() / c)))


def _fit_joint(size, data, error, unique=None, *, group=None, n_boot: int = N_BOOT, seed: int = SEED,
               **kw: Any) -> JointPerRun:
    n, d, e = (np.asarray(v, float) for v in (size, data, error))
    labels = np.full(n.shape, "", dtype=object) if group is None else np.asarray([str(g) for g in group], dtype=object)
    fits = {}
    for lab in dict.fromkeys(labels):
        m = labels == lab
        fits[lab] = fit_joint(n[m], d[m], e[m], n_boot=n_boot, seed=seed, size_unit="gmacs", bounded=True,
                              label=str(lab) or None, **kw)
    return JointPerRun(fits)


def _fit_perrun(size, data, error, unique=None, *, group=None, n_boot: int = N_BOOT_PERRUN, seed: int = SEED,
                **kw: Any) -> PerRunFit:
    return fit_perrun(size, data, error, unique, group=group, n_boot=n_boot, seed=seed, **kw)


PER_RUN_LAWS: dict[str, PerRunLaw] = {law.name: law for law in (
    PerRunLaw("perrun", "the per-run law E(N, D, U): odds(E) = A/N^size_exp + B/D'^data_exp + floor, D' the "
              "effective data of Muennighoff et al. 2023 (repeated samples worth less, a decay R* shared by every "
              "group; D' = D without U); N = GMACs per sample, D = samples seen, U = unique samples of the "
              "training set; calibrated intervals in [0, 1] (docs/laws.md)", _fit_perrun, uses_unique=True,
              pooled=True, n_boot=N_BOOT_PERRUN, min_runs=MIN_RUNS),
    PerRunLaw("joint", "the joint law E(N, D) = floor + A/N^size_exp + B/D^data_exp per group (Hoffmann et al. "
              "2022, approach 3; N = GMACs per sample, D = samples seen), bounded to [0, 1] error; unique data "
              "is not part of it", _fit_joint, min_runs=6),
)}


def get(name: str) -> PerRunLaw:
    """The per-run law registered under `name`."""
    try:
        return PER_RUN_LAWS[name]
    except KeyError:
        raise unknown("per-run law", name, PER_RUN_LAWS, "pass --method with one of them") from None
