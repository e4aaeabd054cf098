"""The report's answer, stated before anything else: what error to expect at the next scale.

For the plot shown first (the headline dataset), per group of runs:

- the recommended frontier law (laws.defaults.FRONTIER_METHOD) at the largest run's compute and at
  STEP x it: the predicted best error with its ANSWER_LEVEL interval (laws.calibrate.new_run_interval),
  the law's form and formula, or, when the runs do not support a law (report._trust), why not;
- the recommended per-run law (laws.defaults.PER_RUN_LAW, laws.perrun_laws) for the next model up:
  one ladder step above the largest model trained (its size x the last step's ratio, N in GMACs per
  sample), trained for the largest model's samples seen D (and its unique samples U);
- the held-out backtest (laws.heldout, target 'frontier'): k of n held-out frontier runs inside the
  90% interval, and the coverage at each nominal level (the page's reliability plot).

Errors are fractions here and percent with one decimal on the page; compute is total GMACs.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from clipscale.errors import ClipscaleError
from clipscale.laws.defaults import FRONTIER_METHOD, PER_RUN_LAW
from clipscale.laws.split import Holdout
from clipscale.laws.trust import learned
from clipscale.report._trust import chance_of_points, clip_error, frontier_trust, perrun_boot, perrun_trust
from clipscale.schema import EVAL_KIND_COL

#: the interval the answer states (the level issue 23's acceptance is measured at)
ANSWER_LEVEL = 0.9
#: the second compute the answer predicts at: this many times the largest run's
STEP = 10.0
#: the backtest's split when the caller gives none: the runs above the 80th compute percentile held
#: out (issue 23's measurement on the paper's data)
DEFAULT_HOLDOUT = Holdout(top_frac=0.2)


def pct1(v) -> str:
    """An error fraction as a percent with one decimal ('12.3%'); '' when not a number."""
    return f"{100 * float(v):.1f}%" if v is not None and math.isfinite(float(v)) else ""


def sig3(v) -> str:
    """A positive number with 3 significant digits: '958', '2,190', '0.0446', '3.52e+07'."""
    if v is None or not math.isfinite(float(v)) or float(v) == 0:
        return "" if v is None or not math.isfinite(float(v)) else "0"
    v = float(f"{float(v):.3g}")
    if not 1e-3 <= abs(v) < 1e6:
        return f"{v:.2e}"
    decimals = max(0, 2 - math.floor(math.log10(abs(v))))
    return f"{v:,.{decimals}f}"


def group_points(points: pd.DataFrame, panel: str, group: str) -> pd.DataFrame:
    """The panel's points of one law's group (its label is a `group` value, or 'all')."""
    sub = points[points["panel"] == panel]
    return sub[sub["group"] == group] if group in set(sub["group"]) else sub


def answer(results, points: pd.DataFrame, fitset, panel: str, *, holdout: Holdout | None, n_boot: int,
           seed: int) -> dict:
    """The answer for `panel` (JSON-ready): 'frontier' (one entry per group), 'perrun' (per group),
    'backtest' (k of n inside, coverage per level, the held-out rows) and the settings used."""
    groups = sorted(set(points.loc[points["panel"] == panel, "group"]),
                    key=lambda g: -int((points.loc[points["panel"] == panel, "group"] == g).sum()))
    laws = fitset.laws.get(panel, {}).get(FRONTIER_METHOD, {})
    labels = [g for g in groups if g in laws] + [g for g in laws if g not in groups] or groups
    return {"panel": panel, "method": FRONTIER_METHOD, "perrun_law": PER_RUN_LAW, "level": ANSWER_LEVEL,
            "step": STEP,
            "frontier": [frontier_answer(points, fitset, panel, g, n_boot, seed) for g in labels],
            "perrun": [next_model_answer(group_points(points, panel, g), g, n_boot, seed) for g in labels],
            "backtest": backtest_answer(results, points, panel, holdout or DEFAULT_HOLDOUT, n_boot, seed),
            "backtest_runs": backtest_answer(results, points, panel, holdout or DEFAULT_HOLDOUT, n_boot, seed,
                                             target="runs")}


def frontier_answer(points, fitset, panel: str, group: str, n_boot: int, seed: int) -> dict:
    """The recommended frontier law of one group at its largest run and STEP x it."""
    sub = group_points(points, panel, group)
    out: dict = {"group": group, "n_runs": int(len(sub))}
    if not len(sub):
        return {**out, "status": "no runs", "reason": "no run of this group is in the table"}
    top = sub.loc[sub["compute"].idxmax()]
    out.update(largest_run=str(top["name"]), largest_compute=float(top["compute"]), largest_error=float(top["error"]))
    result = fitset.results.get((panel, FRONTIER_METHOD, group))
    if result is None:
        result, failed = _fit_here(sub, n_boot, seed)
        if result is None:
            return {**out, "status": "no fit", "reason": failed}
        out["fitted_here"] = True
    verdict = frontier_trust(result, sub)
    out.update(status=verdict.status, reason=verdict.reason, form=result.method, formula=result.formula(),
               n_fit_points=int(result.n_fit_points or result.n_points),
               choice=result.notes[0] if result.chosen_from and result.notes else "")
    if not verdict.ok:
        return out
    from clipscale.laws.calibrate import new_run_interval

    c = np.array([out["largest_compute"], STEP * out["largest_compute"]])
    try:
        lo, hi = new_run_interval(result, c, ANSWER_LEVEL)
    except ClipscaleError as exc:  # e.g. a law read from a fit table: no bootstrap, no interval
        return {**out, "status": "no interval", "reason": str(exc)}
    out["at"] = [{"compute": float(ci), "error": e, "lo": a, "hi": b}
                 for ci, e, a, b in zip(c, clip_error(result.predict(c)), clip_error(lo), clip_error(hi))]
    return out


def _fit_here(sub: pd.DataFrame, n_boot: int, seed: int):
    """(the recommended frontier law fitted on `sub`, None) or (None, why not): the caller's fits
    did not include it."""
    from clipscale.laws.recommended import fit_law

    try:
        return fit_law(sub["compute"].to_numpy(float), sub["error"].to_numpy(float), FRONTIER_METHOD,
                       n_boot=n_boot, seed=seed), ""
    except ClipscaleError as exc:
        return None, str(exc)


def next_model_answer(sub: pd.DataFrame, group: str, n_boot: int, seed: int) -> dict:
    """The recommended per-run law's prediction for one ladder step above the largest model of `sub`
    (N = GMACs per sample = compute / samples seen), or why there is none."""
    from clipscale.laws import perrun_laws

    law = perrun_laws.get(PER_RUN_LAW)
    out: dict = {"group": group, "law": law.name, "summary": law.summary}
    sub = sub[np.isfinite(sub["samples_seen"]) & (sub["samples_seen"] > 0)]
    if not len(sub):
        return {**out, "status": "no samples seen", "reason": "the table has no samples_seen column (or no value in "
                                                               "it): N and D cannot be told apart"}
    n = (sub["compute"] / sub["samples_seen"]).to_numpy(float)
    sizes = np.unique(np.round(n, 12))
    if len(sizes) < 2:
        return {**out, "status": "one model size", "reason": "every run has the same model size: no ladder step to "
                                                              "extrapolate"}
    d, e = sub["samples_seen"].to_numpy(float), sub["error"].to_numpy(float)
    u = sub["unique"].to_numpy(float) if law.uses_unique and np.isfinite(sub["unique"]).all() else None
    biggest = np.isclose(n, sizes[-1])
    last = int(np.argmax(np.where(biggest, d, -np.inf)))
    out.update(size=float(sizes[-1] * sizes[-1] / sizes[-2]), step=float(sizes[-1] / sizes[-2]),
               largest_size=float(sizes[-1]), samples=float(d[last]),
               unique=None if u is None else float(u[last]))
    first = learned(e, chance_of_points(sub))
    if not first.ok:
        return {**out, "status": first.status, "reason": first.reason}
    try:
        model = law.fit(n, d, e, u, n_boot=perrun_boot(law, n_boot), seed=seed)
        verdict = perrun_trust(model, n, d, e, chance_of_points(sub))
        out.update(status=verdict.status, reason=verdict.reason)
        if verdict.ok:
            args = (np.array([out["size"]]), np.array([out["samples"]]), None if u is None else np.array([u[last]]))
            lo, hi = model.predict_interval(*args, level=ANSWER_LEVEL)
            out.update(error=clip_error(model.predict(*args))[0], lo=clip_error(lo)[0], hi=clip_error(hi)[0],
                       extrapolation_decades=float(model.extrapolation_decades(*args[:2])[0]))
    except ClipscaleError as exc:
        out.update(status="no fit", reason=str(exc))
    return out


def panel_rows(results: pd.DataFrame, points: pd.DataFrame, panel: str) -> pd.DataFrame:
    """The results rows behind one panel: its downstream dataset (and evaluation kind)."""
    sub = points[points["panel"] == panel]
    rows = results[results["downstream_dataset"].astype(str) == str(sub["downstream_dataset"].iloc[0])]
    kinds = set(sub[EVAL_KIND_COL])
    if EVAL_KIND_COL in rows.columns and kinds != {""}:
        rows = rows[rows[EVAL_KIND_COL].astype(str).isin(kinds)]
    if "run" in rows.columns and rows["run"].notna().all():  # a study names every checkpoint epoch_1.pt
        rows = rows.assign(name=rows["run"].astype(str))
    return rows


def backtest_answer(results, points, panel: str, holdout: Holdout, n_boot: int, seed: int,
                    target: str = "frontier") -> dict:
    """laws.heldout's backtest of the panel's runs: `target` 'frontier' (the held-out frontier runs,
    the recommended frontier law) or 'runs' (every held-out run, the recommended per-run law): k of n
    inside the ANSWER_LEVEL interval, coverage at each nominal level, the held-out rows (backtest.csv's)."""
    from clipscale.laws.heldout import LEVELS, backtest_heldout

    out: dict = {"holdout": holdout.describe(), "levels": list(LEVELS), "target": target,
                 "law": FRONTIER_METHOD if target == "frontier" else PER_RUN_LAW}
    if not isinstance(results, pd.DataFrame) or not len(points[points["panel"] == panel]):
        return {**out, "status": "no runs", "reason": "no results to hold out"}
    if target == "runs":
        from clipscale.laws import perrun_laws

        n_boot = perrun_boot(perrun_laws.get(PER_RUN_LAW), n_boot)
    try:
        held = backtest_heldout(panel_rows(results, points, panel), target=target, holdout=holdout,
                                method=out["law"], n_boot=n_boot, seed=seed)
    except ClipscaleError as exc:
        return {**out, "status": "no backtest", "reason": str(exc)}
    total = held.summary().iloc[-1]
    n = int(total["n"])
    out.update(status="ok", n=n, skipped=held.skipped,
               inside=int(round(total[f"inside_{round(100 * ANSWER_LEVEL)}"] * n)),
               coverage=[float(total[f"inside_{round(100 * lev)}"]) for lev in LEVELS],
               miss_median_pct=float(total["miss_median"]), width90_median_pct=float(total["width90_median"]),
               rows=held.csv_frame())
    return out
