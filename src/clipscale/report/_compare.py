"""Two recipes compared (clipscale.laws.compare): the files, the figure and the report's section.

`write_comparison(comparisons, out_dir)` writes compare.json (one object per dataset, as
`clipscale compare --json` prints), compare.csv (one row per dataset x compute), one figure per
dataset (figures/compare_<dataset>.png: both laws with their bands and runs, the crossover and its
interval; below, P(A better) against compute) and compare.html, a page holding `comparison_section`,
the HTML the report includes. Errors in percent, compute in the table's unit (total GMACs).
"""
from __future__ import annotations

import base64
import html
from importlib import resources
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from clipscale._io import atomic_write_json, atomic_write_text, atomic_write_with
from clipscale.report._figures import slug

_COLOURS = ("#c0392b", "#1f4e9c")  # recipe A, recipe B
_FIGURE_POINTS = 200


def comparison_frame(comparisons: Sequence) -> pd.DataFrame:
    """compare.csv: one row per comparison x compute (group columns, recipes, steeper, p_steeper,
    crossover and its interval or reason, the compute, P(A better) there, both errors in percent)."""
    rows = []
    for c in comparisons:
        x = c.crossover.to_dict() or {}
        head = {**c.group, "a": c.names[0], "b": c.names[1], "method": c.a.method, "steeper": c.steeper,
                "p_steeper": c.p_steeper, "crossover": x.get("compute"), "crossover_lo": x.get("lo"),
                "crossover_hi": x.get("hi"), "crossover_reason": c.crossover.reason}
        rows += [{**head, **r, "verdict": c.verdict} for r in c.at]
    return pd.DataFrame(rows)


def _pct(error) -> np.ndarray:
    """Error fractions as percent, drawn no higher than 100%: a power law in error passes 100% below
    the compute of its first runs (near chance), where no run can land."""
    return 100 * np.minimum(np.asarray(error, dtype=float), 1.0)


def comparison_figure(c, path: Path) -> Path:
    """The figure of one comparison as PNG at `path`."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    from clipscale.laws.compare import p_a_better, window

    lo, hi = window(c.a, c.b, c.beyond)
    grid = np.logspace(np.log10(lo), np.log10(hi), _FIGURE_POINTS)
    tail = (1.0 - c.level) / 2.0
    fig, (ax, axp) = plt.subplots(2, 1, figsize=(6.4, 5.6), sharex=True, gridspec_kw={"height_ratios": [3, 1.3]})
    for law, name, colour, marker, z in ((c.b, c.names[1], _COLOURS[1], "s", 3),
                                         (c.a, c.names[0], _COLOURS[0], "o", 4)):  # A's runs on top
        band = _pct(np.quantile(law.error_at(grid, draws=True), [tail, 1.0 - tail], axis=0))
        ax.fill_between(grid, band[0], band[1], color=colour, alpha=0.15, lw=0)
        ax.plot(grid, _pct(law.error_at(grid)), color=colour, lw=1.6, label=f"{name}: {law.formula}")
        ax.scatter(law.compute, 100 * law.error, s=22, color=colour, marker=marker, edgecolors="white",
                   linewidths=0.6, zorder=z, label=f"{name}: {len(law.compute)} runs")
    x = c.crossover
    if x.to_dict():
        for axis in (ax, axp):
            axis.axvspan(x.lo, x.hi, color="#888888", alpha=0.18, lw=0)
            axis.axvline(x.compute, color="#444444", lw=0.9, ls="--")
        ax.plot([], [], color="#444444", ls="--", label=f"crossover, {c.level:.0%} interval shaded")
    axp.plot(grid, p_a_better(c.a, c.b, grid), color="#111111", lw=1.4)
    axp.axhline(0.5, color="#999999", lw=0.8, ls=":")
    axp.set_ylim(-0.02, 1.02)
    axp.set_ylabel(f"P({c.names[0]} better)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _pos: f"{v:g}" if f"{v:g}"[0] in "235" else ""))
    ax.set_ylabel("error (%)")
    ax.set_title(", ".join(map(str, c.group.values())) or "all rows", fontsize=10)
    ax.legend(fontsize=7, loc="best")
    axp.set_xlabel(f"compute C ({c.unit}); bands: {c.level:.0%} of each law's draws")
    for axis in (ax, axp):
        axis.grid(True, which="both", alpha=0.25)
    try:
        return atomic_write_with(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight"))
    finally:
        plt.close(fig)


def comparison_section(comparisons: Sequence, figures: dict[int, Path] | None = None) -> str:
    """The report's HTML section: per comparison its verdict, P(A better) table and figure (PNG
    embedded as a data URI: the report's page fetches nothing)."""
    if not comparisons:
        return ""
    first = comparisons[0]
    a, b = map(html.escape, first.names)
    parts = [f'<section id="compare-section">\n<h2>Which recipe wins at scale: {a} vs {b}</h2>',
             f'<p class="note">Each recipe\'s law ({html.escape(first.a.method)}) with its draws; P = the fraction '
             f'of draw pairs (drawn independently per recipe) that agree. Crossover interval: the computes where '
             f'the central {first.level:.0%} band of the difference of the two laws holds 0. Compute in '
             f'{html.escape(first.unit)}; errors in percent.</p>']
    for i, c in enumerate(comparisons):
        title = html.escape(", ".join(map(str, c.group.values())) or "all rows")
        rows = "".join(f"<tr><td>{r['compute']:.3g}</td><td>{html.escape(r['where'])}</td>"
                       f"<td>{r['p_a_better']:.2f}</td><td>{r['error_a_pct']:.1f}</td>"
                       f"<td>{r['error_b_pct']:.1f}</td></tr>" for r in c.at)
        parts.append(f"<h3>{title}</h3>\n<p><strong>{html.escape(c.verdict)}</strong></p>\n"
                     f'<div class="table-box"><table><thead><tr><th>compute</th><th>where</th><th>P({a} better)</th>'
                     f"<th>{a} error %</th><th>{b} error %</th></tr></thead><tbody>{rows}</tbody></table></div>")
        if figures and i in figures:
            data = base64.b64encode(Path(figures[i]).read_bytes()).decode("ascii")
            parts.append(f'<p><img alt="{title}: both laws and P({a} better)" '
                         f'src="data:image/png;base64,{data}" style="max-width:100%"></p>')
    return "\n".join(parts) + "\n</section>"


def write_comparison(comparisons: Sequence, out_dir, *, title: str = "recipe comparison",
                     page: bool = True) -> list[Path]:
    """compare.json, compare.csv, (page) compare.html, then figures/compare_<group>.png, into `out_dir`;
    returns their paths in that order."""
    out = Path(out_dir)
    paths = [atomic_write_json(out / "compare.json", [c.to_dict() for c in comparisons])]
    frame = comparison_frame(comparisons)
    paths.append(atomic_write_with(out / "compare.csv", lambda tmp: frame.to_csv(tmp, index=False)))
    figures = {}
    for i, c in enumerate(comparisons):
        name = slug("_".join(map(str, c.group.values())) or "all")
        figures[i] = comparison_figure(c, out / "figures" / f"compare_{name}.png")
    section = comparison_section(comparisons, figures)
    if page:
        style = (resources.files("clipscale.report") / "assets" / "style.css").read_text(encoding="utf-8")
        doc = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
               f"<style>{style}</style></head><body><main>\n{section}\n</main></body></html>\n")
        paths.append(atomic_write_text(out / "compare.html", doc))
    return paths + list(figures.values())
