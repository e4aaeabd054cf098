"""The catalog against the paper's trained_models_info.csv, and its filters and failed lookups."""
from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from clipscale.errors import NotFoundError, UserInputError
from clipscale.zoo import CATALOG, PAPER_CHECKPOINTS, Checkpoint, get, list_checkpoints


def test_matches_paper_table(paper_dir):
    rows = {r["name"]: r for r in csv.DictReader(open(paper_dir / "trained_models_info.csv"))}
    assert len(PAPER_CHECKPOINTS) == len(rows) == 29
    for e in PAPER_CHECKPOINTS:
        r = rows[e.filename]
        assert (e.arch, e.data, e.samples_seen_bucket) == (r["arch"], r["data"], r["samples_seen_pretty"])
        assert (e.epochs, e.samples_per_epoch, e.warmup_steps) == (int(r["epochs"]), int(r["samples_per_epoch"]), int(r["warmup"]))
        assert (e.gpus, e.local_batch_size) == (int(r["gpus"]), int(r["local_bs"]))
        assert e.lr == pytest.approx(float(r["lr"]))
        assert e.samples_per_second == pytest.approx(float(r["samples_per_sec"]))
        assert e.hub_file().url == r["url"]
        assert e.released_as == r["detailed_training_info"].replace("https://huggingface.co/", "")
    # GMACs per sample: the paper's arch_info.csv (tests/compute shows clipscale.compute.count agrees within 1%)
    archs = {r["model"]: float(r["gmacs"]) for r in csv.DictReader(open(paper_dir / "arch_info.csv"))}
    assert all(e.gmacs == archs[e.arch] for e in PAPER_CHECKPOINTS)


def test_samples_seen_and_batch_agree_with_names():
    """Exact samples seen fall near their bucket; the global batch matches the name's bs-XXk."""
    for e in PAPER_CHECKPOINTS:
        bucket = float(e.samples_seen_bucket[:-1]) * 1e9
        assert 0.8 < e.samples_seen / bucket < 1.05, e.name  # "3B" runs saw 2.4-2.6B
        bs_k = int(e.name.rsplit("bs-", 1)[1].rstrip("k"))  # the names use k = 1000 or k = 1024
        assert min(abs(e.global_batch_size / k - bs_k) for k in (1000, 1024)) < 1, e.name


def test_paper_grid_is_complete():
    combos = {(e.arch, e.data, e.samples_seen_bucket) for e in PAPER_CHECKPOINTS}
    for arch in ("ViT-B-32", "ViT-B-16", "ViT-L-14"):
        for data in ("80M", "400M", "2B"):
            for bucket in ("3B", "13B", "34B"):
                assert (arch, data, bucket) in combos
    assert ("ViT-H-14", "2B", "34B") in combos and ("ViT-g-14", "2B", "13B") in combos


def test_intermediate_files():
    e = get(model="ViT-L-14", data="400M", samples_seen="13B")
    f = e.hub_file(5)
    assert f.filename == "full_checkpoints/Model-L-14_Data-400M_Samples-13B_lr-1e-3_bs-86k/epoch_5.pt"
    assert (f.repo_id, f.repo_type, f.samples_seen) == ("laion/scaling-laws-openclip", "model", 5 * 413000000)
    h = get(model="ViT-H-14").hub_file(256)
    assert (h.repo_id, h.repo_type, h.filename) == ("laion/CLIP-ViT-H-14-laion2B-s32B-b79K-all-checkpoints", "dataset", "epoch_256.pt")
    assert h.samples_seen == 32_000_000_000
    assert h.url.startswith("https://huggingface.co/datasets/")
    with pytest.raises(UserInputError, match=r"epochs 1 \.\.\. 6"):
        get(model="ViT-B-32", data="400M", samples_seen="3B").hub_file(7)


def test_filters():
    assert len(list_checkpoints()) == 29
    assert len(list_checkpoints(model="ViT-B-32")) == 9
    assert len(list_checkpoints(model=["ViT-B/32", "ViT-L-14"], data="laion-2b")) == 6
    assert {e.arch for e in list_checkpoints(samples_seen="34B", data="2B")} == {"ViT-B-32", "ViT-B-16", "ViT-L-14", "ViT-H-14"}
    with pytest.raises(NotFoundError, match="valid choices: .*ViT-B-32"):
        list_checkpoints(model="ViT-Q-32")
    with pytest.raises(NotFoundError, match="no checkpoint matches"):
        list_checkpoints(model="ViT-H-14", data="80M")
    with pytest.raises(UserInputError, match="9 checkpoints match"):
        get(model="ViT-B-32")
    assert isinstance(get(model="ViT-g-14"), Checkpoint)


def test_entries_are_frozen():
    with pytest.raises(AttributeError):
        CATALOG.get(model="ViT-g-14").lr = 1.0


def _cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "clipscale", *args], capture_output=True, text=True, **kw)


def test_cli_list_csv_and_json():
    out = _cli("zoo", "list", "--model", "ViT-B-32", "ViT-g-14", "--format", "csv")
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(out.stdout.splitlines()))
    assert len(rows) == 10 and {"name", "arch", "data", "samples_seen", "gmacs"} <= set(rows[0])
    g14 = next(r for r in rows if r["arch"] == "ViT-g-14")
    assert int(g14["samples_seen"]) == 90 * 135646078
    assert float(g14["gmacs"]) == pytest.approx(290.74, rel=0.01)  # arch_info.csv of the paper
    assert float(g14["gmacs_total"]) == pytest.approx(290.74 * 90 * 135646078, rel=0.01)
    data = json.loads(_cli("zoo", "list", "--data", "80M", "--samples-seen", "3B", "--format", "json").stdout)
    assert sorted(r["arch"] for r in data) == ["ViT-B-16", "ViT-B-32", "ViT-L-14"]


def test_cli_bad_filter_one_line():
    out = _cli("zoo", "list", "--data", "5B")
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "valid choices: 2B, 400M, 80M" in out.stderr
