"""Measured training speed of a model on this machine: a few real optimizer steps, timed.

Used by study budgets (clipscale.study.budget) to size grids, and to pick the precision: bf16
autocast pays on CPUs with native bf16 (AVX-512 BF16, AMX) and is emulated, many times slower,
elsewhere.
"""
from __future__ import annotations

import time

import torch


def train_speed(model_name: str, batch_size: int, *, precision: str = "fp32", steps: int = 6,
                warmup_steps: int = 2) -> float:
    """Samples/s of the native trainer's step for `model_name` at `batch_size` (embedded data,
    current torch thread count). Untimed warm-up steps first; the weights are thrown away."""
    from open_clip.loss import ClipLoss

    from clipscale.data.embedded import EmbeddedDataset, normalize
    from clipscale.train.native import autocast, build_model, build_optimizer, train_step
    from clipscale.train.spec import TrainSpec

    spec = TrainSpec(model_name, data_size=batch_size, samples_seen=batch_size, batch_size=batch_size,
                     precision=precision)
    device = torch.device("cpu")
    model, _, tokenizer = build_model(spec, device)
    optimizer = build_optimizer(model, spec, device)
    images, texts = EmbeddedDataset(batch_size, seed=1).batch(range(batch_size))
    size = model.visual.image_size
    images = normalize(images, size[0] if isinstance(size, (tuple, list)) else size)
    tokens, loss = tokenizer(texts), ClipLoss()
    for i in range(warmup_steps + steps):
        if i == warmup_steps:
            start = time.perf_counter()
        train_step(model, loss, optimizer, images, tokens, spec.lr, autocast(spec, device))
    return steps * batch_size / (time.perf_counter() - start)
