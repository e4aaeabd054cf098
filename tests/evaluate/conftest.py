"""Fixtures of the evaluation tests: an untrained ladder-xs and a fake training run folder."""
from __future__ import annotations

import json

import pytest
import torch


@pytest.fixture(scope="session")
def xs():
    """(model, preprocess, tokenizer) of an untrained ladder-xs, seeded."""
    from clipscale import models

    torch.manual_seed(0)
    return models.create("ladder-xs")


def _save_checkpoint(path, model, *, epoch: int, samples_seen: int) -> None:
    """An OpenCLIP-format training checkpoint, as clipscale.train writes it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"epoch": epoch, "name": "test", "state_dict": model.state_dict(), "samples_seen": samples_seen}, path)


@pytest.fixture(scope="session")
def save_checkpoint():
    """save_checkpoint(path, model, epoch=..., samples_seen=...)."""
    return _save_checkpoint


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory):
    """A run folder: spec.json and two epoch checkpoints of ladder-xs with different weights."""
    from clipscale import models

    root = tmp_path_factory.mktemp("run")
    (root / "spec.json").write_text(json.dumps({"model": "ladder-xs", "data_size": 5000, "samples_seen": 4096,
                                                "epochs": 2, "batch_size": 128}))
    for epoch in (1, 2):
        torch.manual_seed(epoch)
        model, _, _ = models.create("ladder-xs")
        _save_checkpoint(root / "checkpoints" / f"epoch_{epoch}.pt", model, epoch=epoch, samples_seen=2048 * epoch)
    return root
