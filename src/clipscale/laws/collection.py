"""Every fit of a results table in one object that is saved and read back: `Fits` (fits.json).

One home for fits: `clipscale fit`, a study and the report fit through clipscale.laws and write a
`Fits` (fits.json beside fits.csv); the report, a study's summary, `clipscale plan` and `clipscale
predict` read it back instead of fitting again. An entry holds the whole fit object (a `FitResult`,
bootstrap included, a `JointFit` or a per-run law's `PerRunFit`), so bands and intervals can be drawn
from the file alone. `Fits.frame()` is the
table `fit_table` returns (fits.csv): one row per group.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from clipscale._io import atomic_write_json, json_clean
from clipscale.errors import ClipscaleError, DataError
from clipscale.laws import joint, perrun, result
from clipscale.laws.allocate import chinchilla_a_opt
from clipscale.laws.joint import JointFit
from clipscale.laws.perrun import PerRunFit
from clipscale.laws.result import FitResult

SCHEMA = "clipscale.laws.Fits/2"
#: fits.json before the law parameters' renames (issue 27): its fits are read back by FitResult and
#: JointFit (their schema /1), never written
PREVIOUS_SCHEMA = "clipscale.laws.Fits/1"
LEGACY_ERROR_LABEL = "error:"
#: the joint-law fits file written before every method shared one (read back, never written)
LEGACY_JOINT_SCHEMA = "clipscale.laws.JointFits/1"


def law_summary(res: FitResult) -> dict[str, Any]:
    """The fits.csv columns of a E = coef * C^alpha (+ floor) fit: the form fitted (the method, or the
    one 'auto' chose), parameters, R^2, 95% intervals."""
    out = {"form": res.method, "n_fit_points": res.n_fit_points, "alpha": res.alpha, "coef": res.coef, "floor": res.floor,
           "c0": res.c0, "r2": res.r2, "formula": res.formula()}
    for name in ("alpha", "coef", "floor"):
        lo, hi = res.ci.get(name, (np.nan, np.nan))
        out[f"{name}_lo"], out[f"{name}_hi"] = lo, hi
    return out


def joint_summary(res: JointFit) -> dict[str, Any]:
    """The fits.csv columns of a joint fit: parameters, intervals, objective, and a_opt =
    data_exp / (size_exp + data_exp) (N_opt grows as C^a_opt)."""
    out: dict[str, Any] = {k: v for k, v in res.params.items()}
    out.update(objective=res.objective, n_starts=res.n_starts,
               a_opt=chinchilla_a_opt(res.size_exp, res.data_exp),
               resid_std=res.resid_std, formula=res.formula())
    for k, (lo, hi) in res.ci.items():
        out[f"{k}_lo"], out[f"{k}_hi"] = lo, hi
    return out


def perrun_summary(fit: PerRunFit) -> dict[str, Any]:
    """The fits.csv columns of a one-group per-run law (laws.perrun): A, B, floor, size_exp, data_exp,
    the shared repetition decay R* (NaN without unique data), link, scatter (link units), the interval's
    scale and growth, the bootstrap count and the formula."""
    out: dict[str, Any] = fit.params()
    out.update(link=fit.link, scatter=float(fit.scatter[0]), scale=fit.scale, growth=fit.growth, n_boot=fit.n_boot,
               formula=fit.formula())
    return out


def _summary(fit) -> dict[str, Any]:
    if isinstance(fit, JointFit):
        return joint_summary(fit)
    return perrun_summary(fit) if isinstance(fit, PerRunFit) else law_summary(fit)


@dataclasses.dataclass
class FitEntry:
    """One group's fit: its group values, the method, the fit object (None when it failed, with the
    reason in `message`), the backtest summary and extras (a joint fit's per-sample `cost` pairs and
    trained `architectures`; flags such as `headline`). `error_col`: the column that held the error
    when the table gave one (any positive loss: not a fraction, not shown in percent); "" when the
    error is 1 - `metric`, a fraction."""

    group: dict[str, Any]
    method: str
    n_points: int
    metric: str = ""
    error_col: str = ""
    fit: FitResult | JointFit | PerRunFit | None = None
    status: str = "ok"
    message: str = ""
    backtest: dict[str, Any] = dataclasses.field(default_factory=dict)
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok" and self.fit is not None

    def row(self) -> dict[str, Any]:
        """The entry as one fits.csv row (the columns `fit_table` has always had)."""
        out = dict(self.group)
        out.update(metric=self.metric, method=self.method, n_points=self.n_points)
        if self.fit is not None:
            out.update(_summary(self.fit))
        out.update(self.backtest)
        out.update(status=self.status, message=self.message)
        out.update({k: v for k, v in self.extra.items() if not isinstance(v, (dict, list))})
        return out

    def cost(self):
        """A joint fit's per-sample cost (a LogLogCost), or None."""
        from clipscale.laws.allocate import LogLogCost

        c = self.extra.get("cost")
        return LogLogCost.from_pairs(c["sizes"], c["costs"]) if c else None

    def to_dict(self) -> dict[str, Any]:
        return {"group": json_clean(self.group), "method": self.method, "n_points": int(self.n_points),
                "metric": self.metric, "error_col": self.error_col, "status": self.status, "message": self.message,
                "backtest": json_clean(self.backtest), "extra": json_clean(self.extra),
                "fit": None if self.fit is None else self.fit.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FitEntry":
        fit = data.get("fit")
        metric, error_col = str(data.get("metric") or ""), data.get("error_col")
        if error_col is None:  # Fits/1 kept the error column only in the metric's label, "error:<column>"
            error_col = metric[len(LEGACY_ERROR_LABEL):] if metric.startswith(LEGACY_ERROR_LABEL) else ""
        law = _fit_from_dict(fit) if fit else None
        if isinstance(law, JointFit) and "bounded" not in fit and not error_col:  # written before `bounded`:
            law.bounded = True  # its error was 1 - metric, a fraction
        return cls(group=dict(data.get("group") or {}), method=str(data["method"]),
                   n_points=int(data.get("n_points") or 0), metric=metric, error_col=str(error_col),
                   fit=law, status=str(data.get("status", "ok")),
                   message=str(data.get("message") or ""), backtest=dict(data.get("backtest") or {}),
                   extra=dict(data.get("extra") or {}))


def _fit_from_dict(data: dict[str, Any]):
    if data.get("schema") in (joint.SCHEMA, joint.LEGACY_SCHEMA):
        return JointFit.from_dict(data)
    if data.get("schema") in (result.SCHEMA, result.PREVIOUS_SCHEMA, result.LEGACY_SCHEMA):
        return FitResult.from_dict(data)
    if data.get("schema") == perrun.SCHEMA:
        return PerRunFit.from_dict(data)
    raise DataError(f"unknown fit schema {data.get('schema')!r}; expected {result.SCHEMA!r}, {joint.SCHEMA!r} "
                    f"or {perrun.SCHEMA!r}; "
                    "refit with `clipscale fit` (or `clipscale study report` for a study)")


@dataclasses.dataclass
class Fits:
    """The fits of one results table: `entries` (one per group and method) and `meta` (the columns
    and options they were fitted with, e.g. compute_col, group_by)."""

    entries: list[FitEntry] = dataclasses.field(default_factory=list)
    meta: dict[str, Any] = dataclasses.field(default_factory=dict)

    @contextlib.contextmanager
    def recording(self, entry: FitEntry, errors: str = "record"):
        """Fit `entry` inside the block, then append it; a ClipscaleError in the block marks it failed
        with its message, or propagates (nothing appended) when errors == "raise"."""
        try:
            yield entry
        except ClipscaleError as exc:
            if errors == "raise":
                raise
            entry.status, entry.message = "failed", str(exc)
        self.entries.append(entry)

    def frame(self) -> pd.DataFrame:
        """One row per entry: the fits.csv table."""
        return pd.DataFrame([e.row() for e in self.entries])

    def select(self, method: str | None = None, ok: bool = False, **group) -> list[FitEntry]:
        """The entries of `method` (any when None) whose group has every given value."""
        return [e for e in self.entries if (method is None or e.method == method) and (not ok or e.ok)
                and all(str(e.group.get(k)) == str(v) for k, v in group.items())]

    def __add__(self, other: "Fits") -> "Fits":
        return Fits(self.entries + other.entries, {**self.meta, **other.meta})

    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "meta": json_clean(self.meta), "fits": [e.to_dict() for e in self.entries]}

    def save(self, path) -> Path:
        """Write fits.json (atomically)."""
        return atomic_write_json(path, self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "the fits") -> "Fits":
        schema = data.get("schema") if isinstance(data, dict) else None
        if schema == LEGACY_JOINT_SCHEMA:
            return cls([_legacy_joint(e) for e in data["fits"]],
                       {k: v for k, v in data.items() if k not in ("schema", "fits")})
        if schema not in (SCHEMA, PREVIOUS_SCHEMA):
            raise DataError(f"{where} is not a clipscale fits file (schema {schema!r}, expected {SCHEMA!r}); "
                            "write one with `clipscale fit ... --out fits.csv` (fits.json beside it)")
        return cls([FitEntry.from_dict(e) for e in data.get("fits", [])], dict(data.get("meta") or {}))

    @classmethod
    def load(cls, path) -> "Fits":
        try:
            data = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise DataError(f"fits file not found: {path}; write one with `clipscale fit TABLE --out fits.csv` "
                            "(fits.json is written beside it) or --save-fits FITS.json") from None
        except json.JSONDecodeError as exc:
            raise DataError(f"{path} is not JSON ({exc.msg}); pass a fits.json written by clipscale") from None
        return cls.from_dict(data, str(path))


def _legacy_joint(e: dict[str, Any]) -> FitEntry:
    fit = JointFit.from_dict(e["fit"])
    return FitEntry(group=dict(e.get("group") or {}), method="joint", n_points=fit.n_points, fit=fit,
                    extra={"cost": e["cost"], "architectures": e.get("architectures") or []})


def fits_path(csv_path) -> Path:
    """fits.json beside a fits CSV (`fits.csv` -> `fits.json`)."""
    p = Path(csv_path)
    return p.with_suffix(".json") if p.suffix.lower() != ".json" else p.with_name(p.stem + ".fits.json")


