"""The report's joint-law section: E(N, D) = floor + A/N^size_exp + B/D^data_exp as fitted by
clipscale.laws (read back from fits.json), its parameters with bootstrap intervals, and the
compute-optimal model per budget (clipscale.laws.joint_table.plan_rows, as `clipscale plan`).

Budgets: the fitted runs' compute range (smallest, geometric middle, largest) and one decade beyond
the largest, in the cost's unit x samples (total GMACs when N is per-sample GMACs or the cost is).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from clipscale.laws.allocate import chinchilla_a_opt
from clipscale.schema import EVAL_KIND_COL

LEVEL = 0.95
_SIZE = {"gmacs": "per-sample GMACs of the trained models", "parameters": "parameters"}


def budgets(fit, cost) -> np.ndarray:
    """The section's budgets: min, geometric middle and max of the runs' compute, and 10 x max."""
    run_c = cost(fit.size) * fit.data
    lo, hi = float(np.min(run_c)), float(np.max(run_c))
    return np.array([lo, float(np.sqrt(lo * hi)), hi, 10 * hi])


def joint_section(entries, points: pd.DataFrame | None = None) -> tuple[dict | None, pd.DataFrame]:
    """(the page's joint payload or None when there is no joint entry, the plan rows for a CSV).
    A law the runs do not support (report._trust: not learned yet, not identified) is one line with
    the reason, never a table; `points` (the report's) give each dataset's chance error."""
    from clipscale.laws.joint_table import joint_view, plan_rows
    from clipscale.report._trust import chance_of_points, joint_trust

    if not entries:
        return None, pd.DataFrame()
    laws, failed, frames = [], [], []
    for entry in entries:
        label = _label(entry.group)
        if not entry.ok:
            failed.append(f"Joint law E(N, D) of {label}: not fitted ({entry.message}).")
            continue
        fit = entry.fit
        ds = entry.group.get("downstream_dataset")
        mine = points[points["downstream_dataset"] == str(ds)] if points is not None and ds is not None else None
        verdict = joint_trust(fit, chance_of_points(mine) if mine is not None and len(mine) else None)
        if not verdict.ok:
            failed.append(verdict.line(f"Joint law E(N, D) of {label} ({fit.n_points} runs)")
                          + ". Its parameters and budgets are not tabulated.")
            continue
        view = joint_view(entry)
        rows = plan_rows([view], budgets(fit, view["cost"]), LEVEL)
        frames.append(pd.DataFrame(rows))
        pct = not entry.error_col  # an error column given as such is any positive loss, not a fraction
        laws.append({"title": label, "formula": fit.formula(),
                     "definition": _definition(fit, view["cost_unit"], pct),
                     "params": _params(fit), "plan": _plan(rows, pct, fit.size_unit, view["cost_unit"]),
                     "notes": list(fit.notes) + sorted({r["note"] for r in rows if r.get("note")})
                     + _caveats(fit, rows, pct)})
    plan = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return {"laws": laws, "failed": failed}, plan


def _label(group: dict) -> str:
    """'embedded/objects (zero-shot)', 'embedded/objects · fine-tune', or the group's values."""
    from clipscale.report._data import EVAL_LABELS, panel_name

    ds, kind = group.get("downstream_dataset"), group.get(EVAL_KIND_COL)
    rest = [str(v) for k, v in group.items() if k not in ("downstream_dataset", EVAL_KIND_COL)]
    zero_shot = EVAL_LABELS.get(str(kind)) == "zero-shot"
    name = "" if ds is None else panel_name(ds, kind) + (" (zero-shot)" if zero_shot else "")
    return ", ".join([n for n in [name] + rest if n]) or "all runs"


def _definition(fit, cost_unit: str, pct: bool) -> str:
    size = _SIZE.get(fit.size_unit, fit.size_unit)
    budget = "C = N x D, total GMACs" if fit.size_unit == "gmacs" and cost_unit.startswith("N") \
        else f"C = cost(N) x D (cost: {cost_unit})"
    err = "E = error as a fraction (shown in %)" if pct else "E = the fitted error column"
    return (f"N = {size}, D = {fit.data_unit}; {err}; budget {budget}. Fitted on {fit.n_points} runs "
            f"(Huber delta {fit.delta:g} on log E, {fit.n_starts:,} starts); intervals: {fit.n_boot} bootstrap "
            f"resamples of the runs, {LEVEL:.0%}.")


def _params(fit) -> dict:
    rows = []
    for name in ("floor", "A", "size_exp", "B", "data_exp"):
        lo, hi = fit.ci.get(name, (None, None))
        rows.append([name, getattr(fit, name), lo, hi])
    rows.append(["a_opt = data_exp / (size_exp + data_exp)", chinchilla_a_opt(fit.size_exp, fit.data_exp), None, None])
    return {"columns": ["parameter", "value", f"{LEVEL:.0%} lo", f"{LEVEL:.0%} hi"], "rows": rows}


def _caveats(fit, rows: list[dict], pct: bool) -> list[str]:
    """What a reader should know before trusting the numbers (identifiability, the range of E)."""
    out = []
    sizes = np.unique(fit.size)
    span = float(np.log10(sizes.max() / sizes.min())) if len(sizes) > 1 else 0.0
    if len(sizes) < 4 or span < 1.5:
        out.append(f"the runs have {len(sizes)} model size(s) spanning {span:.1f} decade(s) of N: A and size_exp "
                   "are weakly identified (wide intervals), and N_opt beyond the trained sizes is a guess")
    if fit.floor < 1e-3 * float(np.min(fit.error)):
        out.append("the floor is ~0: these runs show no error floor")
    if pct and any(max(r.get("E_opt_hi", 0), r.get("E_pred_hi", 0)) > 1 for r in rows):
        out.append("an interval reaching 100% error is shown capped at 100%: no better than chance there")
    return out


def _g(v, scale: float = 1.0) -> str:
    """3 significant digits; an error in percent (scale 100) is capped at 100."""
    if v is None or not np.isfinite(v):
        return ""
    return f"{min(v * scale, 100.0) if scale == 100.0 else v * scale:.3g}"


def _plan(rows: list[dict], pct: bool, size_unit: str, cost_unit: str) -> dict:
    s = 100.0 if pct else 1.0
    unit = " (%)" if pct else ""
    out = []
    for r in rows:
        extra = r["extrapolation_decades"]
        out.append([r["budget"], r["N_opt"], f"{_g(r['N_opt_lo'])} – {_g(r['N_opt_hi'])}", r["D_opt"],
                    f"{_g(r['D_opt_lo'])} – {_g(r['D_opt_hi'])}", min(r["E_opt"], 1.0) * s if pct else r["E_opt"],
                    f"{_g(r['E_opt_lo'], s)} – {_g(r['E_opt_hi'], s)}",
                    f"{_g(r.get('E_pred_lo'), s)} – {_g(r.get('E_pred_hi'), s)}" if "E_pred_lo" in r else "",
                    r.get("nearest_arch", ""),
                    f"yes, {extra:.2f} decade(s) outside the runs" if extra > 0 else "no"])
    total = size_unit == "gmacs" and cost_unit.startswith("N") or cost_unit.startswith("per-sample cost (GMACs)")
    n_unit = "GMACs per sample" if size_unit == "gmacs" else size_unit
    cols = [f"budget C ({'total GMACs' if total else 'cost x samples'})", f"N_opt ({n_unit})", "N_opt 95%",
            "D_opt (samples)", "D_opt 95%", f"predicted error{unit}",
            f"law 95%{unit}", f"a new run 95%{unit}", "nearest trained model", "extrapolation"]
    return {"columns": cols, "rows": out}
