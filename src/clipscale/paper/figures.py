"""The paper's figures as PNG and PDF: scaling laws, zero-shot predictions, learning curves.

Scaling figures: error in percent (100 - metric%) against total GMACs, log-log; colour by model,
marker by upstream dataset, size by samples seen; the OpenCLIP and CLIP-WIT laws with formulas
(as in the paper's figures.ipynb). Errors in the fits are fractions; figures show percent.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from clipscale._io import atomic_write_with
from clipscale.laws import fit
from clipscale.laws.methods import group_options
from clipscale.schema import GROUP_OPENAI, GROUP_OPENCLIP, default_metric, paper_group

ARCH_ORDER = ("ViT-B-32", "ViT-B-16", "ViT-L-14", "ViT-H-14", "ViT-g-14")
MARKERS = {"LAION-80M": "v", "LAION-400M": "o", "LAION-2B": "s", "CLIP-WIT": "*"}
SIZES = {"3B": 40, "13B": 90, "34B": 170}
LINE_COLOURS = {GROUP_OPENCLIP: "tab:orange", GROUP_OPENAI: "tab:blue"}
GROUP_NAMES = {GROUP_OPENCLIP: "OpenCLIP (LAION)", GROUP_OPENAI: "OpenAI CLIP (WIT)"}

# (file stem, downstream dataset, metric column, y label). The text-retrieval figures come twice:
# 'paper' reproduces the notebook's slip (image-retrieval recall), 'corrected' uses text retrieval.
SCALING_FIGURES = (
    ("scaling_imagenet1k", "imagenet1k", "acc1", "ImageNet zero-shot error (%)"),
    ("scaling_imagenet_robustness", "imagenet_robustness", "acc1", "ImageNet robustness error (%)"),
    ("scaling_mscoco_image_retrieval", "mscoco_captions", "image_retrieval_recall@5",
     "MS-COCO image retrieval: 100 - Recall@5 (%)"),
    ("scaling_flickr30k_image_retrieval", "flickr30k", "image_retrieval_recall@5",
     "Flickr30K image retrieval: 100 - Recall@5 (%)"),
    ("scaling_mscoco_text_retrieval_paper", "mscoco_captions", "image_retrieval_recall@5",
     "MS-COCO 'text retrieval' as in the paper's notebook\n(computed from image-retrieval recall)"),
    ("scaling_mscoco_text_retrieval_corrected", "mscoco_captions", "text_retrieval_recall@5",
     "MS-COCO text retrieval: 100 - Recall@5 (%), corrected"),
    ("scaling_flickr30k_text_retrieval_paper", "flickr30k", "image_retrieval_recall@5",
     "Flickr30K 'text retrieval' as in the paper's notebook\n(computed from image-retrieval recall)"),
    ("scaling_flickr30k_text_retrieval_corrected", "flickr30k", "text_retrieval_recall@5",
     "Flickr30K text retrieval: 100 - Recall@5 (%), corrected"),
)


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, base: Path) -> list[Path]:
    """Write `fig` as base.png and base.pdf (atomically); returns both paths."""
    out = []
    for fmt in ("png", "pdf"):
        path = base.with_suffix(f".{fmt}")
        atomic_write_with(path, lambda tmp, f=fmt: fig.savefig(tmp, format=f, dpi=150, bbox_inches="tight"))
        out.append(path)
    _plt().close(fig)
    return out


def _scatter(ax, d: pd.DataFrame, err_pct: pd.Series) -> None:
    cmap = _plt().get_cmap("viridis", len(ARCH_ORDER))
    for (arch, up, ss), g in d.groupby(["arch", "upstream_dataset", "samples_seen_pretty"]):
        colour = cmap(ARCH_ORDER.index(arch)) if arch in ARCH_ORDER else "grey"
        ax.scatter(g["gmacs_total"], err_pct[g.index], c=[colour], marker=MARKERS.get(up, "x"),
                   s=SIZES.get(ss, 60), edgecolors="black", linewidths=0.4, zorder=3)


def _log_axes(ax) -> None:
    """Log-log axes with plain numbers (20, 30, 40) on the error axis instead of 2x10^1."""
    from matplotlib.ticker import FuncFormatter

    ax.set_xscale("log")
    ax.set_yscale("log")
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_formatter(plain)
    ax.tick_params(axis="y", which="minor", labelsize=7)
    ax.grid(True, which="both", alpha=0.3)


def _legend(ax, d: pd.DataFrame) -> None:
    from matplotlib.lines import Line2D

    cmap = _plt().get_cmap("viridis", len(ARCH_ORDER))
    handles = [Line2D([], [], ls="", marker="o", color=cmap(i), label=a)
               for i, a in enumerate(ARCH_ORDER) if a in set(d["arch"])]
    handles += [Line2D([], [], ls="", marker=m, color="grey", label=u) for u, m in MARKERS.items()
                if u in set(d["upstream_dataset"])]
    handles += [Line2D([], [], ls="", marker="o", color="grey", markersize=np.sqrt(s) / 1.5, label=f"{k} samples")
                for k, s in SIZES.items() if k in set(d["samples_seen_pretty"])]
    ax.add_artist(ax.legend(handles=handles, loc="lower left", fontsize=7, ncol=2, framealpha=0.8))


def scaling_figure(results: pd.DataFrame, dataset: str, metric: str, ylabel: str, base: Path,
                   n_boot: int = 0) -> list[Path]:
    """One scaling figure for `dataset` and `metric` (a fraction; error = 1 - metric)."""
    plt = _plt()
    d = results[results["downstream_dataset"] == dataset].copy()
    if d.empty:
        return []
    err = 1.0 - d[metric]
    fig, ax = plt.subplots(figsize=(7, 5))
    _scatter(ax, d, err * 100)
    groups = d["upstream_dataset"].map(paper_group)
    lines = []
    xs = np.logspace(np.log10(d["gmacs_total"].min()), np.log10(d["gmacs_total"].max()), 50)
    for group in (GROUP_OPENCLIP, GROUP_OPENAI):
        sel = (groups == group).to_numpy()
        if sel.sum() < 2:
            continue
        law = fit(d["gmacs_total"][sel], err[sel], "paper", n_boot=n_boot, **group_options("paper", group))
        line, = ax.plot(xs, law.predict(xs) * 100, color=LINE_COLOURS[group], lw=2, ls="--",
                        label=f"{GROUP_NAMES[group]}: {law.formula()}")
        lines.append(line)
    _log_axes(ax)
    ax.set_xlabel("Total compute (GMACs = per-sample GMACs x samples seen)")
    ax.set_ylabel(ylabel)
    _legend(ax, d)
    ax.legend(handles=lines, loc="upper right", fontsize=8)
    return save(fig, base)


def prediction_figure(results: pd.DataFrame, table: pd.DataFrame, law, dataset: str, base: Path) -> list[Path]:
    """Observed OpenCLIP runs, the law through the predicted grid (dashed beyond the data) and the
    notebook's highlighted extrapolations with their 95% prediction intervals."""
    from clipscale.paper.predictions import HIGHLIGHT

    plt = _plt()
    d = results[(results["downstream_dataset"] == dataset)
                & (results["upstream_dataset"].map(paper_group) == GROUP_OPENCLIP)]
    err_pct = (1.0 - d[default_metric(dataset)]) * 100
    fig, ax = plt.subplots(figsize=(7, 6))
    _scatter(ax, d, err_pct)
    grid = table.sort_values("gmacs_total")
    inside = grid["gmacs_total"].between(d["gmacs_total"].min(), d["gmacs_total"].max())
    ax.plot(grid["gmacs_total"][inside], grid["pred_err_pct"][inside], color="tab:orange",
            label=f"OpenCLIP law: {law.formula()}")
    ax.plot(grid["gmacs_total"], grid["pred_err_pct"], color="tab:orange", ls=(0, (2, 4)))
    out = table[table["label"].isin(HIGHLIGHT)]
    yerr = np.vstack([out["pred_err_pct"] - out["pred_lo_pct"], out["pred_hi_pct"] - out["pred_err_pct"]])
    ax.errorbar(out["gmacs_total"], out["pred_err_pct"], yerr=np.nan_to_num(yerr), fmt="o", color="tab:orange",
                capsize=3, label="predicted (95% prediction interval)", zorder=4)
    for _, r in out.iterrows():
        ax.annotate(r["label"], (r["gmacs_total"], r["pred_err_pct"]), fontsize=8, xytext=(4, 4),
                    textcoords="offset points")
    has = table["actual_err_pct"].notna()
    ax.scatter(table.loc[has, "gmacs_total"], table.loc[has, "actual_err_pct"], marker="x", c="black", s=40,
               zorder=5, label="best actual run at that model and budget")
    _log_axes(ax)
    ax.set_xlabel("Total compute (GMACs per sample x samples seen)")
    what = "zero-shot error" if default_metric(dataset) == "acc1" else "image retrieval: 100 - Recall@5"
    ax.set_ylabel(f"{dataset} {what} (%)")
    ax.legend(fontsize=8, loc="upper right")
    return save(fig, base)


def learning_curves_figure(curves: pd.DataFrame, x: str, base: Path) -> list[Path]:
    """ImageNet zero-shot top-1 (%) per run against x ('epoch', 'samples_seen' or 'step')."""
    from clipscale.paper.curves import X_AXES

    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 6))
    for name, g in curves.groupby("name", sort=False):
        first = g.iloc[0]
        ax.plot(g[x], g["acc1"] * 100, marker="+", lw=1,
                label=f"{first['arch']} {first['upstream_dataset']} ({first['samples_seen_pretty']})")
    ax.set_xlabel(X_AXES[x])
    ax.set_ylabel("ImageNet zero-shot top-1 accuracy (%)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=6, bbox_to_anchor=(1.01, 1), loc="upper left")
    return save(fig, base)
