"""Predictions from saved fits (a `Fits`, fits.json): the best error at a compute from each group's
frontier law, or one run's error from its per-run law, each with its interval and how many decades
it extrapolates. `clipscale predict` prints them.

Errors are fractions (1 - metric) unless the fit was made on an error column (`unit` says which);
compute is in the fitted compute column's unit (a frontier law), or N x D (a per-run law: GMACs per
sample x samples seen = total GMACs, or parameters x samples seen): `compute_unit` says which.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import numpy as np
import pandas as pd

from clipscale.errors import DataError
from clipscale.laws.calibrate import new_run_interval
from clipscale.laws.collection import FitEntry, Fits
from clipscale.laws.joint import JointFit
from clipscale.laws.perrun import PerRunFit
from clipscale.laws.perrun_laws import JointPerRun
from clipscale.laws.result import FitResult
from clipscale.laws.table import apply_where
from clipscale.laws.uncertainty import extrapolation_decades

#: what a compute column holds, for the columns clipscale writes (others: the column's own unit)
COMPUTE_UNITS = {"gmacs_total": "total GMACs", "gflops_total": "total GFLOPs"}
FRACTION = "fraction"


@dataclasses.dataclass
class Prediction:
    """One prediction: the group, where (compute; a run's size, samples and unique samples), the
    error and its interval (lo, hi at `level`), the method (and the form 'auto' chose), the
    extrapolation distance in decades of compute, and the units."""

    group: dict[str, Any]
    compute: float
    error: float
    lo: float
    hi: float
    level: float
    method: str
    extrapolation_decades: float
    unit: str = FRACTION
    compute_unit: str = "total GMACs"
    form: str | None = None
    size: float | None = None
    samples: float | None = None
    unique: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The group columns, then every field (None ones dropped), for JSON."""
        out = {k: v.item() if isinstance(v, np.generic) else v for k, v in self.group.items()}
        out.update({f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                    if f.name != "group" and getattr(self, f.name) is not None})
        return out


def predict_frontier(fits: Fits, computes: Sequence[float], *, level: float = 0.9,
                     where=None) -> tuple[list[Prediction], list[str]]:
    """The best error at each compute from every frontier law (FitResult) of `fits` that `where`
    keeps: (predictions, notes on the groups that could not be predicted)."""
    entries, notes = _entries(fits, where, (FitResult,), "frontier law",
                              "fit one with `clipscale fit RESULTS.csv --out fits.csv` (fits.json beside it)")
    c = np.asarray(computes, float)
    unit = COMPUTE_UNITS.get(fits.meta.get("compute_col", "gmacs_total"), str(fits.meta.get("compute_col")))
    out = []
    for e in entries:
        res: FitResult = e.fit
        # one compute at a time: a bootstrap interval's scatter draws depend on how many computes are asked
        lo, hi = (np.concatenate(v) for v in zip(*(new_run_interval(res, [ci], level) for ci in c)))
        dist = extrapolation_decades(c, float(res.compute.max())) if res.compute.size else np.full(c.shape, np.nan)
        if not res.compute.size:
            notes.append(f"{_label(e)}: the fit carries no fitted runs, so its extrapolation is unknown; refit it")
        for i, ci in enumerate(c):
            out.append(Prediction(e.group, float(ci), float(res.predict([ci])[0]), float(lo[i]), float(hi[i]), level,
                                  e.method, float(dist[i]), unit=_unit(e), compute_unit=unit,
                                  form=res.method if res.chosen_from else None))
    return out, notes


def predict_run(fits: Fits, size: float, samples: float, unique: float | None = None, *, level: float = 0.9,
                where=None) -> tuple[list[Prediction], list[str]]:
    """One run's error (model size N, D samples seen, U unique samples or None) from every per-run law
    (PerRunFit, or the joint law JointFit) of `fits` that `where` keeps: (predictions, notes)."""
    entries, notes = _entries(fits, where, (PerRunFit, JointFit), "per-run law",
                              "fit one with `clipscale fit RESULTS.csv --method perrun --save-fits perrun.json`")
    out = []
    for e in entries:
        law = e.fit if isinstance(e.fit, PerRunFit) else JointPerRun({"": e.fit})
        u = _unique_for(e, unique)
        lo, hi = law.predict_interval([size], [samples], u, level=level)
        out.append(Prediction(e.group, size * samples, float(law.predict([size], [samples], u)[0]), float(lo[0]),
                              float(hi[0]), level, e.method, float(law.extrapolation_decades([size], [samples])[0]),
                              unit=_unit(e), compute_unit=f"{e.fit.size_unit} x {_data_unit(e.fit)}", size=size,
                              samples=samples,
                              unique=None if u is None else unique))
    return out, notes


def _unique_for(e: FitEntry, unique: float | None):
    """U as the law takes it: required by a law fitted with unique data, refused by one without."""
    knows = isinstance(e.fit, PerRunFit) and e.fit.decay is not None
    if knows and unique is None:
        raise DataError(f"{_label(e)}: the per-run law knows unique data; pass --unique U (unique samples of the "
                        "training set; U = D for a run that sees each sample once)")
    if not knows and unique is not None:
        raise DataError(f"{_label(e)}: the law was fitted without unique data ({e.method}); drop --unique")
    return [unique] if knows else None


def _entries(fits: Fits, where, kinds: tuple, what: str, fix: str) -> tuple[list[FitEntry], list[str]]:
    """The entries of `fits` kept by `where` whose fit is one of `kinds`; notes for failed ones."""
    frame = pd.DataFrame([e.group for e in fits.entries], index=range(len(fits.entries)))
    if where:
        try:
            frame = apply_where(frame, where)
        except DataError as exc:
            labels = sorted({_label(e) for e in fits.entries})
            more = f"; ... ({len(labels) - 10} more)" if len(labels) > 10 else ""
            raise DataError(f"{exc}; the fits' groups: {'; '.join(labels[:10])}{more}") from None
    kept = [fits.entries[i] for i in frame.index]
    notes = [f"{_label(e)}: not predicted, its fit failed ({e.message})" for e in kept if not e.ok]
    found = [e for e in kept if e.ok and isinstance(e.fit, kinds)]
    if not found:
        methods = sorted({e.method for e in kept}) or ["none"]
        raise DataError(f"the fits{' that --where keeps' if where else ''} hold no {what} (methods: "
                        f"{', '.join(methods)}); {fix}")
    return found, notes


def _data_unit(fit) -> str:
    return fit.data_unit if isinstance(fit, PerRunFit) else "samples seen"


def _label(e: FitEntry) -> str:
    return ", ".join(str(v) for v in e.group.values()) or "all rows"


def _unit(e: FitEntry) -> str:
    return FRACTION if not e.error_col else f"the {e.error_col} column (not a fraction)"
