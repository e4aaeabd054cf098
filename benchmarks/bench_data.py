"""Embedded data throughput on one core: samples/s of generation (render + caption), of batches
with normalisation, and of writing/reading PNG webdataset shards. Prints its figures; not a test.

Target (issue 4): >= 5,000 samples/s on one core at 32 px.
Run: .venv/bin/python benchmarks/bench_data.py
"""
from __future__ import annotations

import tempfile
import time

import torch

from clipscale.data import EmbeddedDataset, normalize, read_shards, write_shards


def rate(fn, n: int, repeats: int = 3, clock=time.perf_counter) -> float:
    """Best samples/s of `repeats` calls of fn() that each handle n samples, timed by `clock`."""
    best = float("inf")
    for _ in range(repeats):
        t0 = clock()
        fn()
        best = min(best, clock() - t0)
    return n / best


def main() -> None:
    torch.set_num_threads(1)
    for size in (32, 64):
        ds = EmbeddedDataset(200_000, seed=0, image_size=size)
        ds.batch(range(2000))  # fill the mask caches
        n = 4000
        gen = rate(lambda: ds.batch(range(10_000, 10_000 + n)), n)
        # Per CPU second: what one core gives even when other processes share it.
        gen_cpu = rate(lambda: ds.batch(range(20_000, 20_000 + n)), n, clock=time.process_time)
        images, _ = ds.batch(range(n))
        norm = rate(lambda: normalize(images), n)
        print(f"image_size={size:3d} px  generate+caption (batch): {gen:8.0f} samples/s wall, "
              f"{gen_cpu:8.0f} per CPU-second   normalize: {norm:9.0f} samples/s   (1 thread)")
    ds = EmbeddedDataset(2000, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        write_shards(ds, f"{tmp}/%06d.tar", samples_per_shard=500)
        write = len(ds) / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        count = sum(1 for _ in read_shards(f"{tmp}/{{000000..000003}}.tar"))
        read = count / (time.perf_counter() - t0)
    print(f"shards (png, 32 px): write {write:8.0f} samples/s   read+decode {read:8.0f} samples/s")


if __name__ == "__main__":
    main()
