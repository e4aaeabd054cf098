"""The joint law E(N, D) = floor + A / N^size_exp + B / D^data_exp (Hoffmann et al. 2022, approach 3;
their E + A/N^alpha + B/D^beta: floor = E, size_exp = alpha, data_exp = beta).

N is the model size (parameters, or per-sample GMACs: the caller says which in `size_unit`), D the
samples seen, E any positive loss or error. `fit_joint` runs the full grid search of
`_joint_opt.grid_search` (Huber on log E, delta 1e-3 by default) and a bootstrap that resamples
runs and refits every resample from the best start (batched). The result is a `JointFit`.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from clipscale._io import atomic_write_json, json_clean
from clipscale.errors import DataError, FitError
from clipscale.laws import _joint_opt as J
from clipscale.laws.result import renamed
from clipscale.laws.defaults import N_BOOT, SEED

SCHEMA = "clipscale.laws.JointFit/2"
PARAMS = ("A", "B", "floor", "size_exp", "data_exp")
#: schema /1 (and fits.csv before it) called the floor `E_inf` and the exponents `alpha` and `beta`
#: (the names FitResult gives its compute exponent and multiplier); read back, never written
LEGACY_SCHEMA = "clipscale.laws.JointFit/1"
LEGACY_NAMES = {"E_inf": "floor", "alpha": "size_exp", "beta": "data_exp"}


def to_params(theta) -> dict[str, np.ndarray]:
    """(A, B, floor, size_exp, data_exp) from theta = (a, b, e, size_exp, data_exp) rows (natural logs)."""
    t = np.atleast_2d(np.asarray(theta, float))
    with np.errstate(over="ignore"):           # a = 800 is a valid fit; A = e^800 is inf as a float
        return {"A": np.exp(t[:, 0]), "B": np.exp(t[:, 1]), "floor": np.exp(t[:, 2]),
                "size_exp": t[:, 3], "data_exp": t[:, 4]}


@dataclasses.dataclass
class JointFit:
    """A fitted joint law. Parameters are floats; `boot` holds bootstrap theta rows (B, 5)."""

    A: float
    B: float
    floor: float
    size_exp: float
    data_exp: float
    objective: float
    n_points: int
    n_starts: int
    delta: float = 1e-3
    ci: dict[str, tuple[float, float]] = dataclasses.field(default_factory=dict)
    ci_level: float = 0.95
    n_boot: int = 0
    seed: int = 0
    boot: np.ndarray = dataclasses.field(default_factory=lambda: np.empty((0, 5)))
    resid_std: float = 0.0          # sd of log(observed / fitted), natural log
    size: np.ndarray = dataclasses.field(default_factory=lambda: np.empty(0))
    data: np.ndarray = dataclasses.field(default_factory=lambda: np.empty(0))
    error: np.ndarray = dataclasses.field(default_factory=lambda: np.empty(0))
    size_unit: str = "parameters"
    data_unit: str = "samples seen"
    notes: list[str] = dataclasses.field(default_factory=list)
    #: the fitted (a, b, e, size_exp, data_exp) in natural-log space; exact even when A, B or the floor
    #: over- or underflow as floats (a = 800 gives A = inf)
    log_params: list[float] = dataclasses.field(default_factory=list)
    #: E is an error fraction (1 - metric): predictions and intervals are bounded to [0, 1] (the law
    #: itself is not: far outside its runs it passes 100%); False for any positive loss
    bounded: bool = False

    method = "joint"

    @property
    def params(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in PARAMS}

    @property
    def theta(self) -> np.ndarray:
        if len(self.log_params) == 5:
            return np.asarray(self.log_params, float)
        tiny = np.finfo(float).tiny                  # floor can underflow to 0 (exp of a very negative e)
        logs = [np.log(max(v, tiny)) for v in (self.A, self.B, self.floor)]
        return np.array(logs + [self.size_exp, self.data_exp])

    def formula(self, digits: int = 3) -> str:
        g = lambda v: f"{v:.{digits}g}"
        return (f"E = {g(self.floor)} + {g(self.A)} / N^{self.size_exp:.{digits}f} "
                f"+ {g(self.B)} / D^{self.data_exp:.{digits}f}")

    # -- predictions --------------------------------------------------------------------------
    def predict(self, size, data) -> np.ndarray:
        """The law's E at model size `size` (N, in `size_unit`) and `data` (D, samples seen)."""
        n, d = _pair(size, data)
        return self._bound(np.exp(J.log_law(self.theta, np.log(n), np.log(d))))

    def _bound(self, e: np.ndarray) -> np.ndarray:
        return np.minimum(e, 1.0) if self.bounded else e

    def predict_interval(self, size, data, level: float = 0.95,
                         kind: str = "prediction") -> tuple[np.ndarray, np.ndarray]:
        """(lo, hi) of E from the bootstrap; kind 'prediction' adds the runs' scatter around the law
        (lognormal, sd = residual sd), 'confidence' is the law's own interval."""
        if kind not in ("prediction", "confidence"):
            raise DataError(f"unknown interval kind {kind!r}; valid choices: confidence, prediction")
        if not 0 < level < 1:
            raise DataError(f"level must be a fraction in (0, 1), got {level}; e.g. 0.95")
        if len(self.boot) == 0:
            raise FitError("this joint fit has no bootstrap samples; refit with n_boot > 0 to get intervals")
        n, d = _pair(size, data)
        logs = J.batch_lse(self.boot, np.log(n), np.log(d))[0]                       # (B, m)
        if kind == "prediction" and self.resid_std > 0:
            logs = logs + np.random.default_rng(self.seed + 1).normal(0, self.resid_std, logs.shape)
        tail = (1 - level) / 2
        lo, hi = np.quantile(logs, [tail, 1 - tail], axis=0)
        return self._bound(np.exp(lo)), self._bound(np.exp(hi))

    def boot_params(self) -> dict[str, np.ndarray]:
        """Bootstrap samples of (A, B, floor, size_exp, data_exp)."""
        return to_params(self.boot) if len(self.boot) else {k: np.empty(0) for k in PARAMS}

    def optimal(self, budget, cost, level: float = 0.95) -> list[dict[str, Any]]:
        """Compute-optimal N, D and E for each `budget` (total compute, `cost`'s unit) under
        C = cost(N) x D, with bootstrap bands at `level` (N_opt_lo, ...) and `extrapolation_decades`
        (how far the budget lies outside the fitted runs' compute range; 0 inside)."""
        from clipscale.laws.allocate import optimal

        c = np.atleast_1d(np.asarray(budget, float))
        rng = (float(self.size.min()), float(self.size.max())) if self.size.size else (1.0, 1.0)
        pt = optimal(self.theta[None], c, cost, rng)
        band = optimal(self.boot, c, cost, rng) if len(self.boot) else None
        run_c = cost(self.size) * self.data if self.size.size else np.array([np.nan])
        tail = (1 - level) / 2
        rows = []
        for j, cj in enumerate(c):
            row = {"budget": float(cj), "N_opt": float(pt["N_opt"][0, j]), "D_opt": float(pt["D_opt"][0, j]),
                   "E_opt": float(pt["E_opt"][0, j]),
                   "extrapolation_decades": float(max(0.0, np.log10(cj / np.nanmax(run_c)),
                                                      np.log10(np.nanmin(run_c) / cj)))}
            for k in ("N_opt", "D_opt", "E_opt"):
                v = band[k][:, j] if band is not None else np.array([np.nan])
                row[f"{k}_lo"], row[f"{k}_hi"] = (float(x) for x in np.nanquantile(v, [tail, 1 - tail]))
            if self.bounded:
                row["E_opt"], row["E_opt_lo"], row["E_opt_hi"] = (min(row[k], 1.0) for k in ("E_opt", "E_opt_lo", "E_opt_hi"))
            if pt["at_edge"][0, j]:
                row["note"] = "the optimum lies at the edge of the searched sizes (3 decades beyond the fitted ones)"
            rows.append(row)
        return rows

    # -- serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (non-finite numbers as null: `log_params` keeps A = e^800 exact)."""
        out: dict[str, Any] = {"schema": SCHEMA, "method": "joint", "formula": self.formula()}
        out.update({f.name: getattr(self, f.name) for f in dataclasses.fields(self)})
        return json_clean(out)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "JointFit":
        if data.get("schema") == LEGACY_SCHEMA:  # E_inf, alpha, beta: read as floor, size_exp, data_exp
            data = {**renamed(data, LEGACY_NAMES), "ci": renamed(data.get("ci") or {}, LEGACY_NAMES)}
        elif data.get("schema") != SCHEMA:
            raise DataError(f"not a clipscale joint fit (schema {data.get('schema')!r}, expected {SCHEMA!r}); "
                            "load a file written by JointFit.save, or refit with `clipscale fit --method joint`")
        kw = {f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data}
        for name in ("size", "data", "error"):
            kw[name] = np.asarray(kw.get(name, []), float)
        kw["boot"] = np.asarray(kw.get("boot") or np.empty((0, 5)), float).reshape(-1, 5)
        kw["ci"] = {k: (float(v[0]), float(v[1])) for k, v in (kw.get("ci") or {}).items()}
        for name in PARAMS + ("objective", "resid_std"):
            if name in kw:
                kw[name] = float("nan") if kw[name] is None else float(kw[name])
        if len(kw.get("log_params") or ()) == 5:  # exact where A, B or the floor over- or underflow
            kw.update({k: float(v[0]) for k, v in to_params(kw["log_params"]).items()})
        return cls(**kw)

    def save(self, path) -> Path:
        """Write this fit as JSON (atomically)."""
        return atomic_write_json(path, self.to_dict())

    @classmethod
    def load(cls, path) -> "JointFit":
        try:
            return cls.from_dict(json.loads(Path(path).read_text()))
        except FileNotFoundError:
            raise DataError(f"fit file not found: {path}; pass the path written by JointFit.save") from None
        except json.JSONDecodeError as exc:
            raise DataError(f"{path} is not JSON ({exc.msg}); pass a file written by JointFit.save") from None


def fit_joint(size, data, error, *, delta: float = 1e-3, n_boot: int = N_BOOT, seed: int = SEED,
              ci_level: float = 0.95, starts: np.ndarray | None = None, label: str | None = None,
              size_unit: str = "parameters", data_unit: str = "samples seen", bounded: bool = False) -> JointFit:
    """Fit E = floor + A/N^size_exp + B/D^data_exp to runs (N = `size`, D = `data`, E = `error` > 0, any
    positive loss) from every start of `starts` (default: Hoffmann et al.'s 4,500-start grid);
    bootstrap `n_boot` resamples of the runs, each refitted from the best start, for percentile
    intervals at `ci_level`; `bounded`: E is an error fraction, predictions and intervals are kept in
    [0, 1]. Raises DataError for bad values, FitError for too few runs."""
    where = f" in group {label}" if label else ""
    n, d, e = _validate(size, data, error, where)
    if len(n) < len(PARAMS) + 1:
        raise FitError(f"{len(n)} run(s){where} are too few for the joint law's 5 parameters (needs >= 6); "
                       "add runs or choose --group-by columns that give larger groups")
    if not 0 < ci_level < 1:
        raise DataError(f"ci_level must be a fraction in (0, 1), got {ci_level}; e.g. 0.95")
    ln, ld, le = np.log(n), np.log(d), np.log(e)
    theta, obj, k = J.grid_search(ln, ld, le, delta, starts)
    resid = le - J.log_law(theta, ln, ld)
    resid_std = float(np.sqrt(np.sum(resid ** 2) / (len(n) - 5))) if len(n) > 5 else 0.0
    boot, ci, notes = _bootstrap(theta, ln, ld, le, delta, n_boot, seed, ci_level)
    if len(np.unique(n)) < 2 or len(np.unique(d)) < 2:
        notes.append("all runs share one model size or one data size: A and size_exp, or B and data_exp, "
                     "are not identified")
    p = {k: float(v[0]) for k, v in to_params(theta).items()}
    return JointFit(**p, objective=float(obj), n_points=len(n), n_starts=k, delta=delta, ci=ci,
                    ci_level=ci_level, n_boot=n_boot, seed=seed, boot=boot, resid_std=resid_std,
                    size=n, data=d, error=e, size_unit=size_unit, data_unit=data_unit, notes=notes,
                    log_params=[float(v) for v in theta], bounded=bounded)


def _bootstrap(theta, ln, ld, le, delta, n_boot, seed, ci_level):
    if n_boot <= 0:
        return np.empty((0, 5)), {}, []
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(ln), size=(n_boot, len(ln)))
    counts = np.zeros((n_boot, len(ln)))
    np.add.at(counts, (np.arange(n_boot)[:, None], idx), 1.0)
    th, f = J.batch_minimise(np.tile(theta, (n_boot, 1)), ln, ld, le, delta, weights=counts)
    ok = np.isfinite(f) & np.all(np.isfinite(th), axis=1)
    notes = [] if ok.all() else [f"{int((~ok).sum())} of {n_boot} bootstrap refits failed and were dropped"]
    th = th[ok]
    tail = (1 - ci_level) / 2
    ci = {k: (float(np.quantile(v, tail)), float(np.quantile(v, 1 - tail))) for k, v in to_params(th).items()}
    return th, ci, notes


def _validate(size, data, error, where):
    arrays = []
    for name, v in (("model size N", size), ("data size D", data), ("error", error)):
        try:
            a = np.asarray(v, dtype=float).ravel()
        except (TypeError, ValueError):
            raise DataError(f"{name} must be numbers{where}; pass a numeric column "
                            "(parameters or GMACs for N, samples seen for D)") from None
        bad = np.flatnonzero(~np.isfinite(a) | (a <= 0))
        if bad.size:
            raise DataError(f"{name} must be finite and > 0{where} (the law is fitted in log space); "
                            f"bad value #{bad[0]}={float(a[bad[0]])!r}; drop or fix those rows")
        arrays.append(a)
    if not arrays[0].size == arrays[1].size == arrays[2].size:
        raise DataError(f"N, D and E have {arrays[0].size}, {arrays[1].size}, {arrays[2].size} values{where}; "
                        "pass one of each per run")
    return arrays


def _pair(size, data):
    n = np.atleast_1d(np.asarray(size, float))
    d = np.atleast_1d(np.asarray(data, float))
    if np.any(~np.isfinite(n) | (n <= 0)) or np.any(~np.isfinite(d) | (d <= 0)):
        raise DataError("N and D must be finite and > 0 to predict (the law is in log N, log D)")
    return np.broadcast_arrays(n, d)
