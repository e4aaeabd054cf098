"""Which of two recipes wins at scale: two fitted laws compared through their draws.

Each recipe's law comes with draws of its parameters, independent of the other recipe's
(clipscale.laws.draws: the law's bootstrap, or parametric draws for a recipe with few runs), so that
draw i of A minus draw i of B is a draw of their difference.

- `p_steeper`: whose error falls faster with compute (the more negative compute exponent alpha),
  and the fraction of draw pairs that agree;
- `p_a_better`: the fraction of draw pairs in which A's law lies below B's at a compute;
- `crossover`: where the point laws cross, with the set of computes where the central LEVEL band of
  the difference A - B holds 0 (a test inversion, like Fieller's interval for a ratio: it holds the
  true crossing as often as the band holds the true difference there); null, with the reason, when
  the laws do not cross between the smallest trained compute and BEYOND x the largest, or when that
  set is not one interval closing within SEARCH decades of it;
- `compare_laws`: all of it for one group, with a verdict a researcher can quote.

Compute is the table's compute column (total GMACs by default); errors are fractions; curves are in
the method's space (log10 error, or log10 odds for the log-odds methods), where A < B means the same.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import numpy as np

from clipscale.laws.defaults import FRONTIER_METHOD
from clipscale.laws.draws import (N_BOOT, PARAMETRIC_BELOW, LawDraws, independent_seeds, law_draws, min_runs,
                                  pair_draws)

#: the law each recipe is fitted with unless --method says otherwise: the recommended frontier method
#: (laws.defaults.FRONTIER_METHOD, its one home)
DEFAULT_METHOD = FRONTIER_METHOD
LEVEL = 0.90            # the crossover interval's and the bands' coverage
BEYOND = 10.0           # the comparison looks from the smallest trained compute to BEYOND x the largest
SEARCH = 2.0            # decades past the window, on both sides, in which the crossover's interval may close
GRID = 601              # computes on the searched log grid (about 0.015 decade apart over 9 decades)
__all__ = ["DEFAULT_METHOD", "LEVEL", "BEYOND", "SEARCH", "N_BOOT", "PARAMETRIC_BELOW", "LawDraws", "law_draws",
           "pair_draws", "min_runs", "independent_seeds", "p_steeper", "p_a_better", "crossover", "Crossover",
           "compare_laws", "Comparison", "verdict", "band_holds_zero", "difference", "window", "fmt_compute"]


def difference(a: LawDraws, b: LawDraws, compute) -> np.ndarray:
    """Draws of law A minus law B (the method's space) at `compute`, paired by index: (n, m)."""
    n = min(a.n_draws, b.n_draws)
    return a.curve(compute)[:n] - b.curve(compute)[:n]


def p_steeper(a: LawDraws, b: LawDraws) -> tuple[str, float]:
    """('a' or 'b', probability): the recipe whose point law has the more negative compute exponent
    alpha (error falls faster with compute), and the fraction of draw pairs in which it does."""
    n = min(a.n_draws, b.n_draws)
    da, db = a.alphas[:n], b.alphas[:n]
    p_a = float(np.mean(da < db) + 0.5 * np.mean(da == db))
    return ("a", p_a) if a.point["alpha"] < b.point["alpha"] else ("b", 1.0 - p_a)


def p_a_better(a: LawDraws, b: LawDraws, compute) -> np.ndarray:
    """P(A's error < B's error) at each `compute`: the fraction of draw pairs (ties count half)."""
    d = difference(a, b, compute)
    return np.mean(d < 0, axis=0) + 0.5 * np.mean(d == 0, axis=0)


def window(a: LawDraws, b: LawDraws, beyond: float = BEYOND) -> tuple[float, float]:
    """(smallest compute either recipe trained, `beyond` x the largest)."""
    both = np.concatenate([a.compute, b.compute])
    return float(both.min()), float(beyond * both.max())


def band_holds_zero(a: LawDraws, b: LawDraws, compute, level: float = LEVEL) -> np.ndarray:
    """True where the central `level` band of the draws of A - B holds 0: the computes the data
    cannot rule out as the crossing, at that level."""
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(difference(a, b, compute), [tail, 1.0 - tail], axis=0)
    return (lo <= 0.0) & (hi >= 0.0)


@dataclasses.dataclass(frozen=True)
class Crossover:
    """Where the point laws cross (compute), with the `level` interval [lo, hi]; or, when there is no
    usable crossing, None values and the `reason` (one sentence). `after` is 'a' or 'b': the recipe
    whose law is below beyond the crossing (or throughout the window when there is none)."""

    compute: float | None
    lo: float | None
    hi: float | None
    reason: str | None
    after: str
    #: "interval" (compute, lo, hi), "none" (no crossing in the window), "uncertain" (the interval is not
    #: closed inside the window), "several" (the laws cross more than once), "disagree" (no interval)
    kind: str = "interval"

    def to_dict(self) -> dict[str, float] | None:
        return None if self.compute is None or self.reason else {"compute": self.compute, "lo": self.lo, "hi": self.hi}


def crossover(a: LawDraws, b: LawDraws, *, level: float = LEVEL, beyond: float = BEYOND,
              names: Sequence[str] = ("a", "b"), unit: str = "GMACs", grid: int = GRID) -> Crossover:
    """The crossing of the two point laws inside the window (the smallest trained compute to `beyond` x
    the largest) and its `level` interval: the stretch of computes around it where the band of A - B
    holds 0 (`band_holds_zero`), searched SEARCH decades past the window on both sides. `names` label
    the recipes in the reason."""
    lo_c, hi_c = window(a, b, beyond)
    c = np.logspace(np.log10(lo_c) - SEARCH, np.log10(hi_c) + SEARCH, grid)
    d = a.curve(c, draws=False) - b.curve(c, draws=False)
    ok = band_holds_zero(a, b, c, level)
    inside = (c >= lo_c) & (c <= hi_c)
    sign = np.sign(d)
    cross = [i for i in np.flatnonzero(sign[:-1] * sign[1:] < 0) if inside[i] and inside[i + 1]]
    after = "a" if d[inside][-1] < 0 else "b"
    span = (f"between {fmt_compute(lo_c)} and {fmt_compute(hi_c)} {unit} (the smallest trained compute and "
            f"{beyond:g}x the largest)")
    if not cross:
        name = names[0] if after == "a" else names[1]
        near = _runs(ok & inside)
        band = _band_text(c, near, unit, open_ends=False)
        tail = f"; at {level:.0%} a crossing {band} cannot be ruled out" if near else ""
        return Crossover(None, None, None, f"no crossing {span}: {name}'s law is below throughout{tail}", after,
                         "none")
    if len(cross) > 1:
        at = ", ".join(fmt_compute(_root(c, d, i)) for i in cross)
        return Crossover(None, None, None, f"the laws cross {len(cross)} times {span} (at {at} {unit})", after,
                         "several")
    x0 = _root(c, d, cross[0])
    runs = _runs(ok)
    if not runs:
        return Crossover(x0, None, None, f"the laws cross at {fmt_compute(x0)} {unit}, but the draws' {level:.0%} "
                                         "band of the difference never holds 0 (the draws disagree with the "
                                         "point laws): no interval", after, "disagree")
    (s, e), = runs if len(runs) == 1 else [(0, grid - 1)]
    if s == 0 or e == grid - 1:
        return Crossover(x0, None, None, f"too uncertain: the laws cross at {fmt_compute(x0)} {unit}, but at "
                                         f"{level:.0%} the crossing may lie {_band_text(c, runs, unit)}: no "
                                         f"interval closes within {SEARCH:g} decades of the window {span}", after,
                         "uncertain")
    return Crossover(x0, float(c[s]), float(c[e]), None, after)


def _root(c: np.ndarray, d: np.ndarray, i: int) -> float:
    """The compute where d crosses 0 between grid points i and i+1 (linear in log compute)."""
    x = np.log10(c[i:i + 2])
    return float(10.0 ** (x[0] - d[i] * (x[1] - x[0]) / (d[i + 1] - d[i])))


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) index of each stretch of True in `mask`."""
    edges = np.diff(np.concatenate([[0], mask.astype(int), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1))


def _band_text(c: np.ndarray, runs, unit: str, open_ends: bool = True) -> str:
    """'below 5e12 GMACs', 'from 1e11 to 2e11 GMACs or above 8e12 GMACs': stretches of the grid c
    (with open_ends, a stretch at an end of the grid is open on that side)."""
    first, last = (0, len(c) - 1) if open_ends else (-1, -1)
    parts = []
    for s, e in runs:
        if s == first and e == last:
            parts.append("anywhere")
        elif s == first:
            parts.append(f"below {fmt_compute(c[e])} {unit}")
        elif e == last:
            parts.append(f"above {fmt_compute(c[s])} {unit}")
        else:
            parts.append(f"from {fmt_compute(c[s])} to {fmt_compute(c[e])} {unit}")
    return " or ".join(parts)


def fmt_compute(c: float) -> str:
    """2.6e11, 340, 0.091 (two significant digits, no '+')."""
    text = f"{c:.2g}"
    if "e" in text and 1e-3 <= abs(c) < 1e4:
        return f"{float(text):g}"
    return text.replace("e+", "e")


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Recipe A against recipe B on one group of runs (a downstream dataset, ...): laws, p_steeper,
    P(A better) at computes (`at`: rows of compute, where, p_a_better, error_a_pct, error_b_pct), the
    crossover and the verdict."""

    group: dict[str, Any]
    names: tuple[str, str]
    a: LawDraws
    b: LawDraws
    steeper: str
    p_steeper: float
    at: list[dict[str, Any]]
    crossover: Crossover
    verdict: str
    level: float = LEVEL
    beyond: float = BEYOND
    unit: str = "GMACs"

    def to_dict(self) -> dict[str, Any]:
        """The JSON record: group columns, a, b, steeper, p_steeper, p_a_better, crossover (or None),
        crossover_reason, verdict, laws."""
        return {**self.group, "a": self.names[0], "b": self.names[1], "method": self.a.method,
                "steeper": self.steeper, "p_steeper": self.p_steeper, "p_a_better": self.at,
                "crossover": self.crossover.to_dict(), "crossover_reason": self.crossover.reason,
                "verdict": self.verdict, "compute_unit": self.unit, "level": self.level,
                "laws": {"a": _law_record(self.a, self.level), "b": _law_record(self.b, self.level)}}


def _law_record(law: LawDraws, level: float) -> dict[str, Any]:
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(law.alphas, [tail, 1.0 - tail])
    return {"formula": law.formula, "alpha": law.point["alpha"], "alpha_lo": float(lo), "alpha_hi": float(hi),
            "n_runs": int(len(law.compute)), "n_fit_points": law.n_fit_points, "draws": law.scheme,
            "n_draws": law.n_draws}


def compare_laws(a: LawDraws, b: LawDraws, *, at: Sequence[float] = (), names: Sequence[str] = ("a", "b"),
                 group: dict[str, Any] | None = None, level: float = LEVEL, beyond: float = BEYOND,
                 unit: str = "GMACs") -> Comparison:
    """Compare two recipes' laws (draws independent of each other): steeper and p_steeper, P(A better)
    at each compute of `at`, at the largest compute either trained and at `beyond` x that (errors in
    percent at the point laws), the crossover and a verdict naming the recipes by `names`."""
    steeper, p = p_steeper(a, b)
    largest = float(max(a.compute.max(), b.compute.max()))
    where = [(float(c), "given") for c in at] + [(largest, "largest trained"),
                                                 (beyond * largest, f"{beyond:g}x largest trained")]
    c = np.array([w[0] for w in where])
    pa, ea, eb = p_a_better(a, b, c), a.error_at(c), b.error_at(c)
    rows = [{"compute": float(c[i]), "where": w, "p_a_better": float(pa[i]), "error_a_pct": float(100 * ea[i]),
             "error_b_pct": float(100 * eb[i])} for i, (_, w) in enumerate(where)]
    cross = crossover(a, b, level=level, beyond=beyond, names=names, unit=unit)
    text = verdict(tuple(names), group or {}, steeper, p, (a.point["alpha"], b.point["alpha"]), cross, rows[-1],
                   level=level, unit=unit)
    return Comparison(group=dict(group or {}), names=(names[0], names[1]), a=a, b=b, steeper=steeper,
                      p_steeper=p, at=rows, crossover=cross, verdict=text, level=level, beyond=beyond, unit=unit)


def verdict(names: tuple[str, str], group: dict[str, Any], steeper: str, p: float, alphas: tuple[float, float],
            cross: Crossover, far: dict[str, Any], *, level: float = LEVEL, unit: str = "GMACs") -> str:
    """One sentence a researcher can quote: who is steeper and how sure, where the laws cross, who is
    better at the far end of the window (`far`: a row of Comparison.at)."""
    s, o = (names[0], names[1]) if steeper == "a" else (names[1], names[0])
    if p >= 0.95:
        head = f"{s}'s error falls faster with compute than {o}'s (P = {p:.2f}"
    elif p >= 0.8:
        head = f"{s}'s error probably falls faster with compute than {o}'s (P = {p:.2f}"
    else:
        head = f"the runs cannot tell whose error falls faster with compute ({s} by the point laws, P = {p:.2f}"
    head += f"; exponents {alphas[0]:.3f} for {names[0]}, {alphas[1]:.3f} for {names[1]})"
    w, l = (names[0], names[1]) if cross.after == "a" else (names[1], names[0])
    mid = {"interval": lambda: (f"{w}'s law drops below {l}'s at {fmt_compute(cross.compute)} {unit} "
                                f"({level:.0%} interval {fmt_compute(cross.lo)} to {fmt_compute(cross.hi)})"),
           "none": lambda: f"{w}'s law is below {l}'s over the whole window, without crossing",
           "uncertain": lambda: (f"the laws cross near {fmt_compute(cross.compute)} {unit}, but where is too "
                                 "uncertain to say"),
           "several": lambda: "the laws cross more than once",
           "disagree": lambda: f"the laws cross near {fmt_compute(cross.compute)} {unit} (no interval)"}[cross.kind]()
    pa = far["p_a_better"]
    best, pb = (names[0], pa) if pa >= 0.5 else (names[1], 1.0 - pa)
    tail = (f"at {far['where']} compute ({fmt_compute(far['compute'])} {unit}) P({best} better) = {pb:.2f} "
            f"({far['error_a_pct']:.1f}% vs {far['error_b_pct']:.1f}% error)")
    where = ", ".join(str(v) for v in group.values())
    return f"{'On ' + where + ': ' if where else ''}{head}; {mid}; {tail}."
