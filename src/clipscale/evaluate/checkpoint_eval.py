"""`evaluate` (one checkpoint, many tasks) and `evaluate_run` (every epoch of a run: learning curves)."""
from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import torch

from clipscale.errors import DataError, UserInputError
from clipscale.evaluate import linear_probe, zeroshot
from clipscale.evaluate.checkpoints import load_model, run_spec
from clipscale.evaluate.datasets import TaskData, task_data
from clipscale.evaluate.features import DecodedImages, Encoded, FeatureCache
from clipscale.evaluate.progress import ProgressArg, resolve
from clipscale.evaluate.results import make_row, to_frame
from clipscale.evaluate.run_folders import checkpoint_point
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
             progress: ProgressArg = False, decoded: DecodedImages | None = None,
             world: str | None = None) -> pd.DataFrame:
    """Evaluate one checkpoint on tasks; one row per task in the results schema (metrics as fractions).

    arch: OpenCLIP or ladder name. checkpoint: local .pt path, OpenCLIP pretrained tag, or None
    (random weights). tasks: names, patterns ('embedded/*') or Task objects; None = DEFAULT_EMBEDDED_TASKS.
    meta: overrides/extra facts for the rows (upstream_dataset, samples_seen, name, gmacs, epoch).
    limit: at most this many images per split and task (quick runs). Image features are computed once
    per image set and shared by the tasks that use it. decoded: a DecodedImages shared by the calls of
    several checkpoints, so that their images are rendered or read once. progress: a callback
    (clipscale.evaluate.progress) or True for bars on stderr; silent by default.
    world: the embedded world of the tasks; by default the one the checkpoint's run was trained in
    (its run folder's spec, or the checkpoint's own), else the active one (clipscale.data.worlds).
    Asking a world other than the checkpoint's is a UserInputError, never a silent other number.
    """
    check_device(device)
    with in_world(checkpoint_world(checkpoint, world)):
        task_list = _tasks_here(tasks)
        datas = [(t, task_data(t, data_root=data_root, limit=limit)) for t in task_list]  # fail fast on data
        model, preprocess, tokenizer, info = load_model(arch, checkpoint, device=device)
        cache = FeatureCache(model, preprocess, batch_size=batch_size, device=device, progress=progress,
                             decoded=decoded)
        return _evaluate_loaded(arch, model, tokenizer, info, datas, cache, meta or {}, device)


def checkpoint_world(checkpoint, asked: str | None = None) -> str | None:
    """The world to evaluate `checkpoint` in: the world its run recorded (run folder's spec.json, else
    the checkpoint's own spec), checked against `asked` and $CLIPSCALE_WORLD; `asked` (None: the
    active world) for weights of no clipscale run."""
    from clipscale.data.worlds import check_asked

    path = Path(checkpoint) if isinstance(checkpoint, (str, Path)) else None
    recorded = None
    if path is not None and path.is_file():
        recorded = checkpoint_point(path).world or _header_world(path)
    if recorded is None:
        return asked
    if asked is not None and asked != recorded:
        raise UserInputError(f"checkpoint {path} was trained in world {recorded!r}, not {asked!r}; its embedded "
                             f"tasks exist in its own world: drop the world you asked for")
    check_asked(recorded, f"checkpoint {path}")
    return recorded


def _header_world(path: Path) -> str | None:
    """The world in a clipscale checkpoint's own `spec` (a file moved out of its run folder)."""
    if path.suffix != ".pt":
        return None
    try:
        header = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # noqa: BLE001 - not ours to judge here: load_model reports an unreadable file
        return None
    spec = header.get("spec") if isinstance(header, dict) else None
    return (spec.get("world") or "full") if isinstance(spec, dict) else None


def in_world(world: str | None):
    """A context that makes `world` the active one (nothing when None)."""
    import contextlib

    from clipscale.data.worlds import using

    return using(world) if world else contextlib.nullcontext()


def _tasks_here(tasks) -> list[Task]:
    """resolve_tasks in the active world; a Task object resolved in another world is refused."""
    from clipscale.evaluate.tasks import SOURCE_EMBEDDED, get_task, list_tasks

    task_list = resolve_tasks(tasks)
    for t in task_list:
        if t.source == SOURCE_EMBEDDED and list_tasks(t.name) and get_task(t.name).version != t.version:
            raise UserInputError(f"task {t.name} (version {t.version}) belongs to another world than this "
                                 f"checkpoint's ({get_task(t.name).version}); pass the task's name instead")
    return task_list


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
                 progress: ProgressArg = False, level: int | None = None) -> pd.DataFrame:
    """Evaluate a run folder: every checkpoints/epoch_N.pt of a plain run (learning curves, by epoch),
    or every finished branch of a cool-down run (each one's last checkpoint, or the branch at `level`,
    samples seen; columns `level` and `branch` added), in the run's world.

    The architecture comes from the run's spec.json (`model`) unless `arch` is given; samples seen
    and epoch come from each checkpoint (spec's samples per epoch x epoch when a checkpoint lacks it).
    """
    from clipscale.evaluate.run_folders import is_cooldown_run, study_points

    check_device(device)
    run_dir = Path(run_dir)
    points = study_points(run_dir, level=level, arch=arch)
    if is_cooldown_run(run_dir):
        return _evaluate_branches(points, tasks, data_root=data_root, device=device, batch_size=batch_size,
                                  meta=meta, limit=limit, progress=progress)
    spec = run_spec(run_dir)
    with in_world(checkpoint_world(points[0].checkpoint)):
        task_list = _tasks_here(tasks)
        datas = [(t, task_data(t, data_root=data_root, limit=limit)) for t in task_list]
        progress = resolve(progress)  # one renderer for every epoch
        frames, decoded = [], DecodedImages()  # images are decoded (rendered) once for all epochs
        for point in points:
            model, preprocess, tokenizer, info = load_model(point.arch, point.checkpoint, device=device)
            row_meta = {**point.meta, **(meta or {})}
            epoch = point.meta["epoch"]
            if info.samples_seen is None and spec.get("samples_seen") and spec.get("epochs"):
                row_meta.setdefault("samples_seen", float(spec["samples_seen"]) * epoch / float(spec["epochs"]))
            cache = FeatureCache(model, preprocess, batch_size=batch_size, device=device, progress=progress,
                                 decoded=decoded)
            frames.append(_evaluate_loaded(point.arch, model, tokenizer, info, datas, cache, row_meta, device))
    out = pd.concat(frames, ignore_index=True)
    order = {t.name: i for i, t in enumerate(task_list)}  # tasks in the order asked, then by epoch
    return out.sort_values(["eval_task", "epoch"], key=lambda c: c.map(order) if c.name == "eval_task" else c,
                           kind="stable").reset_index(drop=True)


def _evaluate_branches(points, tasks, *, meta, **common) -> pd.DataFrame:
    """A cool-down run: each branch's last checkpoint, the study point of its level."""
    decoded, frames = DecodedImages(), []
    for p in points:
        facts = {k: v for k, v in p.meta.items() if k not in ("level", "branch")}
        rows = evaluate(p.arch, p.checkpoint, tasks, meta={**facts, **(meta or {})}, decoded=decoded, **common)
        frames.append(rows.assign(level=float(p.meta["level"]), branch=p.meta["branch"]))
    return pd.concat(frames, ignore_index=True)
