"""The embedded demo: a small but real scaling study on CPU, from packaged presets.

Presets are ordinary study specs (presets/<name>.toml) in a registry; `clipscale demo` runs one
into --out and prints the headline law, its R^2 and its backtest error.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from clipscale.errors import unknown
from clipscale.study.spec import StudySpec, load_spec

PRESET_DIR = Path(__file__).resolve().parent / "presets"


@dataclass(frozen=True)
class Preset:
    name: str
    file: str
    description: str

    @property
    def path(self) -> Path:
        return PRESET_DIR / self.file


PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("default", "default.toml", "the README's demo: a law on embedded/objects (ImageNet's role) in the "
           "medium-v1 world, sized to a wall-time budget (10 minutes)"),
    Preset("smoke", "smoke.toml", "the same path in < 60 s (CI): tiny grid, no promise of a good law"),
    Preset("colour", "colour.toml", "the first demo: 18 fixed runs of the BPE ladder in the full world; "
           "only colour is learned (a law on embedded/colour)"),
    Preset("objects", "objects.toml", "the easy-v1 world's fixed grid (48 classes; measured a phase change)"),
)}


def preset_spec(name: str, out: str | Path) -> StudySpec:
    """The study spec of a demo preset, writing into `out`."""
    if name not in PRESETS:
        raise unknown("demo preset", name, PRESETS, fix="pass --preset " + ", ".join(PRESETS))
    return load_spec(PRESETS[name].path, out=Path(out).resolve())


def headline(outcome) -> list[str]:
    """Lines that tell a reader what the demo found (law, R^2, backtest, what is missing)."""
    s = outcome.summary
    from clipscale.data.worlds import active_world

    lines = [f"study folder: {outcome.out_dir}", f"embedded world: {active_world().name} ({active_world().description})"]
    law = s.get("law")
    if law and law.get("status") == "failed":
        lines.append(f"no law fitted on {s['fit_task']}: {law.get('message')}")
    elif law and law.get("alpha") is not None:
        from clipscale.laws import METHODS

        odds = law["method"] in METHODS and METHODS[law["method"]].space == "logodds"
        lhs = "error/(1 - error)" if odds else "error"
        e_inf = law.get("e_inf")
        if e_inf is None or e_inf != e_inf or e_inf <= 0:  # NaN-safe
            e_inf = ""
        elif odds:  # an odds floor k: error levels off at k / (1 + k)
            e_inf = f" + {e_inf:.3g} (error floor {100 * e_inf / (1 + e_inf):.2f}%)"
        else:
            e_inf = f" + {100 * e_inf:.1f}%"
        lines.append(f"law ({law['method']}, {s['fit_task']}): {lhs} = {law['beta']:.3g} * C^{law['alpha']:.3f}{e_inf}"
                     f"  (C = total GMACs), R^2 = {law['r2']:.3f} on {_fit_points(law)}")
        if law.get("backtest_mae_pct") is not None:
            if not s.get("backtest"):
                lines.append(f"backtest (largest-compute runs held out): mean abs. error "
                             f"{law['backtest_mae_pct']:.2f} error-% points")
    else:
        lines.append("no law fitted: " + "; ".join(s.get("notes", [])))
    bt = s.get("backtest")
    if bt:
        lines.append(f"backtest: {bt['n_heldout']} largest-compute runs held out, mean abs. error "
                     f"{bt['mae_pct']:.2f} error-% points, {bt['inside_90']}/{bt['n_heldout']} inside the "
                     f"law's 90% prediction interval")
        if bt.get("n_heldout_frontier"):
            lines.append(f"  of them on the compute-optimal frontier (what a frontier law predicts): "
                         f"{bt['n_heldout_frontier']}, mean abs. error {bt['mae_frontier_pct']:.2f} points, "
                         f"{bt['inside_90_frontier']}/{bt['n_heldout_frontier']} inside the 90% interval")
    fr = s.get("frontier") or {}
    if fr:
        models = ", ".join(f"{m} ({n})" for m, n in fr["models"].items())
        lines.append(f"compute-optimal frontier: {fr['n_points']} points from {len(fr['models'])} model(s): {models}; "
                     f"error at the largest compute {100 * fr['error_at_max_compute']:.1f}%")
    if s.get("gmacs_total_range"):
        lo, hi = s["gmacs_total_range"]
        import math

        lines.append(f"compute: {lo:.3g} to {hi:.3g} total GMACs ({math.log10(hi / lo):.2f} decades)")
    b = s.get("budget")
    if b:
        speeds = ", ".join(f"{m} {v:,.0f}" for m, v in b["speeds_samples_per_s"].items())
        lines.append(f"wall time: {b['actual_s']:.0f} s for a budget of {b['budget_s']:.0f} s (planned "
                     f"{b['predicted_s']:.0f} s); measured samples/s per worker ({b['precision']}): {speeds}")
        if b.get("elastic_top"):
            lines.append("  largest level chosen while training, to end on time (planned -> trained, samples): "
                         + ", ".join(f"{m} {v['planned']:,} -> {v['level']:,}" for m, v in b["elastic_top"].items()))
        if b.get("observed_samples_per_s"):
            lines.append("  trained at (samples/s, in the runs): " + ", ".join(
                f"{m} {v:,.0f}" for m, v in b["observed_samples_per_s"].items()))
    for target in s.get("unmet", []):
        lines.append(f"target not met: {target}")
    for m in outcome.missing:
        lines.append(f"missing: {m['run']} ({m['state']}{': ' + m['reason'] if m['reason'] else ''})")
    lines.append(f"wrote {outcome.out_dir / 'results.csv'}, {outcome.out_dir / 'fits.csv'}, "
                 f"{outcome.report or '(no report)'}")
    return lines


def unmet_targets(summary: dict) -> list[str]:
    """The demo's targets (issue 10) that this study's summary does not meet, each in words."""
    import math

    out = []
    fr, law, bt, b = summary.get("frontier") or {}, summary.get("law") or {}, summary.get("backtest"), \
        summary.get("budget")
    if fr and fr["error_at_max_compute"] > 0.5:
        out.append(f"error at the largest compute {100 * fr['error_at_max_compute']:.1f}% > 50%")
    lo_hi = summary.get("gmacs_total_range")
    if lo_hi and math.log10(lo_hi[1] / lo_hi[0]) < 2:
        out.append(f"compute spans {math.log10(lo_hi[1] / lo_hi[0]):.2f} < 2 decades")
    if fr and len(fr["models"]) < 3:
        out.append(f"{len(fr['models'])} model size(s) on the frontier < 3")
    if fr and fr["n_points"] < 6:
        out.append(f"{fr['n_points']} frontier points < 6")
    r2 = law.get("r2")
    if r2 is None or not r2 == r2 or r2 < 0.95:
        out.append(f"frontier law R^2 {r2 if r2 is None else round(r2, 3)} < 0.95")
    if not bt:
        out.append("no backtest")
    else:
        if bt["mae_pct"] > 3:
            out.append(f"backtest mean abs. error {bt['mae_pct']:.1f} > 3 error-% points")
        if bt["inside_90"] < bt["n_heldout"]:
            out.append(f"only {bt['inside_90']}/{bt['n_heldout']} held-out runs inside the 90% interval")
    if b and abs(b["actual_s"] / b["budget_s"] - 1) > 0.10:
        out.append(f"wall time {b['actual_s']:.0f} s is not within 10% of the {b['budget_s']:.0f} s budget")
    return out


def _fit_points(law: dict) -> str:
    n, used = law.get("n_points"), law.get("n_fit_points")
    if used is not None and used == used and used != n:  # NaN-safe: frontier and paper fit a subset
        from clipscale.laws import METHODS

        on_frontier = law.get("method") in METHODS and METHODS[law["method"]].frontier
        return f"{int(used)} fitted points (the frontier of {n} runs)" if on_frontier else f"{int(used)} fitted points of {n}"
    return f"{n} points"
