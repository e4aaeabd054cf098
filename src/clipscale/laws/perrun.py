"""The per-run law E(N, D, U): the error of one training run from its model size N, the samples it
has seen D and the unique samples U of its training set.

    link(E) = LSE(a - size_exp log N, b - data_exp log D', e)
            i.e. odds(E) = A / N^size_exp + B / D'^data_exp + floor     (link 'logit', E in (0, 1))
            or   E       = A / N^size_exp + B / D'^data_exp + floor     (link 'log': the joint law)

D' is the effective data of Muennighoff et al. 2023 (eq. 5): D' = D while D <= U, then
U + U R* (1 - exp(-(D/U - 1) / R*)): repeated samples are worth less and less, and D' never exceeds
U (1 + R*). The decay R* (repetitions) is fitted and shared by every group of a pooled fit (every
downstream dataset of one results table). Without U (unique=None) D' = D and the law is the joint
law E(N, D) exactly: with link 'log' it is `fit_joint`'s law and objective.

`fit_perrun` fits groups together (the shared R*) and returns a `PerRunFit`: predictions, 90%
intervals in [0, 1] (logit link), the extrapolation distance, JSON round trip. Intervals carry the
parameter uncertainty (bootstrap over runs), the scatter of runs around the law (which holds the
test set's binomial noise and seed-to-seed variation: see `_perrun_calib`) and its growth with
extrapolation, calibrated by rolling-origin backtests inside the fitted runs.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from clipscale._io import atomic_write_json, json_clean
from clipscale.errors import DataError, FitError, unknown
from clipscale.laws import _joint_opt as J
from clipscale.laws.defaults import N_BOOT_PERRUN as N_BOOT
from clipscale.laws import _perrun_calib as C
from clipscale.laws import _perrun_opt as P

SCHEMA = "clipscale.laws.PerRunFit/1"
LINKS = ("logit", "log")
#: the law's parameters per group: A, B, floor (odds with link 'logit', E with 'log'), the exponents
PARAMS = ("A", "B", "floor", "size_exp", "data_exp")
#: Huber delta per link (link units, natural log): 'log' keeps Hoffmann et al.'s 1e-3 (the joint law's,
#: close to least absolute deviations); 'logit' 0.05, chosen by backtests inside the
#: paper's fitted runs (docs/laws.md)
DELTA = {"logit": 0.05, "log": 1e-3}
#: sd of the prior that pulls each group's exponents towards their median over the groups (exponent
#: units; used with 3 or more groups), chosen like DELTA; None fits every group on its own
SPREAD = 0.2
MIN_RUNS = 6


to_link, from_link = P.to_link, P.from_link


@dataclasses.dataclass
class PerRunFit:
    """A fitted per-run law for one or more groups (one row of `theta` per group, one shared decay).

    theta: (G, 5) rows (a, b, e, size_exp, data_exp), a, b, e natural logs of A, B, floor; decay: R* in
    repetitions (None: fitted without unique data, the law is E(N, D)); scatter: (G,) sd of the fitted
    runs around the law in link units; boot: (G, B, 5) bootstrap rows and boot_decay (B,) their R*;
    compute_range: (G, 2) min and max of size x data over the fitted runs (size_unit x samples);
    scale, growth, tail_df: the interval's calibration (see `_perrun_calib`)."""

    groups: list[str]
    theta: np.ndarray
    decay: float | None
    link: str = "logit"
    scatter: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(1))
    scale: float = 1.0
    growth: float = 0.0
    tail_df: float = float("inf")
    objective: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(1))
    n_points: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(1, int))
    compute_range: np.ndarray = dataclasses.field(default_factory=lambda: np.ones((1, 2)))
    boot: np.ndarray = dataclasses.field(default_factory=lambda: np.empty((1, 0, 5)))
    boot_decay: np.ndarray = dataclasses.field(default_factory=lambda: np.empty(0))
    delta: float = 0.05
    n_boot: int = 0
    seed: int = 0
    calibration: dict[str, Any] = dataclasses.field(default_factory=dict)
    size_unit: str = "GMACs per sample"
    data_unit: str = "samples seen"
    notes: list[str] = dataclasses.field(default_factory=list)

    method = "perrun"

    # -- parameters ---------------------------------------------------------------------------
    def index(self, group=None) -> int:
        """Row of `group` in theta (None: the only group)."""
        if group is None:
            if len(self.groups) == 1:
                return 0
            raise DataError(f"this law holds {len(self.groups)} groups; pass group= one of them (e.g. {self.groups[0]!r})")
        if str(group) not in self.groups:
            raise unknown("group", str(group), self.groups, "pass a group this law was fitted on")
        return self.groups.index(str(group))

    def params(self, group=None) -> dict[str, float]:
        """A, B, floor, size_exp, data_exp of `group` and the shared decay R* (NaN without U)."""
        a, b, e, sx, dx = self.theta[self.index(group)]
        with np.errstate(over="ignore"):
            out = {"A": float(np.exp(a)), "B": float(np.exp(b)), "floor": float(np.exp(e)),
                   "size_exp": float(sx), "data_exp": float(dx)}
        return {**out, "decay": float("nan") if self.decay is None else float(self.decay)}

    def formula(self, group=None, digits: int = 3) -> str:
        p, g = self.params(group), lambda v: f"{v:.{digits}g}"
        lhs = "E/(1-E)" if self.link == "logit" else "E"
        dd = "D" if self.decay is None else f"D'(D, U; R*={g(self.decay)})"
        return f"{lhs} = {g(p['A'])} / N^{p['size_exp']:.{digits}f} + {g(p['B'])} / {dd}^{p['data_exp']:.{digits}f} + {g(p['floor'])}"

    def select(self, group) -> "PerRunFit":
        """The law of one group (its own row, the shared decay and interval calibration)."""
        i = self.index(group)
        pick = lambda a: a[i:i + 1].copy()
        return dataclasses.replace(self, groups=[self.groups[i]], theta=pick(self.theta), scatter=pick(self.scatter),
                                   objective=pick(self.objective), n_points=pick(self.n_points),
                                   compute_range=pick(self.compute_range), boot=pick(self.boot),
                                   calibration=dict(self.calibration), notes=list(self.notes))

    # -- predictions --------------------------------------------------------------------------
    def _points(self, size, data, unique):
        n, d = _positive(size, "model size N"), _positive(data, "data D (samples seen)")
        if self.decay is None and unique is not None:
            raise DataError("this law was fitted without unique data (unique=None); predict without unique=")
        if self.decay is not None and unique is None:
            raise DataError("this law was fitted with unique data; pass unique= (unique samples of the training "
                            "set; unique=data for a run that sees every sample once)")
        u = np.full_like(n, np.inf) if unique is None else _positive(unique, "unique samples U")
        n, d, u = np.broadcast_arrays(n, d, u)
        return np.log(n), np.log(d), np.log(u)

    def predict_link(self, size, data, unique=None, *, group=None) -> np.ndarray:
        """The law in link units (log-odds for 'logit', log E for 'log') at each run."""
        ln, ld, lu = self._points(size, data, unique)
        decay = np.inf if self.decay is None else self.decay
        return P.batch_log_law(self.theta[self.index(group)], ln, P.log_effective_data(ld, lu, decay))[0]

    def predict(self, size, data, unique=None, *, group=None) -> np.ndarray:
        """Predicted error of runs with model size `size` (N, `size_unit`), `data` samples seen (D)
        and `unique` unique samples (U); a fraction in [0, 1] with link 'logit'."""
        return from_link(self.predict_link(size, data, unique, group=group), self.link)

    def predict_sd(self, size, data, unique=None, *, group=None) -> np.ndarray:
        """The predictive sd in link units: sqrt(bootstrap variance + scatter^2 (scale^2 + growth^2
        decades^2)), decades = `extrapolation_decades`."""
        g = self.index(group)
        ln, ld, lu = self._points(size, data, unique)
        var_boot = C.boot_variance(self.boot[g], self.boot_decay, ln, ld, lu)
        dist = self.extrapolation_decades(size, data, group=group)
        return C.interval_sd(var_boot, self.scatter[g], dist, self.scale, self.growth)

    def predict_interval(self, size, data, unique=None, *, group=None, level: float = 0.9):
        """(lo, hi) of a new run's error at `level` (a fraction in (0, 1)): a Student t (tail_df) in
        link units around the law with sd `predict_sd`, mapped back (fractions in [0, 1] with 'logit')."""
        if not 0 < level < 1:
            raise DataError(f"level must be a fraction in (0, 1), got {level!r}; e.g. 0.9")
        if self.boot.shape[1] == 0:
            raise FitError("this per-run law has no bootstrap; refit with n_boot > 0 to get intervals")
        y = self.predict_link(size, data, unique, group=group)
        half = C.quantile(level, self.tail_df) * self.predict_sd(size, data, unique, group=group)
        return from_link(y - half, self.link), from_link(y + half, self.link)

    def extrapolation_decades(self, size, data, *, group=None) -> np.ndarray:
        """Decades of compute (size x data) outside the fitted runs' range of the group; 0 inside."""
        c = _positive(size, "model size N") * _positive(data, "data D (samples seen)")
        lo, hi = self.compute_range[self.index(group)]
        return np.maximum(0.0, np.maximum(np.log10(c / hi), np.log10(lo / c)))

    # -- serialisation ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"schema": SCHEMA, "method": self.method}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            out[f.name] = v.tolist() if isinstance(v, np.ndarray) else v
        out["formula"] = [self.formula(g) for g in self.groups]
        return json_clean(out)  # standard JSON: no inf (tail_df, a decay that does not decay) or NaN

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PerRunFit":
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            got = data.get("schema") if isinstance(data, dict) else type(data).__name__
            raise DataError(f"not a clipscale per-run law (schema {got!r}, expected {SCHEMA!r}); "
                            "load a file written by PerRunFit.save, or refit with fit_perrun")
        kw = {f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data}
        G = len(kw["groups"])
        for name, shape in (("theta", (G, 5)), ("scatter", (G,)), ("objective", (G,)), ("compute_range", (G, 2)),
                            ("boot", (G, -1, 5))):
            kw[name] = np.asarray(kw.get(name, []), float).reshape(shape)
        kw["n_points"] = np.asarray(kw.get("n_points", []), int).reshape(G)
        kw["decay"] = None if kw.get("decay") is None else float(kw["decay"])
        kw["tail_df"] = float("inf") if kw.get("tail_df") is None else float(kw["tail_df"])
        kw["boot_decay"] = np.array([np.nan if v is None else v for v in data.get("boot_decay", [])], float)
        return cls(**kw)

    def save(self, path) -> Path:
        """Write this law as JSON (atomically)."""
        return atomic_write_json(path, self.to_dict())

    @classmethod
    def load(cls, path) -> "PerRunFit":
        try:
            return cls.from_dict(json.loads(Path(path).read_text()))
        except FileNotFoundError:
            raise DataError(f"per-run law file not found: {path}; pass the path written by PerRunFit.save") from None
        except json.JSONDecodeError as exc:
            raise DataError(f"{path} is not JSON ({exc.msg}); pass a file written by PerRunFit.save") from None


def fit_perrun(size, data, error, unique=None, *, group=None, link: str = "logit", delta: float | None = None,
               n_boot: int = N_BOOT, seed: int = 0, calibrate: bool = True, spread: float | None = SPREAD,
               starts=None,
               size_unit: str = "GMACs per sample", data_unit: str = "samples seen") -> PerRunFit:
    """Fit the per-run law to runs: `size` N (> 0, `size_unit`), `data` D (samples seen, > 0),
    `error` E (a fraction in (0, 1) for link 'logit'; any positive loss for 'log'), `unique` U
    (unique samples of each run's training set, > 0; None: no unique data, the law is E(N, D)),
    `group` (one label per run; groups share R* and the interval calibration, and with `spread` their
    exponents lean towards the groups' median: see `_perrun_opt.exponent_prior`). `delta`: the Huber
    delta in link units (None: DELTA[link]). `n_boot` bootstrap
    resamples of the runs; `calibrate` calibrates the intervals by rolling-origin backtests inside
    the fitted runs (`_perrun_calib`; without it: bootstrap + scatter, normal). `starts`: (S, 5) start
    rows (default: Hoffmann et al.'s grid for 'log', `_perrun_opt.LOGIT_GRID` for 'logit')."""
    if link not in LINKS:
        raise unknown("link", link, LINKS, "use 'logit' for error fractions, 'log' for losses")
    runs = _validate(size, data, error, unique, group, link)
    delta = DELTA[link] if delta is None else float(delta)
    if starts is None:
        starts = J.start_grid(P.LOGIT_GRID if link == "logit" else None)
    core = lambda r, nb, sd: _fit_core(r, link, delta, nb, sd, np.asarray(starts, float), spread)
    fit = core(runs, n_boot, seed)
    fit.size_unit, fit.data_unit = size_unit, data_unit
    if calibrate and n_boot > 0:
        fit.scale, fit.growth, fit.calibration = C.calibrate(runs, core, seed)
        fit.tail_df = C.TAIL_DF if "coverage" in fit.calibration else float("inf")
        fit.notes.extend(fit.calibration.get("notes", []))
    return fit


def _point_fit(design, starts, delta):
    if design.has_unique:
        return P.profile_decay(design, starts, delta)
    theta, obj = P.grid_fit(design, np.inf, starts, delta)
    return None, theta, obj


def _fit_core(runs: dict[str, np.ndarray], link, delta, n_boot, seed, starts, spread) -> PerRunFit:
    """The pooled fit of `runs` (see `_validate`), its bootstrap and scatter; intervals uncalibrated."""
    labels = list(dict.fromkeys(runs["group"]))
    parts = []
    for lab in labels:
        m = runs["group"] == lab
        parts.append((np.log(runs["size"][m]), np.log(runs["data"][m]), np.log(runs["unique"][m]),
                      to_link(runs["error"][m], link)))
    design = P.Design.build(parts)
    decay, theta, obj = _point_fit(design, starts, delta)
    if spread is not None and len(labels) >= 3:
        design.prior = P.exponent_prior(design, theta, decay, delta, spread)
        decay, theta, obj = _point_fit(design, starts, delta)
    boot, boot_decay = P.bootstrap(design, theta, decay, delta, n_boot, seed) if n_boot > 0 else \
        (np.empty((len(labels), 0, 5)), np.empty(0))
    notes = [] if boot.shape[1] == n_boot else [f"{n_boot - boot.shape[1]} of {n_boot} bootstrap refits failed and were dropped"]
    resid = P.residuals(design, theta, decay)
    n = design.w.sum(axis=1)
    scatter = np.sqrt((resid ** 2).sum(axis=1) / np.maximum(n - 5 - (decay is not None) / len(labels), 1))
    comp = [runs["size"][runs["group"] == lab] * runs["data"][runs["group"] == lab] for lab in labels]
    return PerRunFit(groups=[str(x) for x in labels], theta=theta, decay=decay, link=link, scatter=scatter,
                     objective=np.asarray(obj, float), n_points=n.astype(int),
                     compute_range=np.array([[c.min(), c.max()] for c in comp]), boot=boot, boot_decay=boot_decay,
                     delta=delta, n_boot=n_boot, seed=seed, notes=notes)


def _positive(v, name: str) -> np.ndarray:
    try:
        a = np.atleast_1d(np.asarray(v, dtype=float))
    except (TypeError, ValueError):
        raise DataError(f"{name} must be numbers, got {v!r}") from None
    if np.any(~np.isfinite(a) | (a <= 0)):
        raise DataError(f"{name} must be finite and > 0 (the law is in logs); got {a[~np.isfinite(a) | (a <= 0)][0]!r}")
    return a


def _validate(size, data, error, unique, group, link) -> dict[str, np.ndarray]:
    out = {"size": _positive(size, "model size N"), "data": _positive(data, "data D (samples seen)"),
           "error": _positive(error, "error E")}
    out["unique"] = np.full(out["size"].shape, np.inf) if unique is None else _positive(unique, "unique samples U")
    out["group"] = np.full(out["size"].shape, "", dtype=object) if group is None else \
        np.asarray([str(g) for g in np.atleast_1d(np.asarray(group, dtype=object))], dtype=object)
    sizes = {k: len(v) for k, v in out.items()}
    if len(set(sizes.values())) != 1:
        raise DataError(f"size, data, error, unique and group need one value per run; got {sizes}")
    if link == "logit" and np.any(out["error"] >= 1):
        raise DataError("error must be a fraction below 1 for link 'logit' (errors as fractions, 1 - metric); "
                        "use link='log' for losses above 1")
    for lab in dict.fromkeys(out["group"]):
        k = int((out["group"] == lab).sum())
        if k < MIN_RUNS:
            raise FitError(f"group {lab!r} has {k} run(s), too few for the law's 5 parameters (needs >= {MIN_RUNS}); "
                           "add runs or group more coarsely")
    return out
