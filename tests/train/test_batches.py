"""Batches are a pure function of (seed, step) and split over ranks exactly; shards feed the same trainer."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from clipscale.errors import DataError, UserInputError
from clipscale.train import train
from clipscale.train.batches import EmbeddedBatches, ShardBatches, expand_shards

from .helpers import tiny_spec


@pytest.fixture(scope="module")
def ladder_xs():
    import open_clip

    import clipscale.models  # noqa: F401 - registers the ladder configs with OpenCLIP

    _, _, preprocess = open_clip.create_model_and_transforms("ladder-xs")
    return preprocess, open_clip.get_tokenizer("ladder-xs")


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    from clipscale.data import EmbeddedDataset, write_shards

    folder = tmp_path_factory.mktemp("shards")
    write_shards(EmbeddedDataset(64), str(folder / "%06d.tar"), samples_per_shard=32)
    return str(folder / "{000000..000001}.tar")


def test_embedded_passes_are_seeded_permutations(ladder_xs):
    _, tok = ladder_xs
    b = EmbeddedBatches(10, 4, seed=0, tokenize=tok, image_size=32)
    first_pass = np.concatenate([b.global_indices(0), b.global_indices(1), b.global_indices(2)[:2]])
    assert sorted(first_pass) == list(range(10))  # each pair once per pass; step 2 straddles passes
    other = EmbeddedBatches(10, 4, seed=1, tokenize=tok, image_size=32)
    assert not np.array_equal(other.global_indices(0), b.global_indices(0))
    lazy = EmbeddedBatches(10, 4, seed=0, tokenize=tok, image_size=32, prerender=False)
    for step in (0, 3):
        assert all(torch.equal(x, y) for x, y in zip(lazy.batch(step), b.batch(step)))


def test_ranks_split_the_global_batch(ladder_xs, shards):
    pre, tok = ladder_xs
    one = EmbeddedBatches(16, 8, 0, tok, 32).batch(1)
    halves = [EmbeddedBatches(16, 8, 0, tok, 32, rank=r, world_size=2).batch(1) for r in (0, 1)]
    assert torch.equal(torch.cat([h[0] for h in halves]), one[0])
    assert torch.equal(torch.cat([h[1] for h in halves]), one[1])
    one = ShardBatches(shards, 8, 0, tok, pre).batch(3)
    halves = [ShardBatches(shards, 8, 0, tok, pre, rank=r, world_size=2).batch(3) for r in (0, 1)]
    assert torch.equal(torch.cat([h[1] for h in halves]), one[1])


def test_shard_stream_resumes_at_any_step(ladder_xs, shards):
    pre, tok = ladder_xs
    seq = ShardBatches(shards, 16, 0, tok, pre)
    sequential = [seq.batch(s) for s in range(6)]  # 96 samples: crosses into a second pass
    fresh = ShardBatches(shards, 16, 0, tok, pre).batch(5)
    assert torch.equal(fresh[0], sequential[5][0]) and torch.equal(fresh[1], sequential[5][1])


def test_shard_images_equal_embedded_images(ladder_xs, shards):
    """Shards go through OpenCLIP's preprocess, embedded data through data.normalize: same tensors."""
    from clipscale.data import EmbeddedDataset, normalize

    pre, tok = ladder_xs
    images, tokens = ShardBatches(shards, 64, 0, tok, pre).batch(0)
    ds = EmbeddedDataset(64)
    ref_img, ref_cap = ds.batch(np.arange(64))
    ref = normalize(ref_img)
    order = [int(torch.nonzero((tok(ref_cap) == t).all(1) & (ref - i).abs().flatten(1).amax(1).lt(1e-5))[0])
             for i, t in zip(images, tokens)]
    assert sorted(order) == list(range(64))


def test_train_on_shards(shards, tmp_path):
    result = train(tiny_spec(data_size=64, samples_seen=128, train_data=shards), tmp_path / "run", progress=False)
    assert result.steps == 4 and result.final_checkpoint.exists()


def test_bad_shard_patterns(ladder_xs, tmp_path):
    pre, tok = ladder_xs
    with pytest.raises(DataError, match="cannot read shard"):
        ShardBatches(str(tmp_path / "missing-{0..1}.tar"), 4, 0, tok, pre).batch(0)
    assert expand_shards("a/{0..2}.tar::b.tar") == ["a/0.tar", "a/1.tar", "a/2.tar", "b.tar"]
    with pytest.raises(UserInputError):
        expand_shards("")


def test_prerendering_is_reused_as_a_prefix(ladder_xs, monkeypatch):
    from clipscale.train import batches

    _, tok = ladder_xs
    monkeypatch.setattr(batches, "_RENDERED", None)
    big = EmbeddedBatches(40, 8, 0, tok, 32, tokenizer_key="bpe-24")
    rendered = []
    real = EmbeddedBatches._render
    monkeypatch.setattr(EmbeddedBatches, "_render", lambda self, idx: rendered.append(len(idx)) or real(self, idx))
    small = EmbeddedBatches(16, 8, 0, tok, 32, tokenizer_key="bpe-24")
    bigger = EmbeddedBatches(48, 8, 0, tok, 32, tokenizer_key="bpe-24")
    other = EmbeddedBatches(16, 8, 0, tok, 32, tokenizer_key="another")
    assert rendered == [8, 16]  # the 8 missing pairs of 48, then all 16 for another tokenizer
    fresh = EmbeddedBatches(48, 8, 0, tok, 32)
    assert torch.equal(small.images, fresh.images[:16]) and torch.equal(bigger.images, fresh.images)
    assert torch.equal(bigger.tokens, fresh.tokens) and torch.equal(big.tokens, fresh.tokens[:40])
    assert len(other.images) == 16


def test_tar_keys_follow_webdataset(tmp_path):
    """Key = path up to the first dot of the file name (dots in folders are kept); incomplete samples skipped."""
    import io
    import tarfile

    from clipscale.train.batches import _tar_samples

    path = tmp_path / "s.tar"
    with tarfile.open(path, "w") as tar:
        for name, data in [("v1.2/000.jpg", b"J0"), ("v1.2/000.txt", b"a cat\n"), ("v1.2/001.png", b"P1"),
                           ("v1.2/001.txt", b"a dog"), ("v1.2/002.jpg", b"J2"), ("v1.2/003.seg.txt", b"x")]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    assert list(_tar_samples(str(path))) == [("v1.2/000", b"J0", "a cat"), ("v1.2/001", b"P1", "a dog")]
