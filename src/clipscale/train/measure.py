"""Measured training speed of a model on this machine: real optimizer steps, timed over a window.

Used by study budgets (clipscale.study.budget) to size grids, and to pick the precision: bf16
autocast pays on CPUs with native bf16 (AVX-512 BF16, AMX) and is emulated, many times slower,
elsewhere.

A handful of steps is not enough: on 2 cores, 6 steps of a 16-wide model (0.13 s) gave 3,000 to
5,500 samples/s from one call to the next. The steps are therefore timed over a window of
`seconds` after a warm-up of at least `warmup_s`, each on a fresh batch drawn the way the trainer
draws it (clipscale.train.batches: a gather from the pre-rendered pairs, normalised), so the
figure includes the per-step data cost of a real run.
"""
from __future__ import annotations

import time

import numpy as np
import torch

POOL_BATCHES = 8  # distinct pre-rendered batches the steps cycle through


def train_speed(model_name: str, batch_size: int, *, precision: str = "fp32", seconds: float = 1.0,
                min_steps: int = 5, warmup_s: float = 0.3, warmup_steps: int = 3) -> float:
    """Samples/s of the native trainer's step for `model_name` at `batch_size` (embedded data,
    current torch thread count): steps timed for at least `seconds` and `min_steps`, after an
    untimed warm-up of at least `warmup_s` and `warmup_steps`. The weights are thrown away."""
    from open_clip.loss import ClipLoss

    from clipscale.train.batches import EmbeddedBatches
    from clipscale.train.native import autocast, build_model, build_optimizer, train_step
    from clipscale.train.spec import TrainSpec

    spec = TrainSpec(model_name, data_size=POOL_BATCHES * batch_size, samples_seen=batch_size,
                     batch_size=batch_size, precision=precision)
    device = torch.device("cpu")
    model, _, tokenizer = build_model(spec, device)
    optimizer = build_optimizer(model, spec)
    size = model.visual.image_size
    batches = EmbeddedBatches(spec.data_size, batch_size, seed=1, tokenize=tokenizer,
                              image_size=size[0] if isinstance(size, (tuple, list)) else size, tokenizer_key=None)
    loss = ClipLoss()

    def steps_for(budget_s: float, at_least: int, first: int) -> tuple[int, float]:
        start, n = time.perf_counter(), 0
        while n < at_least or time.perf_counter() - start < budget_s:
            images, tokens = batches.batch(first + n)
            train_step(model, loss, optimizer, images, tokens, spec.lr, autocast(spec, device))
            n += 1
        return n, time.perf_counter() - start

    done, _ = steps_for(warmup_s, warmup_steps, 0)
    n, elapsed = steps_for(seconds, min_steps, done)
    return n * batch_size / elapsed


def prerender_speed(model_name: str, n: int = 1024) -> float:
    """Pairs/s of pre-rendering and tokenizing the embedded data for `model_name` (a run renders its
    data once per worker process, before its first step)."""
    import open_clip

    from clipscale.train.batches import EmbeddedBatches

    cfg = open_clip.get_model_config(model_name) or {}
    size = cfg.get("vision_cfg", {}).get("image_size", 32)
    tokenizer = open_clip.get_tokenizer(model_name)
    start = time.perf_counter()
    EmbeddedBatches(n, n, seed=0, tokenize=tokenizer, image_size=size[0] if isinstance(size, (tuple, list)) else size)
    return n / (time.perf_counter() - start)
