"""The render cache: equal to rendering, reused across calls, one file serves smaller data sizes."""
from __future__ import annotations

import pytest
import torch

from clipscale.data import EmbeddedDataset, rendered


def test_cache_equals_rendering_and_serves_prefixes_without_rendering(tmp_path, monkeypatch):
    big = EmbeddedDataset(300, seed=4)
    images, captions = rendered(big, tmp_path)
    direct, direct_caps = big.batch(range(300))
    assert torch.equal(images, direct) and captions == direct_caps
    assert len(list(tmp_path.glob("*-seed4-train-32px-n300.npy"))) == 1

    def no_render(self, indices):
        raise AssertionError("rendered although the cache holds the pairs")

    monkeypatch.setattr(EmbeddedDataset, "batch", no_render)
    small_images, small_caps = rendered(EmbeddedDataset(120, seed=4), tmp_path)
    assert torch.equal(small_images, direct[:120]) and small_caps == direct_caps[:120]
    with pytest.raises(AssertionError, match="rendered although"):
        rendered(EmbeddedDataset(120, seed=5), tmp_path)  # another seed is another stream


def test_cache_dir_from_environment(tmp_path, monkeypatch):
    from clipscale.data import default_cache_dir

    monkeypatch.setenv("CLIPSCALE_CACHE", str(tmp_path))
    assert default_cache_dir() == tmp_path / "embedded"
    rendered(EmbeddedDataset(5, image_size=16))
    assert len(list((tmp_path / "embedded").glob("*-16px-n5.npy"))) == 1
