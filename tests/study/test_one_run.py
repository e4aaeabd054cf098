"""study.one_run: the rows of a run are evaluate's, plus the grid's columns; no column written twice."""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from clipscale.evaluate.results import COLUMNS
from clipscale.evaluate.checkpoints import run_meta
from clipscale.schema import run_upstream_dataset
from clipscale.study import spec_from_dict
from clipscale.study.one_run import _row_facts, annotate

RAW = {"name": "t", "out": "o", "axes": {"model": ["ladder-xs"], "data_size": [1000], "samples_seen": [2000, 4000]}}


def test_one_rule_names_the_upstream_data_of_a_run():
    run = spec_from_dict(RAW).runs()[0]
    from_spec_json = run_meta(Path("runs") / run.name, run.train_spec(1))["upstream_dataset"]
    assert _row_facts(run)["upstream_dataset"] == from_spec_json == "embedded-1K"
    shards = spec_from_dict({**RAW, "train": {"train_data": "shards/{000000..000009}.tar"}}).runs()[0]
    assert _row_facts(shards)["upstream_dataset"] == "shards/{000000..000009}.tar"
    assert run_upstream_dataset(None, None) == "embedded" and run_upstream_dataset(None, 2e5) == "embedded-200K"


def test_annotate_adds_the_grid_and_keeps_what_evaluate_wrote():
    run = spec_from_dict(RAW).runs()[0]
    rows = pd.DataFrame([{c: math.nan for c in COLUMNS} | {
        "samples_seen": s, "gmacs": 0.5, "gmacs_total": 123.0, "upstream_dataset": "as evaluate wrote it",
        "samples_seen_pretty": "as evaluate wrote it"} for s in (2000.0, 3000.0)])
    out = annotate(rows, run)
    for col in rows.columns:  # every column evaluate wrote, unchanged
        pd.testing.assert_series_equal(out[col], rows[col])
    assert set(out.columns) - set(rows.columns) == {"level", "is_level", "run", "run_hash", "data_size", "lr",
                                                    "batch_size", "seed"}
    assert (out["seed"] == run.train.seed).all()  # replicates of one configuration differ only here
    assert list(out["is_level"]) == [True, False] and out["level"].iloc[0] == 2000
    assert (out["run"] == run.name).all()
