"""Training learns: a tiny ladder run on the embedded pairs beats chance on embedded/colour.

Measured on the dev machine (2 shared CPU cores, one torch thread, torch 2.14): ladder-xs, 2,000
embedded pairs, 12,000 samples seen in batches of 64 (6 epochs' worth), lr 3e-3 -> acc1 0.605 on
600 images of embedded/colour (12 colours: chance acc1 1/12 = 0.083, top-1 error 0.917); the test
takes about 16 s (35-80 s while other jobs ran). It asks for 30 points (0.30) of top-1 error below
chance, about half the measured 52, so that a change of machine, thread count or torch version does
not flip it, while a model that does not learn (acc1 0.08-0.10 after 2,000-6,000 samples at the
default lr) fails.
"""
from __future__ import annotations

from clipscale.evaluate import evaluate
from clipscale.train import TrainSpec, train

N_COLOURS = 12  # the embedded world's colours = classes of embedded/colour
CHANCE_ERROR = 1 - 1 / N_COLOURS  # top-1 error (fraction) of a uniform guess
MARGIN = 0.30  # fraction (30 points of top-1 error) below chance


def test_tiny_ladder_run_beats_chance_on_colour(tmp_path):
    from clipscale.data.grammar import active_world

    assert len(active_world().colours) == N_COLOURS  # the chance level below assumes it
    spec = TrainSpec("ladder-xs", data_size=2000, samples_seen=12000, batch_size=64, lr=3e-3, num_threads=1)
    run = train(spec, tmp_path / "run", progress=False)
    row = evaluate("ladder-xs", run.final_checkpoint, ["embedded/colour"], limit=600, progress=False).iloc[0]
    assert row["n_images"] == 600
    error = 1.0 - row["acc1"]
    assert error <= CHANCE_ERROR - MARGIN, f"top-1 error {error:.3f} on embedded/colour; chance is {CHANCE_ERROR:.3f}"
