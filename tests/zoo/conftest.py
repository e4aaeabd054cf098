"""Fixtures of the zoo tests: a tiny OpenCLIP checkpoint and a local fake hub serving it."""
from __future__ import annotations

import io

import pytest

from clipscale.zoo import CATALOG

from fakehub import FakeHub, start  # tests/zoo is on sys.path (rootdir conftest import)


def checkpoint_bytes(seed: int = 0, epoch: int = 1) -> bytes:
    """A ladder-xs checkpoint in OpenCLIP's training format (DDP 'module.' keys, optimizer-free)."""
    import torch

    from clipscale import models

    torch.manual_seed(seed)
    model, _, _ = models.create("ladder-xs")
    buf = io.BytesIO()
    torch.save({"epoch": epoch, "name": "test", "samples_seen": 1000 * epoch,
                "state_dict": {f"module.{k}": v for k, v in model.state_dict().items()}}, buf)
    return buf.getvalue()


@pytest.fixture(scope="session")
def tiny_bytes() -> bytes:
    return checkpoint_bytes()


@pytest.fixture()
def b32():
    """The catalog's ViT-B/32, LAION-80M, 3B run (32 epochs)."""
    return CATALOG.get(model="ViT-B-32", data="80M", samples_seen="3B")


@pytest.fixture()
def hub(tiny_bytes, b32):
    """A fake hub holding b32's final file, its epoch-2 file and ViT-H/14's epoch-3 file."""
    fake = FakeHub()
    fake.add(b32.repo_id, b32.filename, tiny_bytes)
    fake.add(b32.repo_id, b32.hub_file(2).filename, tiny_bytes[:-7] + b"epoch-2")
    h14 = CATALOG.get(model="ViT-H-14")
    fake.add(h14.epochs_repo_id, h14.hub_file(3).filename, b"h14 epoch three", repo_type="dataset")
    server = start(fake)
    yield fake
    server.shutdown()
    server.server_close()


COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (30, 40, 220)}


def train_colour_model(steps: int = 60):
    """ladder-xs trained to tell red, green and blue images apart under CLIP's 80 prompt templates.

    Contrastive steps on solid colour images with pixel noise; 60 steps are enough for the zero-shot
    answer to be right on clean images (checked by the tests that use it).
    """
    import open_clip
    import torch
    import torch.nn.functional as F

    from clipscale import models

    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    model, _, tokenizer = models.create("ladder-xs")
    model.train()
    names, templates = list(COLOURS), open_clip.OPENAI_IMAGENET_TEMPLATES
    base = torch.tensor([COLOURS[c] for c in names], dtype=torch.float32) / 255
    mean = torch.tensor(open_clip.OPENAI_DATASET_MEAN)[:, None, None]
    std = torch.tensor(open_clip.OPENAI_DATASET_STD)[:, None, None]
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    for _ in range(steps):
        idx = torch.arange(3).repeat(4)
        pixels = base[idx][:, :, None, None].expand(-1, 3, 32, 32) + 0.05 * torch.randn(len(idx), 3, 32, 32, generator=gen)
        captions = [templates[int(torch.randint(len(templates), (1,), generator=gen))](names[i]) for i in idx]
        img = F.normalize(model.encode_image((pixels.clamp(0, 1) - mean) / std), dim=-1)
        txt = F.normalize(model.encode_text(tokenizer(captions)), dim=-1)
        logits = model.logit_scale.exp() * img @ txt.T
        same = (idx[:, None] == idx[None, :]).float()
        target = same / same.sum(1, keepdim=True)
        loss = -((target * logits.log_softmax(1)).sum(1).mean() + (target * logits.log_softmax(0)).sum(0).mean()) / 2
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


@pytest.fixture(scope="session")
def colour_bytes() -> bytes:
    """The trained colour model as an OpenCLIP training checkpoint."""
    import torch

    model = train_colour_model()
    buf = io.BytesIO()
    torch.save({"epoch": 1, "state_dict": {f"module.{k}": v for k, v in model.state_dict().items()}}, buf)
    return buf.getvalue()


@pytest.fixture()
def colour_images(tmp_path):
    from PIL import Image

    paths = {}
    for name, rgb in COLOURS.items():
        paths[name] = tmp_path / f"{name}.png"
        Image.new("RGB", (48, 48), rgb).save(paths[name])
    return paths
