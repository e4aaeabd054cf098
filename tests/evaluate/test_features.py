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
