"""The second engine: the same TrainSpec through OpenCLIP's own trainer, `open_clip_train.main`.

For users who want the official code path on their cluster. Rough edges of open_clip_train 3.x
handled here (each has a test in tests/train/test_openclip_engine.py):
- It returns normally (exit status 0) on many of its own errors ("Experiment already exists",
  bad resume, a failing data pipeline after the first epoch): a run is judged by its artifacts,
  every expected checkpoints/epoch_N.pt present and loadable, never by its return value.
- Its default precision is fp16 'amp' (slow, and unsupported on CPU): fp32 or amp_bf16 is always
  passed explicitly.
- Under torchrun on CPU it wraps the model in DDP with device_ids=[cpu], which torch rejects:
  DDP is given device_ids=None for CPU devices while the trainer runs.
- It writes checkpoints with a plain torch.save: here they are written atomically.
- Its shard reader (open_clip_train.data.group_by_keys_nothrow) fails with KeyError 'fname' on the
  end-of-shard marker ({}) that webdataset >= 1.0 yields: the expander is given eof_value=None.
- An exception inside it (a bad shard, a bad option) becomes a TrainingError with its message.
- Its data order is not reproducible (shard and sample shuffle buffers seeded per worker), so two
  runs of one spec differ; use the native engine when bits matter. (An epoch longer than the data
  repeats the shards: webdataset's with_epoch, which it uses, repeats its source.)
The embedded data is written once as webdataset shards in <out>/shards (LAION layout).
"""
from __future__ import annotations

import contextlib
import json
import math
import re
import time
from pathlib import Path

from clipscale._io import atomic_write_json, atomic_write_with
from clipscale._logs import logging_restored
from clipscale.errors import TrainingError, UserInputError
from clipscale.train import distributed
from clipscale.train.run import RunFolder, TrainResult, compute_record
from clipscale.train.spec import TrainSpec

PRECISION = {"fp32": "fp32", "bf16": "amp_bf16"}
SAMPLES_PER_SHARD = 10_000  # img2dataset's default
_LOG_RE = re.compile(r"Train Epoch: (\d+) \[\s*(\d+)/(\d+).*?Batch \(t\): ([\d.]+), ([\d.]+)/s.*?"
                     r"LR: ([\d.e+-]+) Logit Scale: ([\d.]+) Contrastive_loss: ([\d.naif]+)")


def to_argv(spec: TrainSpec, out_dir: str | Path, *, train_data: str, world_size: int = 1, device: str = "cpu",
            workers: int = 1, resume: bool = False) -> list[str]:
    """open_clip_train.main arguments that run `spec` into `out_dir` (checkpoints in out_dir/checkpoints).

    OpenCLIP counts per-GPU batches and warmup steps; an epoch is --train-num-samples samples, so
    each of spec.epochs chunks is samples_seen // epochs samples, rounded up to whole batches.
    """
    out = Path(out_dir).resolve()
    per_epoch = spec.samples_seen // spec.epochs
    argv = ["--model", spec.model, "--train-data", train_data, "--dataset-type", "webdataset",
            "--train-num-samples", str(per_epoch), "--batch-size", str(spec.batch_size // world_size),
            "--epochs", str(spec.epochs), "--lr", repr(spec.lr), "--wd", repr(spec.weight_decay),
            "--warmup", str(max(spec.warmup_steps, 1)), "--beta1", "0.9", "--beta2", "0.98", "--eps", "1e-6",
            "--precision", PRECISION[spec.precision], "--seed", str(spec.seed), "--workers", str(workers),
            "--device", device, "--logs", str(out.parent), "--name", out.name, "--save-frequency", "1",
            "--report-to", "", "--log-every-n-steps", "1", "--gather-with-grad",
            # Whole-image crops, as the native engine (OpenCLIP's default crops 90-100% of the area;
            # its aspect jitter stays on, at most a pixel at 32 px).
            "--aug-cfg", "scale=(1.0,1.0)"]
    argv += schedule_argv(spec)
    if resume:
        argv += ["--resume", "latest"]
    return argv


def schedule_argv(spec: TrainSpec) -> list[str]:
    """open_clip_train's --lr-scheduler options for the spec's schedule (cosine: its default, none).

    Its const-cooldown counts the cool-down in whole epochs (--epochs-cooldown) and decays as
    (1 - p) ** power, so only a linear cool-down (power 1) over a whole number of epochs translates;
    anything else is a UserInputError naming the fix.
    """
    if spec.epoch_ends is not None:
        raise UserInputError("open_clip_train checkpoints at equal epochs only (no epoch_ends); use --engine native")
    if spec.schedule == "cosine":
        return []
    if spec.schedule == "const":
        return ["--lr-scheduler", "const"]
    if spec.cooldown_shape != "linear":
        raise UserInputError(f"open_clip_train has no {spec.cooldown_shape} cool-down (its shape is (1 - p)^power); "
                             f"use --cooldown-shape linear or --engine native")
    epochs = spec.cooldown * spec.epochs
    if abs(epochs - round(epochs)) > 1e-9 or round(epochs) < 1:
        raise UserInputError(f"open_clip_train counts the cool-down in whole epochs: cool-down {spec.cooldown} x "
                             f"{spec.epochs} epochs = {epochs:g}; use --epochs {round(1 / spec.cooldown)} (or a "
                             f"multiple) or --engine native")
    return ["--lr-scheduler", "const-cooldown", "--epochs-cooldown", str(round(epochs)),
            "--lr-cooldown-power", "1.0", "--lr-cooldown-end", repr(float(spec.final_lr))]


def write_embedded_shards(spec: TrainSpec, folder: Path, min_shards: int) -> str:
    """Write the embedded data as shards once (rank 0); returns the brace pattern of the shards."""
    from clipscale.data import EmbeddedDataset, write_shards

    n_shards = max(min_shards, math.ceil(spec.data_size / SAMPLES_PER_SHARD))
    per_shard = math.ceil(spec.data_size / n_shards)
    n_shards = math.ceil(spec.data_size / per_shard)
    pattern = str(folder / f"{{000000..{n_shards - 1:06d}}}.tar")
    manifest = folder / "shards.json"
    if not manifest.exists():
        write_shards(EmbeddedDataset(spec.data_size, seed=0), str(folder / "%06d.tar"), samples_per_shard=per_shard)
        atomic_write_json(manifest, {"pattern": pattern, "data_size": spec.data_size, "shards": n_shards})
    return pattern


def _wait_for(path: Path, timeout_s: float = 3600) -> None:
    deadline = time.time() + timeout_s
    while not path.exists():
        if time.time() > deadline:
            raise TrainingError(f"timed out waiting for rank 0 to write {path}")
        time.sleep(0.5)


def expected_steps(spec: TrainSpec, workers: int = 1) -> int:
    """Optimizer steps open_clip_train takes (its get_wds_dataset rounds batches up per worker)."""
    per_worker = math.ceil(math.ceil((spec.samples_seen // spec.epochs) / spec.batch_size) / max(1, workers))
    return spec.epochs * per_worker * max(1, workers)


@contextlib.contextmanager
def _patched():
    """While open_clip_train runs: DDP with device_ids=None on CPU, atomic torch.save, and a shard
    expander without the end-of-shard marker its grouping code cannot read."""
    import functools

    import torch
    import webdataset
    from open_clip_train import data as oc_data

    real_ddp, real_save = torch.nn.parallel.DistributedDataParallel, torch.save
    real_expander = oc_data.tar_file_expander

    class CpuSafeDDP(real_ddp):
        def __init__(self, module, device_ids=None, *args, **kwargs):
            if device_ids and all(torch.device(d).type == "cpu" for d in device_ids):
                device_ids = None  # torch: "device_ids ... must be None for CPU modules"
            super().__init__(module, device_ids, *args, **kwargs)

    def atomic_save(obj, f, *args, **kwargs):
        if not isinstance(f, (str, Path)):
            return real_save(obj, f, *args, **kwargs)
        atomic_write_with(f, lambda tmp: real_save(obj, tmp, *args, **kwargs))

    torch.nn.parallel.DistributedDataParallel, torch.save = CpuSafeDDP, atomic_save
    oc_data.tar_file_expander = functools.partial(webdataset.tariterators.tar_file_expander, eof_value=None)
    try:
        yield
    finally:
        torch.nn.parallel.DistributedDataParallel, torch.save = real_ddp, real_save
        oc_data.tar_file_expander = real_expander


def _call_main(argv: list[str]):
    """open_clip_train.main(argv); its return value and SystemExit code are reported, not trusted."""
    from open_clip_train import main as oc_main

    try:
        with _patched(), logging_restored():  # open_clip_train sets every logger to INFO
            return oc_main.main(argv)
    except SystemExit as exc:
        return exc.code
    except Exception as exc:  # noqa: BLE001 - its failures are ours to report, in one line
        raise TrainingError(f"open_clip_train failed: {type(exc).__name__}: {str(exc).strip().splitlines()[-1:]}; "
                            f"see out.log in the run folder") from exc


def parse_log(path: Path, global_batch: int) -> list[dict]:
    """Metrics rows from open_clip_train's text log (it logs every step with --log-every-n-steps 1).

    The step is read from each line (epoch and samples done in it), and a step logged twice (a
    resumed run re-does the steps after its last checkpoint) keeps its last line.
    """
    if not path.exists():
        return []
    rows = {}
    for m in _LOG_RE.finditer(path.read_text(errors="replace")):
        epoch, done, per_epoch, batch_t, rate, lr, scale, loss = m.groups()
        step = int(epoch) * math.ceil(int(per_epoch) / global_batch) + int(done) // global_batch
        rows[step] = {"step": step, "epoch": int(epoch) + 1, "samples_seen": step * global_batch,
                      "loss": float(loss), "lr": float(lr), "logit_scale": float(scale),
                      "samples_per_s": float(rate), "batch_s": float(batch_t)}
    return [rows[k] for k in sorted(rows)]


def _judge(folder: RunFolder, spec: TrainSpec, returned, log: Path) -> None:
    """Raise TrainingError unless every epoch's checkpoint exists and the last one loads and is finite."""
    import torch

    missing = [folder.checkpoint(e).name for e in range(1, spec.epochs + 1) if not folder.checkpoint(e).exists()]
    tail = " | ".join(log.read_text(errors="replace").strip().splitlines()[-3:]) if log.exists() else "(no log)"
    if missing:
        raise TrainingError(f"open_clip_train returned {returned!r} but did not write {missing}; "
                            f"its log ({log}) ends: {tail}")
    ckpt = torch.load(folder.checkpoint(spec.epochs), map_location="cpu", weights_only=True)
    bad = [k for k, t in ckpt["state_dict"].items() if t.is_floating_point() and not torch.isfinite(t).all()]
    if bad:
        raise TrainingError(f"open_clip_train wrote non-finite weights ({bad[:3]}); lower --lr or use fp32")


def _prepare(folder: RunFolder, spec: TrainSpec, rank: int, resume: bool, min_shards: int) -> str:
    """Rank 0 claims the folder and writes the embedded data as shards; returns the shard pattern."""
    shards = folder.root / "shards"
    if rank == 0:
        folder.claim(spec, resume)
        if not folder.checkpoints() and (folder.root / "out.log").exists():
            (folder.root / "out.log").unlink()  # a failed earlier start; OpenCLIP would refuse the folder
        return spec.train_data or write_embedded_shards(spec, shards, min_shards)
    if spec.train_data:
        return spec.train_data
    _wait_for(shards / "shards.json")
    return json.loads((shards / "shards.json").read_text())["pattern"]


def run(spec: TrainSpec, out_dir: str | Path, *, resume: bool = True, progress: bool = True,
        workers: int = 1) -> TrainResult:
    """Train `spec` through open_clip_train into `out_dir` (see clipscale.train.train)."""
    import os

    import torch

    from clipscale.models import model_config

    model_config(spec.model)
    t0 = time.perf_counter()
    folder = RunFolder(out_dir)
    done = folder.finished(spec)
    if done is not None:
        return done
    world, rank = distributed.world_size_from_env(), int(os.environ.get("RANK", "0"))
    if spec.batch_size % world:
        raise UserInputError(f"batch size {spec.batch_size} does not split over {world} processes; use a multiple")
    pattern = _prepare(folder, spec, rank, resume, min_shards=world * max(1, workers))
    if spec.num_threads:
        torch.set_num_threads(spec.num_threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    argv = to_argv(spec, folder.root, train_data=pattern, world_size=world, device=device, workers=workers,
                   resume=resume and bool(folder.checkpoints()))
    returned = _call_main(argv)
    log = folder.root / "out.log"
    _judge(folder, spec, returned, log)
    rows = parse_log(log, spec.batch_size)
    steps = expected_steps(spec, workers)
    if not rows or rows[-1]["step"] != steps:  # a short epoch would still save its checkpoint
        raise TrainingError(f"open_clip_train logged {rows[-1]['step'] if rows else 0} of {steps} steps; "
                            f"see {log}")
    steady = [r["samples_per_s"] for r in rows[1:]] or [r["samples_per_s"] for r in rows]
    result = TrainResult(out_dir=folder.root, checkpoints=folder.checkpoints(),
                         final_checkpoint=folder.checkpoint(spec.epochs), samples_seen=steps * spec.batch_size,
                         steps=steps, wall_s=time.perf_counter() - t0,
                         samples_per_s=len(steady) / sum(1 / r for r in steady) if steady else 0.0,
                         engine="open_clip", extra={"argv": argv, "returned": returned, "world_size": world,
                                                    "threads": torch.get_num_threads(), "device": device,
                                                    **compute_record(spec.model, steps * spec.batch_size)})
    if rank == 0:
        folder.write_metrics(rows)
        folder.finish(result)
    return result
