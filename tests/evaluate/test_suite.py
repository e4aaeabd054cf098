"""`evaluate_suite` against the threaded fake hub, serving tiny benchmarks in CLIP_benchmark's wds layout."""
from __future__ import annotations

import io
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "zoo"))
from fakehub import FakeHub, start  # noqa: E402

from clipscale.errors import NotFoundError  # noqa: E402
from clipscale.evaluate import wds  # noqa: E402
from clipscale.evaluate.suite import evaluate_suite, suite_datasets  # noqa: E402


def _png(seed: int, fmt: str = "png") -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(buf, fmt)
    return buf.getvalue()


def _tar(samples: list[dict[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for i, s in enumerate(samples):
            for ext, data in s.items():
                info = tarfile.TarInfo(f"s{i:04d}.{ext}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _npy(a) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.asarray(a))
    return buf.getvalue()


def wds_files(kind: str, n: int = 6) -> dict[str, bytes]:
    """A tiny benchmark in CLIP_benchmark's layout: 2 shards of test samples, names, templates."""
    if kind == "retrieval":
        samples = [{"png": _png(i), "txt": f"a photo {i}\nanother photo {i}".encode()} for i in range(n)]
    elif kind == "multilabel":
        samples = [{"png": _png(i), "npy": _npy([i % 2, 1, (i // 2) % 2])} for i in range(n)]
    else:
        samples = [{"jpg": _png(i, "jpeg")} if i % 2 else {"png": _png(i)} for i in range(n)]
        samples = [dict(s, cls=str(i % 3).encode()) for i, s in enumerate(samples)]
    files = {"test/nshards.txt": b"2", "test/0.tar": _tar(samples[: n // 2]), "test/1.tar": _tar(samples[n // 2:])}
    if kind == "retrieval":
        files["dataset_type.txt"] = b"retrieval\n"
    else:
        files["classnames.txt"] = b"cat\ndog\nbird\n"
        files["zeroshot_classification_templates.txt"] = b"a photo of a {c}.\na drawing of a {c}.\n"
        if kind == "multilabel":
            files["dataset_type.txt"] = b"multilabel\n"
    return files


DATASETS = {"vtab/cifar10": "classification", "voc2007_multilabel": "multilabel", "flickr30k": "retrieval"}


@pytest.fixture(scope="module")
def hub():
    fake = FakeHub()
    for name, kind in DATASETS.items():
        for filename, data in wds_files(kind).items():
            fake.add(wds.repo_id(name), filename, data, repo_type="dataset")
    server = start(fake)
    yield fake
    server.shutdown()


def test_repository_names_follow_clip_benchmark():
    assert wds.repo_id("vtab/cifar10") == "clip-benchmark/wds_vtab-cifar10"
    assert wds.repo_id("imagenet1k") == "clip-benchmark/wds_imagenet1k"


def test_suite_from_the_hub_each_dataset_with_its_metric(hub, tmp_path):
    names = list(DATASETS) + ["mnist"]  # mnist: no repository on this hub
    df, missing = evaluate_suite("ladder-xs", None, "paper", names, endpoint=hub.url, cache_dir=tmp_path,
                                 progress=False, meta={"name": "untrained"})
    rows = df.set_index("downstream_dataset")
    assert list(rows.index) == list(DATASETS)  # no aggregate: their components are not all there
    cls = rows.loc["vtab/cifar10"]
    assert cls.task == "zeroshot_classification" and cls.n_images == 6
    assert 0 <= cls.acc1 <= 1 and 0 <= cls.mean_per_class_recall <= 1 and np.isnan(cls.acc5)  # 3 classes
    ml = rows.loc["voc2007_multilabel"]
    assert 0 < ml.mean_average_precision <= 1 and np.isnan(ml.acc1)
    ret = rows.loc["flickr30k"]
    assert ret.task == "zeroshot_retrieval"
    assert 0 <= ret["image_retrieval_recall@5"] <= 1 and 0 <= ret["text_retrieval_recall@5"] <= 1
    # text -> image: 6 images, so each caption's image is in its top 10. image -> text ranks 30
    # captions, so an untrained model's top 10 may miss all 5 of an image's (this flaked as == 1.0).
    assert ret["image_retrieval_recall@10"] == 1.0 and 0 <= ret["text_retrieval_recall@10"] <= 1
    assert ret.n_images == 6
    assert [m.dataset for m in missing] == ["mnist"]
    assert "clip-benchmark/wds_mnist not found" in missing[0].reason
    assert any("wds_vtab-cifar10" in str(p) for p in tmp_path.rglob("0.tar"))  # in huggingface_hub's cache


def test_local_copy_gives_the_same_rows(hub, tmp_path):
    root = tmp_path / "local" / "wds_vtab-cifar10"
    for filename, data in wds_files("classification").items():
        (root / filename).parent.mkdir(parents=True, exist_ok=True)
        (root / filename).write_bytes(data)
    torch.manual_seed(0)  # random weights: the same for both calls
    local, miss_local = evaluate_suite("ladder-xs", None, "paper", ["vtab/cifar10", "gtsrb"],
                                       dataset_root=tmp_path / "local", progress=False)
    torch.manual_seed(0)
    remote, _ = evaluate_suite("ladder-xs", None, "paper", ["vtab/cifar10"], endpoint=hub.url,
                               cache_dir=tmp_path / "c", progress=False)
    assert local.acc1.iloc[0] == remote.acc1.iloc[0]
    assert [m.dataset for m in miss_local] == ["gtsrb"] and "no local copy" in miss_local[0].reason


def test_unknown_suite_and_dataset_list_what_exists():
    with pytest.raises(NotFoundError, match="unknown suite 'papr'.*paper"):
        suite_datasets("papr")
    with pytest.raises(NotFoundError, match="imagenet1k"):
        suite_datasets("paper", "imagenet-1k")
    assert len(suite_datasets("paper")) == 38


def test_cli_unknown_dataset_is_one_line_listing_what_exists():
    import os
    import subprocess

    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2] / "src"))
    out = subprocess.run([sys.executable, "-m", "clipscale", "eval", "--arch", "ladder-xs", "--suite", "paper",
                          "--datasets", "imagenet-1k"], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "imagenet1k" in out.stderr
