"""Webdataset shards in the LAION/img2dataset layout: round trip, layout, errors."""
from __future__ import annotations

import tarfile

import numpy as np
import pytest

from clipscale.data import EmbeddedDataset, read_shards, write_shards
from clipscale.errors import DataError, UserInputError


def test_png_round_trip_is_exact_and_keeps_order(tmp_path):
    ds = EmbeddedDataset(25, seed=2)
    paths = write_shards(ds, str(tmp_path / "%06d.tar"), samples_per_shard=10)
    assert [p.name for p in paths] == ["000000.tar", "000001.tar", "000002.tar"]
    out = list(read_shards(str(tmp_path / "{000000..000002}.tar")))
    assert len(out) == 25
    for i in (0, 13, 24):
        assert np.array_equal(out[i][0], ds[i][0]) and out[i][1] == ds[i][1]


def test_layout_is_img2dataset_and_bytes_are_deterministic(tmp_path):
    ds = EmbeddedDataset(3)
    a = write_shards(ds, str(tmp_path / "a%06d.tar"), 10)[0]
    b = write_shards(ds, str(tmp_path / "b%06d.tar"), 10)[0]
    assert a.read_bytes() == b.read_bytes()
    with tarfile.open(a) as tar:
        names = tar.getnames()
    assert names[:3] == ["000000000.json", "000000000.png", "000000000.txt"]


def test_jpeg_shards_decode_close_to_the_source(tmp_path):
    ds = EmbeddedDataset(4)
    write_shards(ds, str(tmp_path / "%06d.tar"), 10, image_format="jpg")
    img, text = next(iter(read_shards(str(tmp_path / "000000.tar"))))
    assert img.dtype == np.uint8 and img.shape == (32, 32, 3) and text == ds[0][1]
    assert np.abs(img.astype(int) - ds[0][0]).mean() < 20


def test_missing_shard_and_bad_pattern_raise_typed_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        list(read_shards(str(tmp_path / "{000000..000001}.tar")))
    with pytest.raises(UserInputError, match="%d"):
        write_shards(EmbeddedDataset(2), str(tmp_path / "x.tar"))
    with pytest.raises(UserInputError, match="image_format"):
        write_shards(EmbeddedDataset(2), str(tmp_path / "%d.tar"), image_format="bmp")
