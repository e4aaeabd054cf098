"""Assemble the report page: the JSON the page script reads, and the single self-contained HTML file.

Scripts, styles and data are written inline (no file is fetched at view time), and the page's
Content-Security-Policy forbids any network request, so it opens the same from file:// or a server.
"""
from __future__ import annotations

import datetime as _dt
import html
import json
import math
from importlib import resources

import pandas as pd

from clipscale import __version__
from clipscale._io import json_clean
from clipscale.report._data import parse_count
from clipscale.report._fits import BAND_LEVEL, FitSet
from clipscale.schema import EVAL_KIND_COL

# The x axes offered for learning curves: (key in the run record, label).
CURVE_AXES = (("epoch", "epoch"), ("samples_seen", "samples seen"), ("step", "optimizer step"))
COEFFICIENT_ORDER = ("downstream_dataset", "group", "method", "n_points", "alpha", "alpha_lo", "alpha_hi",
                     "coef", "coef_lo", "coef_hi", "floor", "floor_lo", "floor_hi", "r2", "formula", "note")


def table_json(df: pd.DataFrame | None, order=()) -> dict | None:
    """A DataFrame as {columns, rows} for the page's sortable tables."""
    if df is None:
        return None
    cols = [c for c in order if c in df.columns] + [c for c in df.columns if c not in order]
    return {"columns": [str(c) for c in cols], "rows": json_clean(df[cols].astype(object).values.tolist())}


def _sorted_labels(values) -> list:
    """Distinct labels, counts in numeric order ('3B' < '13B' < '34B'), then the rest alphabetically."""
    def key(label):
        n = parse_count(label)
        return (math.isnan(n), 0.0 if math.isnan(n) else n, label)

    return sorted({str(v) for v in values}, key=key)


def payload(*, title, points, curves, fitset: FitSet, backtest, problems, files, curves_empty,
            in_sample=None, joint=None, training=None) -> dict:
    """Everything the page script needs, JSON-ready (errors are fractions, compute total GMACs)."""
    datasets = [{"name": d, "metric": str(sub["metric"].iloc[0]), "n_points": int(len(sub))}
                for d, sub in points.groupby("panel", sort=True)]
    default = _default_dataset(datasets, fitset)
    return json_clean({
        "title": title,
        "problems": list(problems.items),
        "datasets": datasets,
        "default_dataset": default,
        "methods": list(fitset.methods) if fitset.laws else [],
        "default_method": fitset.methods[0] if fitset.methods else "",
        "band_level_pct": round(100 * BAND_LEVEL),
        "styles": {"archs": _sorted_labels(list(points["arch"]) + list(curves["arch"])
                                           + (list(training["arch"]) if training is not None else [])),
                   "data": _sorted_labels(list(points["data"]) + list(curves["data"])),
                   "samples": _sorted_labels(list(points["samples_pretty"]))},
        "groups": sorted(set(points["group"]) | {g for by_method in fitset.laws.values()
                                                  for laws in by_method.values() for g in laws}),
        "points": {d: _point_records(sub) for d, sub in points.groupby("panel", sort=True)},
        "laws": fitset.laws,
        "predictions": _prediction_lookup(fitset),
        "coefficients": table_json(fitset.coefficient_frame(), COEFFICIENT_ORDER),
        "curves": {"runs": _runs(curves), "empty": curves_empty,
                   "axes": [{"key": k, "label": label, "available": bool(curves[k].notna().any()) if len(curves) else False}
                            for k, label in CURVE_AXES]},
        "backtest": table_json(backtest),
        "in_sample": table_json(in_sample),
        "joint": joint,
        "training": _training(training),
        "eval_laws": eval_laws(points, fitset),
        "files": files,
    })


def eval_laws(points: pd.DataFrame, fitset: FitSet) -> dict | None:
    """The laws of one downstream dataset's evaluation types side by side (zero-shot, linear probe,
    fine-tune: one plot each), for every dataset evaluated more than one way; None when none is."""
    if not len(points):
        return None
    panels = points.groupby("downstream_dataset")["panel"].unique()
    rows = []
    for dataset, names in panels.items():
        if len(names) < 2:
            continue
        for panel in sorted(names, key=lambda p: (p != dataset, p)):
            kinds = points.loc[points["panel"] == panel, EVAL_KIND_COL].unique()
            for method, by_group in fitset.laws.get(panel, {}).items():
                for group, law in sorted(by_group.items()):
                    ci = law.get("alpha_ci") or (None, None)
                    rows.append([dataset, _eval_label(kinds), method, group, law.get("n"),
                                 law.get("formula", ""), law.get("alpha"), ci[0], ci[1], law.get("r2"),
                                 law.get("missing") or _verdict(law)])
    if not rows:
        return None
    cols = ["downstream_dataset", "evaluation", "method", "group", "n_points", "formula", "alpha",
            f"alpha {round(100 * BAND_LEVEL)}% lo", f"alpha {round(100 * BAND_LEVEL)}% hi", "r2", "no fit, or why not shown"]
    return {"columns": cols, "rows": json_clean(rows)}


def _verdict(law: dict) -> str:
    """'not identified: <reason>' for a law the runs do not support (report._trust), else ''."""
    if "untrusted" not in law:
        return ""
    return law["untrusted"] + (f": {law['reason']}" if law.get("reason") else "")


def _eval_label(kinds) -> str:
    from clipscale.report._data import EVAL_LABELS

    return ", ".join(sorted({EVAL_LABELS.get(str(k), str(k) or "unknown") for k in kinds}))


def default_panel(points: pd.DataFrame, fitset: FitSet) -> str:
    """The plot shown first (and answered): see `_default_dataset`; '' when there are no points."""
    datasets = [{"name": d, "n_points": int(len(sub))} for d, sub in points.groupby("panel", sort=True)]
    return _default_dataset(datasets, fitset)


def _default_dataset(datasets: list, fitset: FitSet) -> str:
    """imagenet1k when present, else the fit table's headline dataset (a study's), else the largest."""
    names = [d["name"] for d in datasets]
    if "imagenet1k" in names:
        return "imagenet1k"
    headline = [r["downstream_dataset"] for r in fitset.coefficients if str(r.get("headline")).lower() == "true"]
    if headline and headline[0] in names:
        return headline[0]
    return max(datasets, key=lambda d: d["n_points"])["name"] if datasets else ""


def _point_records(sub: pd.DataFrame) -> list:
    return [{"id": int(i), "arch": r.arch, "data": r.data, "samples": r.samples_pretty, "compute": r.compute,
             "error": r.error, "group": r.group, "name": r.name} for i, r in zip(sub.index, sub.itertuples())]


def _prediction_lookup(fitset: FitSet) -> dict:
    out: dict = {}
    for row in fitset.predictions:
        out.setdefault(row["downstream_dataset"], {}).setdefault(row["method"], {})[row["point_id"]] = \
            row["predicted_error_pct"] / 100
    return out


def _training(rows: pd.DataFrame | None) -> list:
    """One line per run part (trunk, each cool-down branch, or a whole run): samples seen and loss."""
    if rows is None or not len(rows):
        return []
    return [{"run": run, "part": part, "arch": sub["arch"].iloc[0], "kind": sub["kind"].iloc[0],
             "x": sub["samples_seen"].tolist(), "y": sub["loss"].tolist()}
            for (run, part), sub in rows.groupby(["run", "part"], sort=True)]


def _runs(curves: pd.DataFrame) -> list:
    runs = []
    for (name, dataset), run in curves.groupby(["name", "downstream_dataset"], sort=True):
        first = run.iloc[0]
        runs.append({"name": name, "dataset": dataset, "arch": first["arch"], "data": first["data"],
                     "samples_pretty": first["samples_pretty"], "error": run["error"].tolist(),
                     **{k: run[k].tolist() for k, _ in CURVE_AXES}})
    return runs


def render_html(data: dict, curves_note: str, sections: str = "", answer: str = "") -> str:
    """The report page: template + inline CSS, JS and the JSON payload; `sections`: HTML the caller
    rendered (e.g. report._compare's), placed after the scaling law; `answer`: the answer section
    (report._answer_page), placed first."""
    assets = resources.files("clipscale.report") / "assets"
    read = lambda name: (assets / name).read_text(encoding="utf-8")
    script = read("plot.js") + "\n" + read("app.js")
    # '<' escaped inside the JSON so no value can close the <script> element early.
    blob = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":")).replace("<", "\\u003c")
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    meta = f"generated {stamp} by clipscale {__version__}"
    page = read("template.html")
    for key, value in (("__STYLE__", read("style.css")), ("__TITLE__", html.escape(data["title"])),
                       ("__META__", html.escape(meta)), ("__CURVES_NOTE__", html.escape(curves_note)),
                       ("__SCRIPT__", script), ("__SECTIONS__", sections), ("__ANSWER__", answer),
                       ("__DATA__", blob)):
        page = page.replace(key, value)
    return page
