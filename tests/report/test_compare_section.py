"""The comparison's files, figure and report section (clipscale.report write_comparison / build_report)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from clipscale.laws.recipes import compare_recipes
from clipscale.report import build_report, comparison_section, write_comparison


def _table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frames = []
    for recipe, alpha, e0 in (("wit", -0.15, 0.5), ("laion", -0.08, 0.4)):
        for dataset in ("imagenet1k", "flickr30k"):
            x = np.sort(rng.uniform(10.0, 12.5, 12))
            err = 10.0 ** (np.log10(e0) + alpha * (x - 10.0) + rng.normal(0.0, 0.01, 12))
            frames.append(pd.DataFrame({"recipe": recipe, "downstream_dataset": dataset, "gmacs_total": 10.0 ** x,
                                        "acc1": 1 - err, "image_retrieval_recall@5": 1 - err, "arch": "ViT-B-32",
                                        "upstream_dataset": "LAION-2B", "samples_seen": 1e9, "name": "run"}))
    return pd.concat(frames, ignore_index=True)


def test_write_comparison_files_and_section(tmp_path):
    found, _ = compare_recipes(_table(), "recipe", "wit", "laion", method="ls", n_boot=200)
    paths = write_comparison(found, tmp_path, title="wit vs laion")
    names = [p.name for p in paths]
    assert names[:3] == ["compare.json", "compare.csv", "compare.html"]
    assert sorted(names[3:]) == ["compare_flickr30k.png", "compare_imagenet1k.png"]
    records = json.loads((tmp_path / "compare.json").read_text())
    assert [r["verdict"] for r in records] == [c.verdict for c in found]
    html = comparison_section(found)
    assert html.startswith('<section id="compare-section">') and html.count("<h3>") == 2
    assert "wit&#x27;s error falls faster" in html or "wit's error falls faster" in html
    assert "data:image" not in html  # no figures given: none embedded


def test_the_report_includes_the_section_and_writes_the_files(tmp_path):
    table = _table()
    found, _ = compare_recipes(table, "recipe", "wit", "laion", method="ls", n_boot=200)
    index = build_report(table, tmp_path, methods=("ls",), n_boot=50, comparisons=found)
    page = index.read_text()
    assert page.count('<section id="compare-section">') == 1 and "__SECTIONS__" not in page
    assert page.count("data:image/png;base64,") == 2
    assert (tmp_path / "compare.json").is_file() and (tmp_path / "figures" / "compare_imagenet1k.png").is_file()
    plain = build_report(table, tmp_path / "plain", methods=("ls",), n_boot=50).read_text()
    assert "compare-section" not in plain and "__SECTIONS__" not in plain
