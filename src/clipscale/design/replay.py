"""`replay`: score design strategies on a finished results table, as if its runs were not trained yet.

Per group (the laws' groups: downstream dataset x paper group): the pool is the runs at or below the
group's (1 - H) compute quantile; the targets are the held-out runs above it that lie on the group's
compute frontier (error below every cheaper run of the group). A strategy sees the result of a run
only once it has chosen it, and may spend F of the pool's cost (total GMACs unless a cost column is
given). It predicts with the frontier law fitted to its runs; the miss is |predicted - actual| in
error-% points at each target. The adaptive strategy is told the computes of the held-out runs (what
a researcher plans to train), never their errors nor which of them are on the frontier.

Strategies: `adaptive` (design.decide, round by round), `random` (runs in a seeded random order,
each taken when still affordable; `draws` orders, the median of their misses), `full` (the whole pool).
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from clipscale.design import law as _law
from clipscale.design.candidates import PAPER_UNIQUE_SAMPLES, Candidate, frontier_mask
from clipscale.design.strategy import DesignSettings, check_design, decide, seed_cost
from clipscale.errors import DataError, UserInputError

STRATEGIES = ("adaptive", "random", "full")
REPLAY_COLUMNS = ("strategy", "compute_frac", "n_runs", "median_miss_pct", "inside_90", "n_targets", "n_draws",
                  "n_failed")


@dataclasses.dataclass(frozen=True)
class ReplaySettings:
    """`budget_frac`: the fraction of the pool's cost a strategy may spend, in (0, 1];
    `holdout_top_frac`: the runs above the (1 - H) compute quantile of each group are held out;
    `draws`: random orders per group; `seed`: their seed. Column names: `compute_col` (the law's x,
    total GMACs), `cost_col` (None: the compute), `size_col` (model size), `samples_col`,
    `data_col` (unique samples; None: from `upstream_dataset` for the paper's LAION sets)."""

    budget_frac: float = 0.2
    holdout_top_frac: float = 0.2
    strategies: tuple[str, ...] = STRATEGIES
    draws: int = 20
    seed: int = 0
    compute_col: str = "gmacs_total"
    cost_col: str | None = None
    size_col: str = "gmacs"
    samples_col: str = "samples_seen"
    data_col: str | None = None
    design: DesignSettings = DesignSettings()

    def validate(self) -> None:
        if not (isinstance(self.budget_frac, (int, float)) and 0 < self.budget_frac <= 1):
            raise UserInputError(f"--budget-frac must be a fraction in (0, 1] of the pool's compute, got "
                                 f"{self.budget_frac}; e.g. 0.2")
        if not (isinstance(self.holdout_top_frac, (int, float)) and 0 < self.holdout_top_frac < 1):
            raise UserInputError(f"--holdout-top-frac must be a fraction in (0, 1), got {self.holdout_top_frac}; "
                                 "e.g. 0.2")
        bad = [s for s in self.strategies if s not in STRATEGIES]
        if bad or not self.strategies:
            raise UserInputError(f"unknown strategy {bad[0] if bad else '(none)'!r}; "
                                 f"valid choices: {', '.join(STRATEGIES)}")
        if int(self.draws) != self.draws or self.draws < 1:
            raise UserInputError(f"--draws must be a whole number >= 1, got {self.draws}")
        self.design.validate()


@dataclasses.dataclass
class Group:
    """One group's pool (candidates, their errors), targets and held-out computes."""

    values: dict[str, Any]
    pool: pd.DataFrame
    candidates: list[Candidate]
    errors: dict[str, float]
    target_compute: np.ndarray
    target_error: np.ndarray
    held_compute: np.ndarray


@dataclasses.dataclass
class Outcome:
    """One strategy's runs in one group and how its law predicts the targets."""

    runs: list[list[str]]  # keys chosen, per round
    cost_frac: float
    median_miss_pct: float  # NaN when the law could not be fitted
    inside_90: float

    @property
    def n_runs(self) -> int:
        return sum(len(r) for r in self.runs)


def groups(table, settings: ReplaySettings, where=None, group_by=None) -> tuple[list[Group], list[str], list[str]]:
    """The groups of `table` that have a held-out frontier run; the group columns; and one line per
    group left out (no target, or too few runs), after one for rows dropped as unfittable."""
    data, keys, comp_col, err_col = _law.prepare(table, compute_col=settings.compute_col, where=where,
                                                 group_by=group_by)
    for col in (settings.size_col, settings.samples_col) + ((settings.cost_col,) if settings.cost_col else ()) \
            + ((settings.data_col,) if settings.data_col else ()):
        if col not in data.columns:
            raise DataError(f"column {col!r} is not in the table; name the column with its option "
                            f"(--size-col, --samples-col, --cost-col, --data-col)")
    out = []
    skipped = [f"{data.attrs['dropped']} row(s) that cannot be fitted (error 0, a missing metric)"] \
        if data.attrs.get("dropped") else []
    grouped = data.groupby(keys, sort=True, dropna=False) if keys else [((), data)]
    for key, sub in grouped:
        values = dict(zip(keys, key if isinstance(key, tuple) else (key,)))
        label = ", ".join(map(str, values.values())) or "all rows"
        g = _group(sub, values, settings, comp_col, err_col)
        if isinstance(g, str):
            skipped.append(f"({label}): {g}")
        else:
            out.append(g)
    if not out:
        raise DataError("no group has a held-out run on its compute frontier to predict; "
                        + (skipped[0] if skipped else "") + "; lower --holdout-top-frac or widen --where")
    return out, keys, skipped


def _group(sub: pd.DataFrame, values, settings: ReplaySettings, comp_col, err_col) -> Group | str:
    c = sub[comp_col].to_numpy(float)
    e = sub[err_col].to_numpy(float)
    if len(c) < 4:
        return f"{len(c)} runs are too few to split"
    cut = float(np.quantile(c, 1 - settings.holdout_top_frac))
    in_pool = c <= cut
    target = ~in_pool & frontier_mask(np.log10(c), e)
    if not target.any():
        return "no held-out run lies on the compute frontier"
    pool = sub[in_pool]
    data = _unique_data(pool, settings)
    cost = pool[settings.cost_col].to_numpy(float) if settings.cost_col else c[in_pool]
    cands = [Candidate(key=str(idx), compute=float(ci), cost=float(co), size=float(s), samples=float(n),
                       data=None if not math.isfinite(u) else float(u))
             for idx, ci, co, s, n, u in zip(pool.index, c[in_pool], cost, pool[settings.size_col].to_numpy(float),
                                             pool[settings.samples_col].to_numpy(float), data)]
    return Group(values=values, pool=pool, candidates=cands, errors=dict(zip(map(str, pool.index), e[in_pool])),
                 target_compute=c[target], target_error=e[target], held_compute=c[~in_pool])


def _unique_data(pool: pd.DataFrame, settings: ReplaySettings) -> np.ndarray:
    if settings.data_col:
        return pd.to_numeric(pool[settings.data_col], errors="coerce").to_numpy(float)
    if "upstream_dataset" in pool.columns:
        return pool["upstream_dataset"].map(PAPER_UNIQUE_SAMPLES).astype(float).to_numpy()
    return np.full(len(pool), np.nan)


def score(g: Group, keys: Sequence[str], settings: DesignSettings) -> tuple[float, float]:
    """(median miss over the targets in error-% points, fraction of targets inside the law's
    `level` prediction interval) of the law fitted to the runs `keys`; NaN, NaN when it cannot be fitted."""
    by_key = {c.key: c for c in g.candidates}
    law = _law.fit_law([by_key[k].compute for k in keys], [g.errors[k] for k in keys], settings.method,
                       n_boot=settings.n_boot, seed=settings.seed)
    if law is None:
        return math.nan, math.nan
    pred = _law.predict(law, g.target_compute)
    if not np.all(np.isfinite(pred)):
        return math.nan, math.nan
    miss = float(np.median(np.abs(pred - g.target_error)) * 100)
    lo, hi = _law.interval_pct(law, g.target_compute, 0.9)
    inside = float(np.mean((100 * g.target_error >= lo) & (100 * g.target_error <= hi)))
    return miss, inside


def run_adaptive(g: Group, budget: float, settings: DesignSettings, on_decision: Callable | None = None) -> Outcome:
    """Round by round: decide, reveal the chosen runs' errors, until the design stops."""
    results: dict[str, float] = {}
    rounds: list[list[str]] = []
    for r in range(len(g.candidates) + 1):
        d = decide(g.candidates, results, target_compute=g.held_compute, budget=budget, settings=settings,
                   round_index=r)
        if on_decision:
            on_decision(d)
        if not d.chosen:
            break
        rounds.append(d.chosen)
        results.update({k: g.errors[k] for k in d.chosen})
    return _outcome(g, rounds, settings)


def run_random(g: Group, budget: float, settings: DesignSettings, draw_seed) -> Outcome:
    """Runs in a seeded random order, each taken when it still fits in the budget (one round)."""
    rng = np.random.default_rng(draw_seed)
    chosen, spent = [], 0.0
    for i in rng.permutation(len(g.candidates)):
        c = g.candidates[i]
        if spent + c.cost <= budget * (1 + 1e-12):
            chosen.append(c.key)
            spent += c.cost
    return _outcome(g, [chosen], settings)


def _outcome(g: Group, rounds: list[list[str]], settings: DesignSettings) -> Outcome:
    keys = [k for r in rounds for k in r]
    total = sum(c.cost for c in g.candidates)
    by_key = {c.key: c for c in g.candidates}
    miss, inside = score(g, keys, settings) if keys else (math.nan, math.nan)
    return Outcome(runs=rounds, cost_frac=sum(by_key[k].cost for k in keys) / total, median_miss_pct=miss,
                   inside_90=inside)


def check_budget(g: Group, settings: ReplaySettings) -> float:
    """The group's budget (F x the pool's cost); refuses one below the seed design's cost (with the
    least fraction that affords it) and a design the adaptive strategy cannot run (strategy.check_design)."""
    total = sum(c.cost for c in g.candidates)
    budget = settings.budget_frac * total
    if "adaptive" not in settings.strategies:
        return budget
    label = ", ".join(map(str, g.values.values()))
    try:
        check_design(g.candidates, g.held_compute, None, settings.design)
    except UserInputError as exc:
        raise UserInputError(f"group ({label}): {exc}") from None
    minimum = seed_cost(g.candidates)
    if budget < minimum:
        raise UserInputError(f"group ({label}): --budget-frac {settings.budget_frac:g} gives {budget:.4g}, below the "
                             f"seed design's cost {minimum:.4g}; give --budget-frac of at least {minimum / total:.3g}")
    return budget


def replay(table, settings: ReplaySettings, *, where=None, group_by=None, progress: bool = False):
    """Every strategy in every group with a held-out frontier run. Returns (replay frame: one row per
    group x strategy, the group columns then REPLAY_COLUMNS; chosen frame: one row per chosen run;
    the adaptive decisions as dicts with the group; the groups left out, one line each)."""
    settings.validate()
    found, keys, skipped = groups(table, settings, where=where, group_by=group_by)
    budgets = [check_budget(g, settings) for g in found]  # every refusal before any work
    rows, chosen, decisions = [], [], []
    bar = _bar(len(found), progress)
    for gi, (g, budget) in enumerate(zip(found, budgets)):
        for strategy in settings.strategies:
            outcomes = _run(strategy, g, gi, budget, settings, decisions)
            rows.append({**g.values, **_summary(strategy, outcomes, len(g.target_compute))})
            for draw, o in enumerate(outcomes):
                chosen.extend(_chosen_rows(g, strategy, draw, o))
        bar.update(1)
    bar.close()
    cols = list(keys) + list(REPLAY_COLUMNS)
    return pd.DataFrame(rows, columns=cols), pd.DataFrame(chosen), decisions, skipped


def _run(strategy, g: Group, gi: int, budget, settings: ReplaySettings, decisions: list) -> list[Outcome]:
    if strategy == "full":
        return [_outcome(g, [[c.key for c in g.candidates]], settings.design)]
    if strategy == "random":
        return [run_random(g, budget, settings.design, (settings.seed, gi, d)) for d in range(settings.draws)]
    return [run_adaptive(g, budget, settings.design, lambda d: decisions.append({**g.values, **d.to_dict()}))]


def _summary(strategy: str, outcomes: list[Outcome], n_targets: int) -> dict[str, Any]:
    miss = np.array([o.median_miss_pct for o in outcomes])
    ok = np.isfinite(miss)
    inside = np.array([o.inside_90 for o in outcomes])[ok]
    return {"strategy": strategy, "compute_frac": float(np.mean([o.cost_frac for o in outcomes])),
            "n_runs": float(np.mean([o.n_runs for o in outcomes])),
            "median_miss_pct": float(np.median(miss[ok])) if ok.any() else math.nan,
            "inside_90": float(np.mean(inside)) if ok.any() else math.nan, "n_targets": n_targets,
            "n_draws": len(outcomes), "n_failed": int((~ok).sum())}


def _chosen_rows(g: Group, strategy: str, draw: int, o: Outcome) -> list[dict[str, Any]]:
    show = [c for c in ("name", "arch", "upstream_dataset", "samples_seen", "gmacs_total") if c in g.pool.columns]
    out = []
    for r, keys in enumerate(o.runs):
        for k in keys:
            row = g.pool.loc[_index(g.pool, k)]
            out.append({**g.values, "strategy": strategy, "draw": draw, "round": r, "row": k,
                        **{c: row[c] for c in show}})
    return out


def _index(pool: pd.DataFrame, key: str):
    return next(i for i in pool.index if str(i) == key)


def _bar(total: int, progress: bool):
    if progress:
        import sys

        from tqdm import tqdm

        return tqdm(total=total, desc="replay", unit="group", file=sys.stderr, leave=False)
    return _NoBar()


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def averages(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per strategy: groups, mean compute fraction, runs, median miss and inside-90 over the
    groups (groups whose law could not be fitted are left out of the miss and counted in n_failed)."""
    agg = frame.groupby("strategy", sort=False).agg(
        groups=("median_miss_pct", "size"), compute_frac=("compute_frac", "mean"), n_runs=("n_runs", "mean"),
        median_miss_pct=("median_miss_pct", "mean"), inside_90=("inside_90", "mean"),
        n_failed=("median_miss_pct", lambda v: int(v.isna().sum())))
    return agg.reset_index()
