"""The answer section of the page (report._answer's numbers as HTML), written at the top of the page.

Every number is rounded to what it means: errors in percent with one decimal, compute with 3
significant digits and its unit (total GMACs), model size in GMACs per sample, samples as counts.
"""
from __future__ import annotations

import html
from typing import Sequence

from clipscale.report._answer import pct1, sig3

_E = html.escape


def answer_section(ans: dict | None, *, unmet: Sequence[str] | None = None, facts: Sequence[str] = ()) -> str:
    """<section id="answer-section">: the answer, the demo's unmet targets (None: not checked) and the
    study's facts (budget, speeds: what is known, not what is missing)."""
    parts = ['<section id="answer-section">', "<h2>The answer</h2>"]
    if ans is None:
        parts.append('<p class="missing">No runs to answer from (see the notes above).</p>')
    else:
        level = round(100 * ans["level"])
        parts.append(f'<p class="note">On <b>{_E(ans["panel"])}</b>: the recommended frontier law '
                     f'(<code>{_E(ans["method"])}</code>) predicts the best error reachable at a compute; the '
                     f'recommended per-run law (<code>{_E(ans["perrun_law"])}</code>) the error of one run. '
                     f'Intervals: {level}% (where a new run is expected to land).</p>')
        parts += [_frontier_table(ans, level), _perrun_list(ans, level), _backtest_block(ans, level)]
    parts += _targets(unmet) + _facts(facts)
    parts.append("</section>")
    return "\n".join(p for p in parts if p)


def _interval(row: dict) -> str:
    return f'<b>{pct1(row["error"])}</b> ({pct1(row["lo"])} – {pct1(row["hi"])})'


def _frontier_table(ans: dict, level: int) -> str:
    step = f'{ans["step"]:g}'
    head = (f'<table class="answer" id="answer-frontier"><thead><tr><th>group</th><th>largest run</th>'
            f'<th>best error at its compute ({level}%)</th><th>at {step}× its compute ({level}%)</th>'
            f'<th>law (form)</th></tr></thead><tbody>')
    rows = []
    for f in ans["frontier"]:
        run = (f'{_E(f["largest_run"])}<br><span class="note">{sig3(f["largest_compute"])} GMACs, actual '
               f'{pct1(f["largest_error"])}</span>') if "largest_run" in f else ""
        if f.get("status") == "ok":
            at, at10 = f["at"]
            cells = (f'<td class="num" data-error="{at["error"]}">{_interval(at)}</td>'
                     f'<td class="num" data-error="{at10["error"]}">{_interval(at10)}<br><span class="note">at '
                     f'{sig3(at10["compute"])} GMACs</span></td>')
        else:
            cells = f'<td colspan="2" class="untrusted">{_E(_verdict(f))}</td>'
        law = (f'<code>{_E(f["formula"])}</code> ({_E(f["form"])}, {f["n_fit_points"]} fitted points'
               f'{", fitted here" if f.get("fitted_here") else ""})' if "formula" in f else "")
        if f.get("choice"):
            law += f'<br><span class="note">{_E(f["choice"])}</span>'
        rows.append(f'<tr data-status="{_E(f.get("status", ""))}"><td>{_E(f["group"])}</td><td>{run}</td>{cells}'
                    f'<td>{law}</td></tr>')
    note = ('<p class="note">E = error (fraction), C = total GMACs; an <code>E/(1-E)</code> law is the '
            'log-odds form. A law the runs do not support says why instead of a number.</p>')
    return head + "".join(rows) + "</tbody></table>" + note


def _verdict(d: dict) -> str:
    return d["status"] + (f": {d['reason']}" if d.get("reason") else "")


def _perrun_list(ans: dict, level: int) -> str:
    items = []
    for p in ans["perrun"]:
        label = f'<b>{_E(p["group"])}</b>: '
        if "size" not in p:
            items.append(f'<li class="untrusted">{label}next model up: {_E(_verdict(p))}</li>')
            continue
        model = (f'the next model up, N = {sig3(p["size"])} GMACs per sample (the largest trained, '
                 f'{sig3(p["largest_size"])}, × the last ladder step {sig3(p["step"])}), trained for D = '
                 f'{sig3(p["samples"])} samples' + (f' of U = {sig3(p["unique"])} unique' if p.get("unique") else "")
                 + " (the largest model's)")
        if p.get("status") == "ok":
            extra = p.get("extrapolation_decades") or 0.0
            items.append(f'<li data-status="ok">{label}{model}: error <span data-error="{p["error"]}">{_interval(p)}'
                         f'</span>; {extra:.2f} decade(s) of compute beyond the fitted runs.</li>')
        else:
            items.append(f'<li class="untrusted" data-status="{_E(p["status"])}">{label}{model}: '
                         f'{_E(_verdict(p))}</li>')
    law = ans["perrun"][0]["summary"] if ans["perrun"] else ""
    return (f'<h3>The next model up (per-run law <code>{_E(ans["perrun_law"])}</code>)</h3>'
            f'<ul class="answer-list" id="answer-perrun">{"".join(items)}</ul><p class="note">{_E(law)}</p>')


def _backtest_block(ans: dict, level: int) -> str:
    """Both backtests in words (k of n inside), then the reliability plot and its table."""
    bt, runs = ans["backtest"], ans.get("backtest_runs") or {}
    parts = ["<h3>Held-out backtest</h3>",
             _backtest_line(bt, level, "answer-backtest", "held-out frontier runs", "the frontier law"),
             _backtest_line(runs, level, "answer-backtest-runs", "held-out runs", "the per-run law")]
    shown = [b for b in (bt, runs) if b.get("status") == "ok"]
    if shown:
        head = "".join(f"<th>{_E(b['law'])}: observed (n = {b['n']})</th>" for b in shown)
        rows = "".join(f"<tr><td>{round(100 * lev)}%</td>" + "".join(f"<td>{100 * b['coverage'][i]:.0f}%</td>"
                                                                     for b in shown) + "</tr>"
                       for i, lev in enumerate(shown[0]["levels"]))
        parts.append('<div class="reliability"><div id="reliability-plot" class="plot-box small"></div>'
                     f'<table class="answer"><thead><tr><th>nominal</th>{head}</tr></thead><tbody>{rows}</tbody>'
                     '</table></div><p class="note">Reliability: the share of held-out runs inside each nominal '
                     'interval, refitted without them. On the diagonal, the intervals mean what they say; below '
                     'it, they are too narrow; above it, wider than they need to be.</p>')
    return "\n".join(parts)


def _backtest_line(bt: dict, level: int, ident: str, runs: str, law: str) -> str:
    if bt.get("status") != "ok":
        return f'<p class="untrusted" id="{ident}">No backtest of {law}: {_E(bt.get("reason", "not run"))}</p>'
    skipped = f' Not backtested: {_E("; ".join(bt["skipped"][:4]))}.' if bt.get("skipped") else ""
    return (f'<p id="{ident}" data-inside="{bt["inside"]}" data-n="{bt["n"]}"><b>{bt["inside"]} of {bt["n"]}</b> '
            f'{runs} inside {law}\'s {level}% interval (<code>{_E(bt["law"])}</code>; {_E(bt["holdout"])}). '
            f'Median miss {bt["miss_median_pct"]:.1f} error-% points, median {level}% width '
            f'{bt["width90_median_pct"]:.1f} points.{skipped}</p>')


def _targets(unmet: Sequence[str] | None) -> list[str]:
    if unmet is None:
        return []
    if not unmet:
        return ['<p id="answer-targets" class="met">Demo targets: every target met.</p>']
    items = "".join(f"<li>{_E(t)}</li>" for t in unmet)
    return [f'<div id="answer-targets" class="unmet"><b>Demo targets not met ({len(unmet)}):</b><ul>{items}</ul></div>']


def _facts(facts: Sequence[str]) -> list[str]:
    if not facts:
        return []
    return ['<ul id="answer-facts" class="note">' + "".join(f"<li>{_E(f)}</li>" for f in facts) + "</ul>"]
