"""The embedded demo: a small but real scaling study on CPU, from packaged presets.

Presets are ordinary study specs (presets/<name>.toml) in a registry; `clipscale demo` runs one
into --out and prints the headline law, its R^2 and its backtest error (`headline`, also what
`clipscale study run` prints).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from clipscale.errors import unknown
from clipscale.study.spec import StudySpec, load_spec
from clipscale.study.store import Store
from clipscale.study.summary import BacktestFacts, BudgetFacts, LawFacts, StudySummary

PRESET_DIR = Path(__file__).resolve().parent / "presets"


@dataclass(frozen=True)
class Preset:
    name: str
    file: str
    description: str
    #: the demo's targets (clipscale.study.summary, issue 10) are checked and stated; the smoke preset
    #: promises a path, not a law; the adaptive preset, a prediction at its target (its own lines)
    targets: bool = True

    @property
    def path(self) -> Path:
        return PRESET_DIR / self.file


PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("default", "default.toml", "the README's demo: a law on embedded/objects (ImageNet's role) in the "
           "medium-v1 world, sized to a wall-time budget (10 minutes)"),
    Preset("adaptive", "adaptive.toml", "the default demo's law chosen run by run: an adaptive design "
           "(docs/design.md) picks which cool-down branches to train within the same budget (10 minutes)",
           targets=False),
    Preset("smoke", "smoke.toml", "the same path in < 60 s (CI): tiny grid, no promise of a good law",
           targets=False),
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
    """Lines that tell a reader what the study found (law, R^2, backtest, frontier, compute, budget,
    the targets missed, what is missing), read from its StudySummary."""
    from clipscale.data.worlds import active_world

    s = outcome.summary
    lines = [f"study folder: {outcome.out_dir}", f"embedded world: {active_world().name} ({active_world().description})"]
    lines += _law_lines(s) + _backtest_lines(s.backtest) + _frontier_lines(s) + _budget_lines(s.budget)
    lines += [f"target not met: {target}" for target in s.unmet or []]
    lines += [f"missing: {m['run']} ({m['state']}{': ' + m['reason'] if m['reason'] else ''})" for m in outcome.missing]
    store = Store(outcome.out_dir)
    lines.append(f"wrote {store.results_path}, {store.fits_csv}, {outcome.report or '(no report)'}")
    return lines


def _law_lines(s: StudySummary) -> list[str]:
    """The headline law in the space it was fitted in (an odds floor also as the error it sets)."""
    law = s.law
    if law and law.status == "failed":
        return [f"no law fitted on {s.dataset}: {law.message}"]
    if not law or law.alpha is None:
        return ["no law fitted: " + "; ".join(s.notes)]
    from clipscale.laws import METHODS

    form = law.form or law.method
    odds = form in METHODS and METHODS[form].space == "logodds"
    lhs = "error/(1 - error)" if odds else "error"
    floor = law.floor
    if floor is None or floor != floor or floor <= 0:  # NaN-safe
        floor = ""
    elif odds:  # an odds floor k: error levels off at k / (1 + k)
        floor = f" + {floor:.3g} (error floor {100 * floor / (1 + floor):.2f}%)"
    else:
        floor = f" + {100 * floor:.1f}%"
    name = law.method if form == law.method else f"{law.method}: {form}"
    lines = [f"law ({name}, {s.dataset}): {lhs} = {law.coef:.3g} * C^{law.alpha:.3f}{floor}"
             f"  (C = total GMACs), R^2 = {law.r2:.3f} on {_fit_points(law)}"]
    if law.backtest_mae_pct is not None and not s.backtest:
        lines.append(f"backtest (largest-compute runs held out): mean abs. error "
                     f"{law.backtest_mae_pct:.2f} error-% points")
    return lines


def _backtest_lines(bt: BacktestFacts | None) -> list[str]:
    if not bt:
        return []
    if bt.n_heldout_frontier:
        lines = [f"backtest: {bt.inside_90_frontier}/{bt.n_heldout_frontier} held-out frontier runs inside the "
                 f"frontier law's 90% interval, mean abs. error {bt.mae_frontier_pct:.2f} error-% points "
                 f"(the runs a frontier law predicts: the largest-compute runs on the compute-optimal frontier)"]
    else:
        lines = ["backtest: no held-out run on the compute-optimal frontier"]
    lines.append(f"  all {bt.n_heldout} held-out runs: mean abs. error {bt.mae_pct:.2f} error-% points, "
                 f"{bt.inside_90}/{bt.n_heldout} inside the 90% interval (runs off the frontier lie above it)")
    return lines


def _frontier_lines(s: StudySummary) -> list[str]:
    import math

    lines = []
    fr = s.frontier
    if fr:
        models = ", ".join(f"{m} ({n})" for m, n in fr.models.items())
        lines.append(f"compute-optimal frontier: {fr.n_points} points from {len(fr.models)} model(s): {models}; "
                     f"error at the largest compute {100 * fr.error_at_max_compute:.1f}%")
    if s.gmacs_total_range:
        lo, hi = s.gmacs_total_range
        lines.append(f"compute: {lo:.3g} to {hi:.3g} total GMACs ({math.log10(hi / lo):.2f} decades)")
    return lines


def _budget_lines(b: BudgetFacts | None) -> list[str]:
    if not b:
        return []
    speeds = ", ".join(f"{m} {v:,.0f}" for m, v in b.speeds_samples_per_s.items())
    lines = [f"wall time: {b.actual_s:.0f} s for a budget of {b.budget_s:.0f} s (planned "
             f"{b.predicted_s:.0f} s); measured samples/s per worker ({b.precision}): {speeds}"]
    if b.elastic_top:
        lines.append("  largest level chosen while training, to end on time (planned -> trained, samples): "
                     + ", ".join(f"{m} {v['planned']:,} -> {v['level']:,}" for m, v in b.elastic_top.items()))
    if b.observed_samples_per_s:
        lines.append("  trained at (samples/s, in the runs): " + ", ".join(
            f"{m} {v:,.0f}" for m, v in b.observed_samples_per_s.items()))
    return lines


def _fit_points(law: LawFacts) -> str:
    n, used = law.n_points, law.n_fit_points
    if used is not None and used == used and used != n:  # NaN-safe: frontier and paper fit a subset
        from clipscale.laws import METHODS

        on_frontier = law.method in METHODS and METHODS[law.method].frontier
        return f"{int(used)} fitted points (the frontier of {n} runs)" if on_frontier else f"{int(used)} fitted points of {n}"
    return f"{n} points"
