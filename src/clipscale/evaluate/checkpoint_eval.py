"""`evaluate` (one checkpoint, many tasks) and `evaluate_run` (every epoch of a run: learning curves)."""
from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import torch

from clipscale.errors import DataError, UserInputError
from clipscale.evaluate import linear_probe, zeroshot
from clipscale.evaluate.checkpoints import epoch_files, load_model, run_arch, run_meta, run_spec
from clipscale.evaluate.datasets import TaskData, task_data
from clipscale.evaluate.features import DecodedImages, Encoded, FeatureCache
from clipscale.evaluate.progress import ProgressArg, resolve
from clipscale.evaluate.results import make_row, to_frame
from clipscale.evaluate.tasks import LINEAR_PROBE, ZEROSHOT_RETRIEVAL, Task, resolve_tasks

_log = logging.getLogger(__name__)  # the CLI shows warnings on stderr; the library prints nothing


def run_task(task: Task, data: TaskData, cache: FeatureCache, model, tokenizer, device: str = "cpu"):
    """(metrics, n_images, n_skipped) of one task, image features taken from (or put in) `cache`."""
    enc = cache.get(data.test)
    n_skipped = len(enc.skipped)
    if task.kind == ZEROSHOT_RETRIEVAL:
        return zeroshot.retrieve(enc, model, tokenizer, device=device), len(enc.targets), n_skipped
    labelled = Encoded(enc.features, [data.label(t) for t in enc.targets], enc.indices, enc.skipped)
    if task.kind == LINEAR_PROBE:
        if data.train is None:
            raise DataError(f"task {task.name!r} has no training split for a linear probe")
        tr = cache.get(data.train)
        out = linear_probe.probe(tr.features, [data.label(t) for t in tr.targets], labelled.features,
                                 labelled.targets, len(data.classnames), fewshot_k=task.fewshot_k)
        return out, len(enc.targets), n_skipped + len(tr.skipped)
    if data.per_image_prompts is not None:
        prompts = [data.per_image_prompts(t) for t in enc.targets]
        labels = [int(data.label(t)) for t in enc.targets]
        return zeroshot.per_image_classify(enc, prompts, labels, model, tokenizer, device=device), \
            len(enc.targets), n_skipped
    weights = zeroshot.classifier_weights(model, tokenizer, data.classnames, data.templates, device=device)
    return zeroshot.classify(labelled, weights, multilabel=data.multilabel), len(enc.targets), n_skipped


def check_device(device: str) -> None:
    """UserInputError for a device this machine does not have (instead of torch's traceback)."""
    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise UserInputError(f"unknown device {device!r} ({exc}); use cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UserInputError(f"device {device!r} asked for but no CUDA GPU is available; use --device cpu")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise UserInputError(f"device {device!r}: only {torch.cuda.device_count()} GPU(s); use cuda:0 ... "
                             f"cuda:{torch.cuda.device_count() - 1}")


def evaluate(arch: str, checkpoint=None, tasks=None, *, data_root=None, device: str = "cpu",
             batch_size: int = 256, meta: dict | None = None, limit: int | None = None,
             progress: ProgressArg = False, decoded: DecodedImages | None = None) -> pd.DataFrame:
    """Evaluate one checkpoint on tasks; one row per task in the results schema (metrics as fractions).

    arch: OpenCLIP or ladder name. checkpoint: local .pt path, OpenCLIP pretrained tag, or None
    (random weights). tasks: names, patterns ('embedded/*') or Task objects; None = DEFAULT_EMBEDDED_TASKS.
    meta: overrides/extra facts for the rows (upstream_dataset, samples_seen, name, gmacs, epoch).
    limit: at most this many images per split and task (quick runs). Image features are computed once
    per image set and shared by the tasks that use it. decoded: a DecodedImages shared by the calls of
    several checkpoints, so that their images are rendered or read once. progress: a callback
    (clipscale.evaluate.progress) or True for bars on stderr; silent by default.
    """
    check_device(device)
    task_list = resolve_tasks(tasks)
    datas = [(t, task_data(t, data_root=data_root, limit=limit)) for t in task_list]  # fail fast on data
    model, preprocess, tokenizer, info = load_model(arch, checkpoint, device=device)
    cache = FeatureCache(model, preprocess, batch_size=batch_size, device=device, progress=progress,
                         decoded=decoded)
    return _evaluate_loaded(arch, model, tokenizer, info, datas, cache, meta or {}, device)


def _evaluate_loaded(arch, model, tokenizer, info, datas, cache, meta, device) -> pd.DataFrame:
    rows = []
    for task, data in datas:
        metrics, n_images, n_skipped = run_task(task, data, cache, model, tokenizer, device)
        rows.append(make_row(task, metrics, arch=arch, info=info, meta=meta, n_images=n_images, n_skipped=n_skipped))
        if n_skipped:
            _log.warning("%s: %d unreadable image(s) skipped", task.name, n_skipped)
    return to_frame(rows)


def evaluate_run(run_dir, tasks=None, *, arch: str | None = None, data_root=None, device: str = "cpu",
                 batch_size: int = 256, meta: dict | None = None, limit: int | None = None,
                 progress: ProgressArg = False) -> pd.DataFrame:
    """Evaluate every checkpoints/epoch_N.pt of a run folder: one table (learning curves), by epoch.

    The architecture comes from the run's spec.json (`model`) unless `arch` is given; samples seen
    and epoch come from each checkpoint (spec's samples per epoch x epoch when a checkpoint lacks it).
    """
    check_device(device)
    run_dir = Path(run_dir)
    spec = run_spec(run_dir)
    arch = run_arch(run_dir, spec, arch)
    files = epoch_files(run_dir)
    task_list = resolve_tasks(tasks)
    datas = [(t, task_data(t, data_root=data_root, limit=limit)) for t in task_list]
    base = {**run_meta(run_dir, spec), **(meta or {})}
    progress = resolve(progress)  # one renderer for every epoch
    frames, decoded = [], DecodedImages()  # images are decoded (rendered) once for all epochs
    for epoch, path in files:
        model, preprocess, tokenizer, info = load_model(arch, path, device=device)
        row_meta = dict(base, epoch=epoch)
        if info.samples_seen is None and spec.get("samples_seen") and spec.get("epochs"):
            row_meta.setdefault("samples_seen", float(spec["samples_seen"]) * epoch / float(spec["epochs"]))
        cache = FeatureCache(model, preprocess, batch_size=batch_size, device=device, progress=progress,
                             decoded=decoded)
        frames.append(_evaluate_loaded(arch, model, tokenizer, info, datas, cache, row_meta, device))
    out = pd.concat(frames, ignore_index=True)
    order = {t.name: i for i, t in enumerate(task_list)}  # tasks in the order asked, then by epoch
    return out.sort_values(["eval_task", "epoch"], key=lambda c: c.map(order) if c.name == "eval_task" else c,
                           kind="stable").reset_index(drop=True)

