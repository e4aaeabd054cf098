"""Image batching: the fast uint8 path equals OpenCLIP's preprocess; held-out scenes are reproducible."""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from clipscale.evaluate import embedded
from clipscale.evaluate.features import Pixels


def test_fast_path_is_bit_identical_to_preprocess(xs):
    _, preprocess, _ = xs
    to_pixels = Pixels(preprocess)
    assert to_pixels.fast is not None  # ladder models take the fast path
    images = [embedded.source("single", "test", 8).load(i)[0] for i in range(8)]
    fast = to_pixels(images)
    slow = torch.stack([preprocess(Image.fromarray(a)) for a in images])
    assert torch.equal(fast, slow)
    # an image of another size takes the PIL path, and still gives the model's input size
    mixed = to_pixels([np.zeros((20, 20, 3), np.uint8)])
    assert mixed.shape == (1, 3, 32, 32)


def test_held_out_scenes_are_deterministic_balanced_and_not_training_scenes():
    from clipscale.data import EmbeddedDataset

    a, b = embedded.source("single", "test", 384), embedded.source("single", "test", 384)
    assert np.array_equal(a.load(7)[0], b.load(7)[0])
    spec = embedded.embedded_tasks()["objects"]
    labels = [spec.label(a.load(i)[1]) for i in range(384)]
    assert np.bincount(labels).tolist() == [2] * 192  # every colour x shape class twice
    train = EmbeddedDataset(384, seed=0)
    train_images = {train[i][0].tobytes() for i in range(64)}
    assert not any(a.load(i)[0].tobytes() in train_images for i in range(64))
    assert not np.array_equal(a.load(0)[0], embedded.source("single", "train", 384).load(0)[0])


def test_the_library_prints_nothing_and_reports_progress_to_a_callback(capfd, caplog):
    """Defaults are silent (no bar, no OpenCLIP notice); a callback gets (what, done, total) up to total."""
    import logging

    from clipscale import evaluate as ev
    from clipscale.evaluate.features import ImageSource, encode_images
    from clipscale.evaluate.progress import TqdmBars, resolve

    with caplog.at_level(logging.WARNING):
        df = ev.evaluate("ladder-xs", None, ["digits"], limit=20)
    assert len(df) == 1 and capfd.readouterr().err == ""
    assert not [r for r in caplog.records if "No pretrained weights" in r.getMessage()]
    from clipscale import models

    model, preprocess, _ = models.create("ladder-xs")
    calls = []
    src = ImageSource("t", 10, lambda i: (np.zeros((32, 32, 3), np.uint8), i))
    encode_images(model, preprocess, src, batch_size=4, progress=lambda *a: calls.append(a))
    assert calls == [("images t", 4, 10), ("images t", 8, 10), ("images t", 10, 10)]
    assert resolve(False) is None and resolve(None) is None and isinstance(resolve(True), TqdmBars)
    encode_images(model, preprocess, src, batch_size=4, progress=True)
    assert "images t" in capfd.readouterr().err  # True asks for bars on stderr: what the CLI shows
