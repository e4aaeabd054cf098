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
