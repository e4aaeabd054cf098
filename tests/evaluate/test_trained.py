"""End to end with the trainer: a real run folder, briefly trained, evaluated epoch by epoch."""
from __future__ import annotations

import pytest


@pytest.mark.slow
def test_briefly_trained_run_learns_colour(tmp_path):
    from clipscale import evaluate as ev
    from clipscale.train import TrainSpec, train

    train(TrainSpec("ladder-xs", data_size=4096, samples_seen=16384, epochs=2, num_threads=1), tmp_path / "run")
    df = ev.evaluate_run(tmp_path / "run", ["embedded/colour"], limit=300, progress=False)
    assert list(df["epoch"]) == [1, 2]
    assert list(df["samples_seen"]) == [8192, 16384]  # read from the trainer's checkpoints
    assert (df["upstream_dataset"] == "embedded-4.1K").all()  # as clipscale.study labels the run
    # 12 colours: chance is 0.083; 16K samples already teach colour (measured 0.19 at epoch 2)
    assert df["acc1"].iloc[-1] > 0.14
