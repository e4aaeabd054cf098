"""An adaptive study's design in the report (clipscale.study.adaptive, docs/design.md "Live").

`design_section(records, units, out_dir)` writes figures/design_rounds.png (the law's 90% prediction
interval at each target, with its prediction, after every decision, against the budget spent then)
and design_units.csv (every candidate run: the round that chose it, its state, or "not chosen"), and
returns the report's HTML section: the figure, the decisions and the candidates never trained.
Errors in percent; compute in total GMACs; the budget in its own unit (worker-seconds or total GMACs).
"""
from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Sequence

import pandas as pd

from clipscale._io import atomic_write_with

_NOT_CHOSEN = "not chosen"


def rounds_figure(records: Sequence[dict], path: Path) -> Path | None:
    """The interval at each target after each decision against the budget spent (PNG at `path`);
    None when no decision has an interval yet."""
    shown = [r for r in records if r.get("interval_pct")]
    if not shown:
        return None
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    unit = _unit(records)
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for t, target in enumerate(records[-1]["target_compute"]):
        x = [r["spent"] for r in shown]
        lo = [r["interval_pct"][t][0] for r in shown]
        hi = [r["interval_pct"][t][1] for r in shown]
        colour = f"C{t}"
        ax.fill_between(x, lo, hi, color=colour, alpha=0.15, lw=0)
        ax.vlines(x, lo, hi, color=colour, lw=2)
        mid = [(r.get("predicted_pct") or [None] * (t + 1))[t] for r in shown]
        if all(m is not None for m in mid):
            ax.plot(x, mid, "o-", color=colour, ms=4, lw=1, label=f"target {target:.3g} GMACs")
    ax.axvline(records[-1]["budget"], color="#777777", ls=":", lw=1, label="budget (last decision)")
    ax.set_xlabel(f"budget spent when deciding ({unit})")
    ax.set_ylabel("error at the target (%)")
    ax.set_title("the law's 90% prediction interval at the target, after each decision", fontsize=10)
    ax.grid(True, alpha=0.25)
    ax.legend(fontsize=7, loc="best")
    try:
        return atomic_write_with(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight"))
    finally:
        plt.close(fig)


def design_section(records: Sequence[dict], units: pd.DataFrame, out_dir) -> tuple[str, list[Path]]:
    """(the report's HTML section, the files written) of an adaptive design: `records` are its
    design.jsonl lines, `units` one row per candidate (run, state, round, arch, samples_seen,
    compute_gmacs)."""
    out = Path(out_dir)
    csv = atomic_write_with(out / "design_units.csv", lambda tmp: units.to_csv(tmp, index=False))
    figure = rounds_figure(records, out / "figures" / "design_rounds.png")
    unit = _unit(records)
    last = records[-1] if records else {}
    never = units[units["state"] == _NOT_CHOSEN]
    parts = ['<section id="design-section">\n<h2>Adaptive design: which runs were trained, and why</h2>',
             f'<p class="note">{len(units) - len(never)} of {len(units)} candidate runs chosen in {len(records)} '
             f'decisions; spent {last.get("spent", 0):.4g} of {last.get("budget", 0):.4g} {unit}'
             + (f"; stopped: {html.escape(str(last['stop']))}" if last.get("stop") else "") + ". Each decision "
             f"(design.jsonl) saw the results of the runs finished by then; the interval is the headline law's "
             f"({html.escape(str(last.get('method', '')))}) 90% prediction interval at the target, fitted to those "
             f"results.</p>"]
    if figure is not None:
        data = base64.b64encode(figure.read_bytes()).decode("ascii")
        parts.append(f'<p><img alt="interval at the target after each decision" src="data:image/png;base64,{data}" '
                     f'style="max-width:100%"></p>')
    rows = "".join(f"<tr><td>{r['round']}</td><td>{html.escape(r['phase'])}</td>"
                   f"<td>{html.escape(', '.join(r['chosen']) or '-')}</td><td>{r['spent']:.4g}</td>"
                   f"<td>{_interval(r)}</td></tr>" for r in records)
    parts.append('<h3>Decisions</h3>\n<div class="table-box"><table><thead><tr><th>round</th><th>phase</th>'
                 f"<th>chosen</th><th>spent ({unit})</th><th>90% interval at the target (%)</th></tr></thead>"
                 f"<tbody>{rows}</tbody></table></div>")
    rows = "".join(f"<tr><td>{html.escape(str(r.run))}</td><td>{html.escape(str(r.arch))}</td>"
                   f"<td>{int(r.samples_seen):,}</td><td>{r.compute_gmacs:.4g}</td></tr>" for r in never.itertuples())
    parts.append(f"<h3>Never trained ({len(never)})</h3>\n"
                 + ('<div class="table-box"><table><thead><tr><th>candidate</th><th>model</th><th>samples seen</th>'
                    f"<th>compute (total GMACs)</th></tr></thead><tbody>{rows}</tbody></table></div>" if len(never)
                    else "<p>Every candidate was trained.</p>"))
    return "\n".join(parts) + "\n</section>", [csv] + ([figure] if figure is not None else [])


def _unit(records: Sequence[dict]) -> str:
    return "worker-seconds" if records and records[-1].get("cost_unit") == "s" else "total GMACs"


def _interval(record: dict) -> str:
    if not record.get("interval_pct"):
        return "-"
    return "; ".join(f"{lo:.2f}-{hi:.2f}" for lo, hi in record["interval_pct"])
