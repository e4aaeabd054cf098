"""load() from the (fake) hub, safe checkpoint reading, and zero-shot classify end to end."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from clipscale.cli import main
from clipscale.errors import DataError, NotFoundError, UnsafeCheckpointError, UserInputError
from clipscale.zoo import Catalog, Checkpoint, classify, load, load_state_dict, read_labels
from clipscale.zoo.loading import load_pretrained

from fakehub import FakeHub, start  # tests/zoo is on sys.path (rootdir conftest import)


class _RunsCode:
    """A pickle that would create a folder when unpickled (the attack weights_only=True blocks)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def _tiny_entry() -> Checkpoint:
    return Checkpoint("tiny-colours", "ladder-xs", "2B", "3B", 2e-3, 0, 3, 240, 1, 12, 100.0, repo_id="test/tiny",
                      epochs_repo_id="test/tiny")


def test_load_from_hub_then_classify(colour_bytes, colour_images, tmp_path):
    entry = _tiny_entry()
    fake = FakeHub()
    fake.add("test/tiny", entry.filename, colour_bytes)
    fake.add("test/tiny", entry.hub_file(3).filename, colour_bytes)
    server = start(fake)
    try:
        catalog = Catalog([entry])
        model, preprocess, tokenizer = load(model="ladder-xs", catalog=catalog, endpoint=fake.url, cache_dir=tmp_path)
        assert not model.training
        load(model="ladder-xs", epoch=3, catalog=catalog, endpoint=fake.url, cache_dir=tmp_path)
        with pytest.raises(NotFoundError, match="valid choices: ladder-xs"):
            load(model="ViT-B-32", catalog=catalog, endpoint=fake.url, cache_dir=tmp_path)
    finally:
        server.shutdown()
        server.server_close()
    names = list(colour_images)
    with pytest.raises(UserInputError, match="does not exist"):
        classify(model, preprocess, tokenizer, [tmp_path / "none.png"], ["red", "green"])
    (tmp_path / "junk.png").write_bytes(b"not an image")
    with pytest.raises(DataError, match="not a readable image"):
        classify(model, preprocess, tokenizer, [tmp_path / "junk.png"], ["red", "green"])
    preds = classify(model, preprocess, tokenizer, [colour_images[n] for n in names], ["red", "green", "blue"], top=3)
    assert [p.labels[0] for p in preds] == names
    for p in preds:
        assert list(p.probs) == sorted(p.probs, reverse=True) and 0.99 < sum(p.probs) <= 1.0 + 1e-6


@pytest.mark.slow
def test_cli_classify_local_checkpoint(colour_bytes, colour_images, tmp_path):
    """The command in a fresh process, as a user runs it."""
    ckpt = tmp_path / "colours.pt"
    ckpt.write_bytes(colour_bytes)
    labels = tmp_path / "labels.txt"
    labels.write_text("blue\nred\n\ngreen\n")
    args = [sys.executable, "-m", "clipscale", "classify", *map(str, colour_images.values()), "--arch", "ladder-xs",
            "--pretrained", str(ckpt), "--labels", str(labels), "--top", "2", "--json"]
    out = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert [r["top"][0]["label"] for r in result] == list(colour_images)
    assert all(len(r["top"]) == 2 for r in result)


def test_unsafe_checkpoint_refused(tmp_path, capsys):
    import torch

    marker = tmp_path / "code-ran"
    evil = tmp_path / "evil.pt"
    torch.save({"state_dict": {"x": torch.zeros(1)}, "payload": _RunsCode(marker)}, evil)
    with pytest.raises(UnsafeCheckpointError, match="refused to load"):
        load_state_dict(evil)
    assert not marker.exists()
    assert main(["classify", str(evil), "--arch", "ladder-xs", "--pretrained", str(evil)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("clipscale: error: refused to load") and err.count("\n") == 1 and not marker.exists()


def test_state_dict_formats(tiny_bytes, tmp_path):
    import torch
    from safetensors.torch import save_file

    pt = tmp_path / "tiny.pt"
    pt.write_bytes(tiny_bytes)
    state = load_state_dict(pt)
    assert not any(k.startswith("module.") for k in state) and "logit_scale" in state
    st = tmp_path / "tiny.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, st)
    again = load_state_dict(st)
    assert again.keys() == state.keys() and all(torch.equal(again[k], state[k]) for k in state)
    with pytest.raises(DataError, match="does not match architecture .ladder-s."):
        load_pretrained("ladder-s", pt)
    for junk in (b"not a checkpoint", b"\x80\x02junk", tiny_bytes[: len(tiny_bytes) // 2]):
        (tmp_path / "junk.pt").write_bytes(junk)
        with pytest.raises(DataError, match="not a readable PyTorch checkpoint"):
            load_state_dict(tmp_path / "junk.pt")
    legacy = tmp_path / "legacy.pt"  # the pre-1.6 format, which cannot be memory-mapped
    torch.save({"state_dict": state}, legacy, _use_new_zipfile_serialization=False)
    assert load_state_dict(legacy).keys() == state.keys()


def test_labels(tmp_path):
    import open_clip

    from clipscale.zoo.classify import templates

    names = read_labels("imagenet")
    assert len(names) == 1000 and names[1] == "goldfish"
    assert len(templates("openai")) == 80 and templates("openai") == list(open_clip.OPENAI_IMAGENET_TEMPLATES)
    with pytest.raises(UserInputError, match="one label per line"):
        read_labels(str(tmp_path / "missing.txt"))
    one = tmp_path / "one.txt"
    one.write_text("cat\n")
    with pytest.raises(UserInputError, match="at least two"):
        read_labels(str(one))


def test_cli_classify_needs_a_model(colour_images, capsys):
    assert main(["classify", str(colour_images["red"])]) == 2
    assert "no model given" in capsys.readouterr().err
    assert main(["classify", str(colour_images["red"]), "--arch", "ladder-xs", "--model", "ViT-B-32"]) == 2
    assert "not a mix" in capsys.readouterr().err
