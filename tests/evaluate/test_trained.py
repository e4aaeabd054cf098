"""End to end with the trainer: a real run folder from clipscale.train, evaluated epoch by epoch.

This checks the contract between the stages (spec.json, epoch_N.pt with samples_seen); how much a
model learns is the trainer's business and is tested there.
"""
from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.slow
def test_trainer_run_folder_gives_a_learning_curve(tmp_path):
    from clipscale import evaluate as ev
    from clipscale.train import TrainSpec, train

    train(TrainSpec("ladder-xs", data_size=1024, samples_seen=2048, epochs=2, num_threads=1), tmp_path / "run")
    df = ev.evaluate_run(tmp_path / "run", ["embedded/colour", "embedded/retrieval"], limit=100, progress=False)
    assert list(df["epoch"]) == [1, 2, 1, 2]
    assert list(df["samples_seen"]) == [1024, 2048] * 2  # read from the trainer's checkpoints
    assert (df["samples_seen_source"] == "checkpoint").all()
    assert (df["upstream_dataset"] == "embedded-1K").all()  # as clipscale.study labels the run
    assert df["checkpoint_sha256"].nunique() == 2
    vals = df[["acc1", "acc5", "image_retrieval_recall@5"]].to_numpy(dtype=float)
    assert np.all((vals[~np.isnan(vals)] >= 0) & (vals[~np.isnan(vals)] <= 1))
