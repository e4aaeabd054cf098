"""The per-run law's fitting machinery: effective data, the batched optimiser, the shared decay.

The law of group g (natural logs; theta_g = (a, b, e, alpha, beta), the joint law's parameters):

    y = LSE(a - alpha log N, b - beta log D', e),   y = log E (link 'log') or log(E / (1 - E)) ('logit')

with D' the effective data of Muennighoff et al. 2023 ("Scaling Data-Constrained Language Models",
NeurIPS 2023, eq. 5): D' = D when D <= U, else U + U R* (1 - exp(-R / R*)) with R = D / U - 1 the
repetitions beyond the first epoch. The decay R* (in repetitions) is one number shared by every
group: repetition is a property of the upstream training, not of the downstream task.

For a fixed R*, each group is the joint law in (N, D'). `lm_rows` minimises sum_i w_i Huber(y_i -
LSE_i) for many rows at once (one row = one group x one start, each with its own runs), with
alpha, beta >= 0 (the law never rises with scale) kept by projection. R* is profiled on a grid,
warm-started, then refined by a bounded search in log R*. The bootstrap resamples every group's runs
and repeats the profile near the fitted R*, every replicate of every group in one batch.
"""
from __future__ import annotations

import dataclasses

import numpy as np
from scipy.optimize import minimize, minimize_scalar
from scipy.special import expit

from clipscale.errors import FitError
from clipscale.laws import _joint_opt as J

#: R* values of the profile grid (repetitions); the refinement searches log R* between neighbours
DECAY_GRID = np.array([1.0, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096])
#: start grid for the logit link: log-odds floors e from -4 to 0.5 (error floors 2%-62%); the log link
#: uses Hoffmann et al.'s grid (`_joint_opt.start_grid()`)
LOGIT_GRID = {"a": np.array([0.0, 5, 10, 15]), "b": np.array([0.0, 10, 20, 30]), "e": np.array([-4.0, -2.5, -1, 0.5]),
              "size_exp": np.array([0.25, 0.75, 1.5]), "data_exp": np.array([0.25, 0.75, 1.5])}
#: lower bounds of theta: the exponents alpha and beta are >= 0
LOWER = np.array([-np.inf, -np.inf, -np.inf, 0.0, 0.0])
BLOCK = 1024


def log_effective_data(log_d, log_u, decay) -> np.ndarray:
    """log D' (natural log) from log D, log U and the decay R* (arrays broadcast together); log U =
    inf (unlimited unique data) gives D' = D, and so does R* = inf or NaN (no decay fitted)."""
    log_d = np.asarray(log_d, float)
    log_u, decay = np.asarray(log_u, float), np.asarray(decay, float)
    no_decay = ~np.isfinite(decay)
    r_star = np.where(no_decay, 1.0, decay)
    finite = np.isfinite(log_u)
    lu = np.where(finite, log_u, log_d)
    rep = np.expm1(np.minimum(log_d - lu, 700.0))                                # R = D/U - 1
    over = finite & (rep > 0) & ~no_decay
    gain = np.log1p(r_star * -np.expm1(-np.where(over, rep, 0.0) / r_star))      # log(1 + R*(1 - e^(-R/R*)))
    return np.where(over, lu + gain, log_d + 0 * lu)


def to_link(error, link: str) -> np.ndarray:
    """log E ('log') or log(E / (1 - E)) ('logit'), natural logs."""
    e = np.asarray(error, float)
    return np.log(e) if link == "log" else np.log(e) - np.log1p(-e)


def from_link(y, link: str) -> np.ndarray:
    """The inverse of `to_link`: E in (0, inf) for 'log', in [0, 1] for 'logit'."""
    return np.exp(y) if link == "log" else expit(y)


def batch_log_law(thetas, log_n, log_d_eff) -> np.ndarray:
    """The law's y for theta rows (B, 5) at points (m,) or per-row points (B, m): shape (B, m)."""
    th = np.atleast_2d(np.asarray(thetas, float))
    a, b, e, alpha, beta = (th[:, k:k + 1] for k in range(5))
    t = np.stack(np.broadcast_arrays(a - alpha * log_n, b - beta * log_d_eff, e))
    m = t.max(axis=0)
    return m + np.log(np.exp(t - m).sum(axis=0))


def _lse_soft(th, ln, ld):
    a, b, e, alpha, beta = (th[:, k:k + 1] for k in range(5))
    t0, t1 = a - alpha * ln, b - beta * ld
    m = np.maximum(np.maximum(t0, t1), e)
    x0, x1, x2 = np.exp(t0 - m), np.exp(t1 - m), np.exp(e - m)
    s = x0 + x1 + x2
    return m + np.log(s), (x0 / s, x1 / s, x2 / s)


def _huber(r, delta, w):
    ar = np.abs(r)
    return (w * np.where(ar <= delta, 0.5 * r * r, delta * (ar - 0.5 * delta))).sum(axis=-1)


def lm_rows(starts, ln, ld, y, w, delta: float, prior=None, max_iter: int = 100, tol: float = 1e-9):
    """Minimise sum_i w_i Huber_delta(y_i - LSE_i) (+ 0.5 sum_k lam_k (theta_k - target_k)^2 with
    `prior` = (target, lam), each (S, 5)) from every row of `starts` (S, 5), each row with its own
    runs: ln, ld, y, w of shape (S, n) (w = 0 on padding and for runs a bootstrap left out).
    Levenberg-Marquardt on the IRLS form of the Huber loss (as `_joint_opt.batch_minimise`), steps
    projected onto alpha, beta >= 0; returns (thetas (S, 5), objectives (S,))."""
    th = np.maximum(np.array(starts, float), LOWER)
    target, lam = prior if prior is not None else (np.zeros_like(th), np.zeros_like(th))
    f = np.empty(len(th))
    for i in range(0, len(th), BLOCK):
        sl = slice(i, i + BLOCK)
        th[sl], f[sl] = _lm_block(th[sl], ln[sl], ld[sl], y[sl], w[sl], delta, (target[sl], lam[sl]), max_iter, tol)
    return th, np.where(np.isfinite(f), f, np.inf)


def _penalty(th, target, lam):
    return 0.5 * (lam * (th - target) ** 2).sum(axis=-1)


def _lm_block(th, ln, ld, y, w, delta, prior, max_iter, tol):
    target, lam = prior
    lse, soft = _lse_soft(th, ln, ld)
    f = _huber(y - lse, delta, w) + _penalty(th, target, lam)
    mu = np.full(len(th), 1e-3)
    active = np.ones(len(th), bool)
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        s0, s1, s2 = (x[idx] for x in soft)
        r = y[idx] - lse[idx]
        ar = np.abs(r)
        q = w[idx] * np.where(ar <= delta, 1.0, delta / np.maximum(ar, 1e-300))
        jac = np.stack([s0, s1, s2, -s0 * ln[idx], -s1 * ld[idx]], axis=-1)
        jq = np.swapaxes(jac * q[..., None], 1, 2)                               # (S, 5, n)
        hess = jq @ jac + lam[idx][:, :, None] * np.eye(5)
        grad = (jq @ r[..., None])[..., 0] - lam[idx] * (th[idx] - target[idx])
        diag = np.diagonal(hess, axis1=1, axis2=2)
        lhs = hess + (mu[idx, None] * diag + 1e-12 + 1e-12 * diag.max(axis=1, keepdims=True))[:, :, None] * np.eye(5)
        new = np.maximum(th[idx] + np.linalg.solve(lhs, grad[..., None])[..., 0], LOWER)
        lse_new, soft_new = _lse_soft(new, ln[idx], ld[idx])
        f_new = _huber(y[idx] - lse_new, delta, w[idx]) + _penalty(new, target[idx], lam[idx])
        ok = np.isfinite(f_new) & (f_new < f[idx])
        gain = np.where(ok, f[idx] - f_new, 0.0)
        acc = idx[ok]
        th[acc], f[acc], lse[acc] = new[ok], f_new[ok], lse_new[ok]
        for x, z in zip(soft, soft_new):
            x[acc] = z[ok]
        mu[idx] = np.where(ok, mu[idx] / 3.0, mu[idx] * 4.0)
        done = (ok & (gain <= tol * np.maximum(f[idx], 1e-300))) | (mu[idx] > 1e10)
        active[idx[done]] = False
    return th, f


def polish(theta, ln, ld, y, delta: float, prior=None) -> tuple[np.ndarray, float]:
    """scipy L-BFGS-B from `theta` on one group's runs (the joint law's objective and gradient, plus
    the `prior` penalty (target (5,), lam (5,))), alpha, beta >= 0; returns the lower of (start, result)."""
    target, lam = prior if prior is not None else (np.zeros(5), np.zeros(5))

    def obj(t):
        f, g = J.objective(t, ln, ld, y, delta)
        return f + 0.5 * float(np.sum(lam * (t - target) ** 2)), g + lam * (t - target)

    bounds = [(None if np.isinf(v) else v, None) for v in LOWER]
    res = minimize(obj, theta, jac=True, method="L-BFGS-B", bounds=bounds)
    f0 = obj(theta)[0]
    return (np.asarray(res.x, float), float(res.fun)) if np.isfinite(res.fun) and res.fun < f0 else (theta, f0)


@dataclasses.dataclass
class Design:
    """The fitted runs of every group, padded to one width: arrays (G, n); `w` is 0 on padding."""

    log_n: np.ndarray
    log_d: np.ndarray
    log_u: np.ndarray
    y: np.ndarray
    w: np.ndarray
    #: a penalty 0.5 lam (theta - target)^2 per group: (target (G, 5), lam (G, 5)), or None
    prior: tuple[np.ndarray, np.ndarray] | None = None

    @classmethod
    def build(cls, groups) -> "Design":
        """From (log N, log D, log U, y) arrays per group (log U = inf: unlimited unique data)."""
        width = max(len(g[0]) for g in groups)
        arrays = np.zeros((4, len(groups), width))
        w = np.zeros((len(groups), width))
        for i, g in enumerate(groups):
            k = len(g[0])
            for j in range(4):
                arrays[j, i, :k] = g[j]
                arrays[j, i, k:] = g[j][0]              # padding repeats a real run (weight 0)
            w[i, :k] = 1.0
        return cls(*arrays, w=w)

    def prior_rows(self, per_group: int):
        if self.prior is None:
            return None
        return tuple(np.repeat(p, per_group, axis=0) for p in self.prior)

    @property
    def has_unique(self) -> bool:
        return bool(np.any(np.isfinite(self.log_u) & (self.w > 0)))

    def rows(self, decay: float, per_group: int, weights=None):
        """(ln, ld', y, w) repeated `per_group` times per group: (G * per_group, n) each."""
        rep = lambda a: np.repeat(a, per_group, axis=0)
        w = rep(self.w) if weights is None else weights.reshape(-1, self.w.shape[1]) * rep(self.w)
        return rep(self.log_n), rep(log_effective_data(self.log_d, self.log_u, decay)), rep(self.y), w


def fit_at(design: Design, decay: float, starts: np.ndarray, delta: float, weights=None):
    """Every group from its start rows at a fixed R*: starts (G, S, 5), weights (G, S, n) or None.
    Returns (thetas (G, S, 5), objectives (G, S))."""
    G, S = starts.shape[:2]
    th, f = lm_rows(starts.reshape(G * S, 5), *design.rows(decay, S, weights), delta, design.prior_rows(S))
    return th.reshape(G, S, 5), f.reshape(G, S)


def grid_fit(design: Design, decay: float, starts: np.ndarray, delta: float, n_polish: int = 4):
    """Every group from every start of `starts` (S, 5) at a fixed R*, the best `n_polish` distinct
    results of each group polished by L-BFGS-B: (theta (G, 5), objective (G,))."""
    G = len(design.y)
    th, f = fit_at(design, decay, np.broadcast_to(starts, (G,) + starts.shape), delta)
    ld = log_effective_data(design.log_d, design.log_u, decay)
    best_th, best_f = np.empty((G, 5)), np.full(G, np.inf)
    for g in range(G):
        keep = design.w[g] > 0
        picked: list[np.ndarray] = []
        for i in np.argsort(f[g]):
            if len(picked) >= n_polish or not np.isfinite(f[g, i]):
                break
            if all(np.max(np.abs(th[g, i] - p)) > 1e-6 for p in picked):
                picked.append(th[g, i])
        for p in picked:
            prior = None if design.prior is None else (design.prior[0][g], design.prior[1][g])
            x, val = polish(p, design.log_n[g][keep], ld[g][keep], design.y[g][keep], delta, prior)
            if val < best_f[g]:
                best_th[g], best_f[g] = x, val
    if not np.all(np.isfinite(best_f)):
        raise FitError("no start gave a finite objective for some group; check that N, D and E are > 0")
    return best_th, best_f


def profile_decay(design: Design, starts: np.ndarray, delta: float, grid=DECAY_GRID):
    """The shared R* and every group's theta: (decay, theta (G, 5), objective (G,)).

    A grid search of every group at the grid's middle, warm-started refits along the grid (both
    directions), a bounded search in log R* between the best grid value's neighbours, and a last
    grid search of every group at the chosen R* (kept where lower)."""
    mid = len(grid) // 2
    th0, _ = grid_fit(design, float(grid[mid]), starts, delta)
    path = {}
    for order in (range(mid, len(grid)), range(mid - 1, -1, -1)):
        prev = th0
        for i in order:
            th, f = fit_at(design, float(grid[i]), np.stack([prev, th0], axis=1), delta)
            best = np.argmin(f, axis=1)
            prev = th[np.arange(len(th)), best]
            path[i] = (prev, f[np.arange(len(f)), best])
    i_best = min(path, key=lambda i: path[i][1].sum())
    warm = path[i_best][0][:, None]
    lo, hi = np.log(grid[max(i_best - 1, 0)]), np.log(grid[min(i_best + 1, len(grid) - 1)])
    res = minimize_scalar(lambda lr: fit_at(design, float(np.exp(lr)), warm, delta)[1].sum(),
                          bounds=(lo, hi), method="bounded", options={"xatol": 1e-3})
    decay = float(np.exp(res.x)) if res.fun < path[i_best][1].sum() else float(grid[i_best])
    th, f = fit_at(design, decay, warm, delta)
    th_g, f_g = grid_fit(design, decay, starts, delta)
    better = f_g < f[:, 0]
    return decay, np.where(better[:, None], th_g, th[:, 0]), np.where(better, f_g, f[:, 0])


def bootstrap(design: Design, theta: np.ndarray, decay: float | None, delta: float, n_boot: int, seed: int,
              grid=DECAY_GRID):
    """(thetas (G, B, 5), decays (B,)): each replicate resamples every group's runs with replacement
    (independently per group) and refits every group warm-started from `theta`; with unique data it
    profiles R* over `decay` and the grid values within a factor 8 of it (NaN decays without)."""
    rng = np.random.default_rng(seed)
    G, n = design.y.shape
    counts = np.zeros((G, n_boot, n))
    for g in range(G):
        real = np.flatnonzero(design.w[g] > 0)
        idx = rng.choice(real, size=(n_boot, len(real)))
        np.add.at(counts[g], (np.arange(n_boot)[:, None], idx), 1.0)
    if decay is None:
        decays = np.array([np.inf])
    else:
        decays = np.unique(np.r_[grid[(grid > decay / 8) & (grid < decay * 8)], decay])
    starts = np.repeat(theta[:, None], n_boot, axis=1)
    fits = [fit_at(design, float(d), starts, delta, counts) for d in decays]
    total = np.stack([f.sum(axis=0) for _, f in fits])                      # (R, B)
    pick = np.argmin(total, axis=0)
    th = np.stack([fits[p][0][:, b] for b, p in enumerate(pick)], axis=1)    # (G, B, 5)
    ok = np.isfinite(total[pick, np.arange(n_boot)]) & np.all(np.isfinite(th), axis=(0, 2))
    boot_decay = decays[pick][ok] if decay is not None else np.full(int(ok.sum()), np.nan)
    return th[:, ok], boot_decay


def residuals(design: Design, theta: np.ndarray, decay: float | None) -> np.ndarray:
    """y - law per fitted run, (G, n), 0 on padding."""
    ld = log_effective_data(design.log_d, design.log_u, np.inf if decay is None else decay)
    fitted = np.stack([batch_log_law(t, design.log_n[g], ld[g])[0] for g, t in enumerate(theta)])
    return (design.y - fitted) * design.w


def exponent_prior(design: Design, theta: np.ndarray, decay: float | None, delta: float, spread: float):
    """A prior that pulls every group's exponents (alpha, beta) towards their median over the groups,
    with sd `spread` (exponent units): (target (G, 5), lam (G, 5)). The penalty is put in the units of
    each group's objective: lam = scale_g / spread^2, scale_g = sigma_g^2 x min(1, delta / mean|r_g|)
    (sigma_g the group's residual sd; the Huber loss weighs residuals beyond delta by delta / |r|), so a
    noisy group leans on the others more than a clean one."""
    r = residuals(design, theta, decay)
    n = design.w.sum(axis=1)
    sigma2 = (r ** 2).sum(axis=1) / np.maximum(n - 5, 1)
    mean_abs = np.abs(r).sum(axis=1) / n
    scale = sigma2 * np.minimum(1.0, delta / np.maximum(mean_abs, 1e-12))
    target = np.zeros_like(theta)
    target[:, 3:] = np.median(theta[:, 3:], axis=0)
    lam = np.zeros_like(theta)
    lam[:, 3:] = (scale / spread ** 2)[:, None]
    return target, lam
