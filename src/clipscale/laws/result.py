"""FitResult: what every law fit returns (parameters, intervals, residuals, predictions, JSON).

Laws have the form E = coef * C^alpha (+ floor), or the shifted form coef * (C + c0)^alpha + floor,
with C the compute (the unit of the compute column, e.g. total GMACs) and E the error as a
fraction in (0, 1]. Fits and intervals live in log10 space, as in Cherti et al. (2023).
"""
from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from clipscale._io import atomic_write_json, json_clean
from clipscale.errors import DataError, FitError

SCHEMA = "clipscale.laws.FitResult/3"
PARAM_NAMES = ("alpha", "coef", "floor", "c0")
#: schema /2: the same fields without `chosen_from` and `calibration` (read back, never written)
PREVIOUS_SCHEMA = "clipscale.laws.FitResult/2"
#: schema /1 (and fits.csv before it) called the multiplier `beta` and the floor `e_inf`; read back
#: under today's names, never written
LEGACY_SCHEMA = "clipscale.laws.FitResult/1"
LEGACY_NAMES = {"beta": "coef", "e_inf": "floor"}


def renamed(data: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """`data` with its keys (and their `_lo`/`_hi` interval columns) renamed old -> new by `names`,
    where the new key is not there already: how files of an older schema are read back."""
    out = dict(data)
    for old, new in names.items():
        for suffix in ("", "_lo", "_hi"):
            if old + suffix in out and new + suffix not in out:
                out[new + suffix] = out.pop(old + suffix)
    return out


def law_log10(params: dict[str, float | None], compute: np.ndarray) -> np.ndarray:
    """log10 of the law's error at `compute` for one parameter set (alpha, coef, floor?, c0?)."""
    c = np.asarray(compute, dtype=float)
    c0 = params.get("c0") or 0.0
    floor = params.get("floor") or 0.0
    power_log = math.log10(params["coef"]) + params["alpha"] * np.log10(c + c0)
    if floor == 0.0:
        return power_log
    return np.log10(10.0 ** power_log + floor)


def to_space(error, space: str) -> np.ndarray:
    """The fit's y for error fractions: log10(E) (space "log") or log10(E / (1 - E)) ("logodds")."""
    e = np.asarray(error, dtype=float)
    return np.log10(e / (1.0 - e)) if space == "logodds" else np.log10(e)


def from_space(y, space: str) -> np.ndarray:
    """Error fractions from the fit's y (inverse of `to_space`)."""
    y = np.asarray(y, dtype=float)
    return 1.0 / (1.0 + 10.0 ** -y) if space == "logodds" else 10.0 ** y


def error_bounds(lo, hi) -> tuple[np.ndarray, np.ndarray]:
    """An interval of error fractions kept inside [0, 1]: a law in log space (the power law) can put
    its upper end above 100% error near chance or far below the fitted compute, where no run can land."""
    return np.clip(lo, 0.0, 1.0), np.clip(hi, 0.0, 1.0)


@dataclasses.dataclass
class FitResult:
    """A fitted scaling law. Error values are fractions; residuals are log10(observed / fitted)."""

    method: str
    alpha: float
    coef: float
    floor: float | None
    r2: float
    n_points: int
    ci: dict[str, tuple[float, float]]
    residuals: np.ndarray
    c0: float | None = None
    n_fit_points: int = 0
    ci_level: float = 0.95
    n_boot: int = 0
    seed: int = 0
    boot: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    resid_std: float = 0.0
    compute: np.ndarray = dataclasses.field(default_factory=lambda: np.empty(0))
    error: np.ndarray = dataclasses.field(default_factory=lambda: np.empty(0))
    options: dict[str, Any] = dataclasses.field(default_factory=dict)
    notes: list[str] = dataclasses.field(default_factory=list)
    #: "log": log10 E = law; "logodds": log10(E / (1 - E)) = law (residuals, R^2 in that space)
    space: str = "log"
    #: the registered method that chose this fit's form (`method`), e.g. "auto"; None when `method`
    #: was asked for by name
    chosen_from: str | None = None
    #: the calibration of its intervals (laws.calibrate.Calibration.to_dict), set by the callers of
    #: a calibrated method (laws.calibrate.fit_law); None: bootstrap + residual scatter
    calibration: dict[str, Any] | None = None

    # -- parameters -------------------------------------------------------------------------
    @property
    def params(self) -> dict[str, float | None]:
        return {"alpha": self.alpha, "coef": self.coef, "floor": self.floor, "c0": self.c0}

    def formula(self, digits: int = 2) -> str:
        """The law as text, e.g. 'E = 5.86 · C^-0.11' (the paper's two decimals by default)."""
        coef = _fmt(self.coef, digits)
        base = f"(C + {_fmt(self.c0, digits)})" if self.c0 else "C"
        lhs = "E/(1-E)" if self.space == "logodds" else "E"
        text = f"{lhs} = {coef} · {base}^{self.alpha:.{digits}f}"
        if self.floor is not None:
            text += f" + {_fmt(self.floor, digits)}"
        return text

    # -- predictions ------------------------------------------------------------------------
    def predict(self, compute) -> np.ndarray:
        """Predicted error (fraction) at `compute` (same unit as the fitted compute column)."""
        c = _positive(compute)
        return from_space(law_log10(self.params, c), self.space)

    def predict_interval(self, compute, level: float = 0.95,
                         kind: str = "prediction") -> tuple[np.ndarray, np.ndarray]:
        """(lo, hi) error fractions at `compute` from the bootstrap.

        kind="confidence": interval of the fitted law itself; kind="prediction" (default): also
        includes the scatter of points around the law (Gaussian in log10, sd = residual sd), i.e.
        where a new run at that compute is expected to land.
        """
        if kind not in ("prediction", "confidence"):
            raise DataError(f"unknown interval kind {kind!r}; valid choices: confidence, prediction")
        if not 0 < level < 1:
            raise DataError(f"level must be a fraction in (0, 1), got {level}; e.g. 0.95")
        if not self.boot or len(self.boot.get("alpha", ())) == 0:
            raise FitError("this fit has no bootstrap samples; refit with n_boot > 0 to get intervals")
        c = _positive(compute)
        b = self.boot
        c0 = b["c0"][:, None] if b.get("c0") is not None else 0.0
        logs = np.log10(b["coef"])[:, None] + b["alpha"][:, None] * np.log10(c[None, :] + c0)  # (B, m)
        if b.get("floor") is not None:
            logs = np.log10(10.0 ** logs + b["floor"][:, None])
        if kind == "prediction" and self.resid_std > 0:
            rng = np.random.default_rng(self.seed + 1)
            logs = logs + rng.normal(0.0, self.resid_std, size=logs.shape)
        tail = (1 - level) / 2
        lo, hi = np.quantile(logs, [tail, 1 - tail], axis=0)
        return error_bounds(from_space(lo, self.space), from_space(hi, self.space))

    # -- serialisation ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (arrays as lists, NaN as None) that `from_dict` reads back."""
        out: dict[str, Any] = {"schema": SCHEMA, "formula": self.formula()}
        for f in dataclasses.fields(self):
            out[f.name] = json_clean(getattr(self, f.name))
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FitResult":
        """The fit `to_dict` wrote (schema /3), or one of schema /2 (no calibration) or /1 (beta,
        e_inf: read as coef, floor)."""
        if data.get("schema") == LEGACY_SCHEMA:
            data = {**renamed(data, LEGACY_NAMES), "ci": renamed(data.get("ci") or {}, LEGACY_NAMES),
                    "boot": renamed(data.get("boot") or {}, LEGACY_NAMES)}
        elif data.get("schema") not in (SCHEMA, PREVIOUS_SCHEMA):
            raise DataError(f"not a fit this version of clipscale reads (schema {data.get('schema')!r}, expected "
                            f"{SCHEMA!r}); refit with `clipscale fit` (or load a file written by FitResult.save)")
        kw = {f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data}
        for name in ("residuals", "compute", "error"):
            kw[name] = _array(kw.get(name, []))
        kw["boot"] = {k: _array(v) for k, v in (kw.get("boot") or {}).items()}
        kw["ci"] = {k: (_num(v[0]), _num(v[1])) for k, v in (kw.get("ci") or {}).items()}
        for name in ("alpha", "coef", "r2", "resid_std"):
            kw[name] = _num(kw[name])
        return cls(**kw)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "FitResult":
        """A fit without bootstrap from one `fit_table` row (alpha, coef, floor, c0, r2, method or the
        form a method chose, n_points; intervals from *_lo/*_hi; an older fits.csv's beta and e_inf columns are read as
        coef and floor): predictions and formula as the fitted law, in its method's space (E, or
        E/(1-E) for 'logodds')."""
        from clipscale.laws.methods import METHODS

        row = json_clean(renamed(row, LEGACY_NAMES))  # NaN cells (absent values) are None
        num = lambda key: None if row.get(key) is None else float(row[key])  # noqa: E731

        method = str(row.get("form") or row.get("method") or "given")  # 'auto' rows: the form it chose
        ci = {k: (num(f"{k}_lo"), num(f"{k}_hi")) for k in PARAM_NAMES if num(f"{k}_lo") is not None}
        return cls(method=method, alpha=float(row["alpha"]), coef=float(row["coef"]), floor=num("floor"),
                   c0=num("c0"), r2=num("r2") if num("r2") is not None else float("nan"),
                   n_points=int(num("n_points") or 0), ci=ci, residuals=np.empty(0),
                   space=METHODS[method].space if method in METHODS else "log")

    def save(self, path) -> Path:
        """Write this fit as JSON (atomically)."""
        return atomic_write_json(path, self.to_dict())

    @classmethod
    def load(cls, path) -> "FitResult":
        try:
            data = json.loads(Path(path).read_text())
        except FileNotFoundError as exc:
            raise DataError(f"fit file not found: {path}; pass the path written by FitResult.save") from exc
        except json.JSONDecodeError as exc:
            raise DataError(f"{path} is not JSON ({exc.msg}); pass a file written by FitResult.save") from exc
        return cls.from_dict(data)


def _fmt(v: float, digits: int) -> str:
    if v != 0 and abs(v) < 10 ** -digits:
        return f"{v:.{digits}e}"
    if abs(v) >= 1e6:
        return f"{v:.{digits}e}"
    return f"{v:.{digits}f}"


def _positive(compute) -> np.ndarray:
    c = np.atleast_1d(np.asarray(compute, dtype=float))
    if not np.all(np.isfinite(c)) or np.any(c <= 0):
        raise DataError("compute must be finite and > 0 to predict (it is the x of a log-log law)")
    return c


def _num(v: Any) -> float:
    return float("nan") if v is None else float(v)


def _array(v: Any) -> np.ndarray:
    return np.asarray([_num(x) for x in v], dtype=float)
