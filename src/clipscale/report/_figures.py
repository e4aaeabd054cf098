"""Static PNG and PDF figures (matplotlib) for the report's chosen datasets and the learning curves.

They repeat what the page shows interactively, for papers and slides: error in percent against
total compute (GMACs) on log-log axes, one fitted law per group with its confidence band.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from clipscale._io import atomic_write_with
from clipscale.train.branches import BRANCH

_MARKERS = "osD^vP*X"
# The page's group styles (assets/app.js GROUP_STYLE).
_GROUP_COLOURS = {"openclip": "#111111", "openai": "#c0392b"}
_GROUP_LINES = {"openclip": "-", "openai": "--"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def slug(text: str) -> str:
    """A file-name-safe form of a dataset name ('vtab/cifar10' -> 'vtab_cifar10')."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "dataset"


def _save(fig, folder: Path, stem: str) -> list[Path]:
    paths = []
    for ext in ("png", "pdf"):
        path = folder / f"{stem}.{ext}"
        atomic_write_with(path, lambda tmp, ext=ext: fig.savefig(tmp, format=ext, dpi=110, bbox_inches="tight"))
        paths.append(path)
    return paths


def scaling_figure(points: pd.DataFrame, laws: dict, dataset: str, method: str, folder: Path) -> list[Path]:
    """Error (%) vs total GMACs for one dataset with `method`'s fitted laws; returns [png, pdf]."""
    plt = _pyplot()
    sub = points[points["panel"] == dataset]
    archs, datas = sorted(points["arch"].unique()), sorted(points["data"].unique())
    fig, ax = plt.subplots(figsize=(6.4, 4.4))  # the legend goes to the right of the axes
    for (arch, data), part in sub.groupby(["arch", "data"]):
        ax.scatter(part["compute"], 100 * part["error"], s=28, color=f"C{archs.index(arch) % 10}",
                   marker=_MARKERS[datas.index(data) % len(_MARKERS)], label=f"{arch}, {data}", zorder=3)
    shown = laws.get(dataset, {}).get(method, {})
    fitted = sub.loc[sub.index.isin([i for law in shown.values() for i in law.get("fitted", ())])]
    if len(fitted):  # the points the law was fitted to (a frontier law: the compute frontier), ringed
        ax.scatter(fitted["compute"], 100 * fitted["error"], s=90, facecolors="none", edgecolors="#111",
                   linewidths=1.1, label="fitted by the law", zorder=4)
    for group, law in sorted(shown.items()):
        if "missing" in law or "untrusted" in law:  # no law, or one the runs do not support: not drawn
            continue
        colour = _GROUP_COLOURS.get(group, "#555555")
        x = law["x"]
        ax.plot(x, [_pct(v) for v in law["y"]], color=colour, lw=1.6, ls=_GROUP_LINES.get(group, ":"),
                label=f"{group}: {law['formula']}")
        if "lo" in law:
            ax.fill_between(x, [_pct(v) for v in law["lo"]], [_pct(v) for v in law["hi"]], color=colour, alpha=0.12, lw=0)
    ax.set_xscale("log")
    ax.set_yscale("log")
    _plain_percent_ticks(ax.yaxis)
    ax.set_xlabel("total compute C (GMACs)")
    ax.set_ylabel("error (%)")
    ax.set_title(f"{dataset} ({method} fit)")
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=6.5, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    try:
        return _save(fig, folder, f"scaling_{slug(dataset)}")
    finally:
        plt.close(fig)


def curves_figure(curves: pd.DataFrame, folder: Path) -> list[Path]:
    """Zero-shot top-1 error (%) vs samples seen for every run; returns [png, pdf]."""
    plt = _pyplot()
    archs = sorted(curves["arch"].unique())
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for name, run in curves.groupby("name"):
        x = run["samples_seen"] if run["samples_seen"].notna().any() else run["epoch"]
        ax.plot(x, 100 * run["error"], lw=0.9, color=f"C{archs.index(run['arch'].iloc[0]) % 10}")
    for i, arch in enumerate(archs):
        ax.plot([], [], color=f"C{i % 10}", label=arch)
    use_samples = curves["samples_seen"].notna().any()
    ax.set_xscale("log" if use_samples else "linear")
    ax.set_xlabel("samples seen" if use_samples else "epoch")
    ax.set_ylabel("zero-shot top-1 error (%)")
    return _finish(plt, fig, ax, folder, "learning_curves")


def training_figure(rows: pd.DataFrame, folder: Path) -> list[Path]:
    """Training loss vs samples seen: each trunk (solid) with its cool-down branches (dashed, ending
    in a dot at the branch's level), or each whole run; colour = model. Returns [png, pdf]."""
    plt = _pyplot()
    archs = sorted(rows["arch"].unique())
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for (_run, _part), sub in rows.groupby(["run", "part"], sort=True):
        colour, kind = f"C{archs.index(sub['arch'].iloc[0]) % 10}", sub["kind"].iloc[0]
        ax.plot(sub["samples_seen"], sub["loss"], color=colour, lw=0.8 if kind == BRANCH else 1.3,
                ls="--" if kind == BRANCH else "-", alpha=0.9)
        if kind == BRANCH:
            ax.plot(sub["samples_seen"].iloc[-1:], sub["loss"].iloc[-1:], "o", ms=3, color=colour)
    for i, arch in enumerate(archs):
        ax.plot([], [], color=f"C{i % 10}", label=arch)
    if (rows["kind"] == BRANCH).any():
        ax.plot([], [], color="#444", ls="-", label="trunk (constant lr)")
        ax.plot([], [], color="#444", ls="--", label="cool-down branch")
    ax.set_xscale("log")
    ax.set_xlabel("samples seen")
    ax.set_ylabel("training loss (contrastive, per batch)")
    return _finish(plt, fig, ax, folder, "training_loss")


def _finish(plt, fig, ax, folder: Path, name: str) -> list[Path]:
    """Grid and legend, then [png, pdf] saved as `name`; the figure is closed either way."""
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=7)
    try:
        return _save(fig, folder, name)
    finally:
        plt.close(fig)


def _plain_percent_ticks(axis) -> None:
    """Label a log axis of percentages 10, 20, 30, 50 rather than 1e1, 2e1 (and no minor labels)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 3.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def _pct(v) -> float:
    return float("nan") if v is None else 100 * v
