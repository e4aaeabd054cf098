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
    world: str = "full"  # the embedded world (clipscale.data.worlds) its runs train and evaluate in

    @property
    def path(self) -> Path:
        return PRESET_DIR / self.file


PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("default", "default.toml", "the README's demo: 18 runs on 2 CPU cores, law on embedded/colour"),
    Preset("smoke", "smoke.toml", "the same path in < 60 s (CI): tiny grid, no promise of a good law"),
    Preset("objects", "objects.toml", "a law on embedded/objects (ImageNet's role) in the easy-v1 world",
           world="easy-v1"),
)}


def preset_spec(name: str, out: str | Path) -> StudySpec:
    """The study spec of a demo preset, writing into `out`."""
    if name not in PRESETS:
        raise unknown("demo preset", name, PRESETS, fix="pass --preset default, smoke or objects")
    from clipscale.data.worlds import set_world

    set_world(PRESETS[name].world)  # before any run or task is built: it keys their versions
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
        e_inf = f" + {100 * law['e_inf']:.1f}%" if law.get("e_inf") else ""
        lines.append(f"law ({law['method']}, {s['fit_task']}): error = {law['beta']:.3g} * C^{law['alpha']:.3f}{e_inf}"
                     f"  (C = total GMACs), R^2 = {law['r2']:.3f} on {_fit_points(law)}")
        if law.get("backtest_mae_pct") is not None:
            lines.append(f"backtest (largest-compute runs held out): mean abs. error "
                         f"{law['backtest_mae_pct']:.2f} error-% points")
    else:
        lines.append("no law fitted: " + "; ".join(s.get("notes", [])))
    if s.get("gmacs_total_range"):
        lo, hi = s["gmacs_total_range"]
        import math

        lines.append(f"compute: {lo:.3g} to {hi:.3g} total GMACs ({math.log10(hi / lo):.2f} decades)")
    for m in outcome.missing:
        lines.append(f"missing: {m['run']} ({m['state']}{': ' + m['reason'] if m['reason'] else ''})")
    lines.append(f"wrote {outcome.out_dir / 'results.csv'}, {outcome.out_dir / 'fits.csv'}, "
                 f"{outcome.report or '(no report)'}")
    return lines


def _fit_points(law: dict) -> str:
    n, used = law.get("n_points"), law.get("n_fit_points")
    if used is not None and used == used and used != n:  # NaN-safe: frontier and paper fit a subset
        return f"{int(used)} fitted points (the frontier of {n} runs)" if law.get("method") == "frontier" \
            else f"{int(used)} fitted points of {n}"
    return f"{n} points"
