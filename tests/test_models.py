"""The model ladder: registry order, configs, OpenCLIP round trip, unknown names."""
from __future__ import annotations

import pytest
import torch

from clipscale.errors import NotFoundError
from clipscale.models import create, ladder, model_config


def test_ladder_is_ordered_smallest_first_and_read_from_configs():
    rungs = list(ladder().values())
    assert [r.name for r in rungs] == ["ladder-xs", "ladder-s", "ladder-m", "ladder-l", "ladder-xl"]
    assert all(a.width < b.width and a.layers <= b.layers for a, b in zip(rungs, rungs[1:]))
    for r in rungs:
        cfg = model_config(r.name)
        assert cfg["vision_cfg"]["width"] == r.width and "head_width" in cfg["vision_cfg"]
        assert cfg["text_cfg"]["context_length"] == r.context_length
        assert r.width % cfg["vision_cfg"]["head_width"] == 0 and r.width % cfg["text_cfg"]["heads"] == 0


def test_create_gives_model_preprocess_and_tokenizer_that_fit_together():
    from PIL import Image

    model, preprocess, tokenizer = create("ladder-xs")
    assert not model.training
    image = preprocess(Image.new("RGB", (48, 40), (200, 10, 10))).unsqueeze(0)
    assert tuple(image.shape) == (1, 3, 32, 32)
    tokens = tokenizer(["a small red circle"])
    assert tokens.shape[1] == ladder()["ladder-xs"].context_length
    with torch.no_grad():
        img_f, txt_f = model.encode_image(image), model.encode_text(tokens)
    assert img_f.shape == txt_f.shape == (1, model_config("ladder-xs")["embed_dim"])


def test_checkpoint_round_trips_through_open_clip(tmp_path):
    import open_clip

    model, _, _ = create("ladder-xs")
    path = tmp_path / "epoch_1.pt"
    torch.save({"state_dict": model.state_dict(), "epoch": 1}, path)
    again, _, _ = open_clip.create_model_and_transforms("ladder-xs", pretrained=str(path))
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))


def test_unknown_architecture_lists_choices():
    with pytest.raises(NotFoundError, match="ladder-xs"):
        model_config("ladder-xxxl")


def test_unknown_precision_is_an_error_not_a_silent_fp32():
    from clipscale.errors import UserInputError

    with pytest.raises(UserInputError, match="fp32"):
        create("ladder-xs", precision="fp8")
