"""Fine-tune a checkpoint on a task and report its test top-1 as a results row (eval_type = finetune).

The driver around clipscale.evaluate.finetune: load the checkpoint (evaluate.checkpoints.load_model),
load the task's train and test splits, build the head (zero-shot classifier, or under LP-FT the linear
probe of the training images), train (resumable),
apply WiSE-FT, evaluate, write OUT/finetuned.pt (OpenCLIP format + head, atomic) and OUT/results.csv.
"""
from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import pandas as pd
import torch

from clipscale._io import atomic_write_with
from clipscale.evaluate import finetune as ft
from clipscale.evaluate.checkpoints import load_model
from clipscale.evaluate.datasets import task_data
from clipscale.evaluate.metrics import classification_metrics
from clipscale.evaluate.progress import ProgressArg
from clipscale.evaluate.results import make_row, to_frame
from clipscale.evaluate.checkpoint_eval import check_device, checkpoint_world, in_world


def finetune_checkpoint(arch: str, checkpoint, task: str, out, recipe: ft.Recipe = ft.Recipe(), *,
                        device: str = "cpu", meta: dict | None = None, probe: bool = False,
                        progress: ProgressArg = False) -> pd.DataFrame:
    """One results row: the test top-1 (a fraction) of `checkpoint` fine-tuned on `task`'s train split.

    The row's `task` and `eval_type` are 'finetune'; `finetune_recipe` holds the recipe as JSON,
    `zeroshot_acc1` the head's accuracy before training (step 0) and `train_images` the number of
    training images. probe: also `linear_probe_acc1` (and `probe_C`), a logistic-regression probe on
    the frozen pre-trained features of the same training images, scored on the same test images.
    recipe.head_init 'probe' starts training from that probe's head (LP-FT), so step 0 scores
    linear_probe_acc1; `zeroshot_acc1` stays the zero-shot text classifier's accuracy.
    Rerunning with the same `out` resumes from the last epoch checkpoint and gives the same numbers.
    An embedded task is the one of the world the checkpoint's run was trained in (checkpoint_world).
    """
    recipe.check()
    check_device(device)
    with in_world(checkpoint_world(checkpoint)):
        return _finetune(arch, checkpoint, task, out, recipe, device=device, meta=meta, probe=probe,
                         progress=progress)


def _finetune(arch, checkpoint, task, out, recipe, *, device, meta, probe, progress) -> pd.DataFrame:
    spec = ft.finetune_task(task)
    data = task_data(spec, limit=recipe.limit, need_train=True)
    if data.train is None:
        ft.load_split(spec, data, "train", None)  # raises the one-line DataError
    model, preprocess, tokenizer, info = load_model(arch, checkpoint, device=device)
    train_x, train_y = ft.load_split(spec, data, "train", preprocess, recipe.train_images)
    test_x, test_y = ft.load_split(spec, data, "test", preprocess)
    torch.manual_seed(recipe.seed)
    clf = ft.build_classifier(model, tokenizer, data, device=device)
    pred = dict(batch_size=recipe.batch_size, device=device, precision=recipe.precision)
    extra = {"zeroshot_acc1": classification_metrics(ft.predict(clf, test_x, **pred), test_y)["acc1"]}
    if probe or recipe.head_init == "probe":  # before training: the probe sees the pre-trained tower
        scores, head = _probe(clf, train_x, train_y, test_x, test_y, len(data.classnames), device)
        if probe:
            extra.update(scores)
        if recipe.head_init == "probe":
            clf.set_head(*head)
    zero = {k: v.detach().clone() for k, v in clf.state_dict().items()}  # step 0, for WiSE-FT
    out = Path(out)
    ft.train_head(clf, train_x, train_y, recipe, out, device=device, progress=progress)
    if recipe.wise_alpha < 1.0:
        clf.load_state_dict(ft.wise(zero, clf.state_dict(), recipe.wise_alpha))
    metrics = classification_metrics(ft.predict(clf, test_x, **pred), test_y)
    _save_openclip(out / "finetuned.pt", model, clf, recipe, info)
    row = make_row(replace(spec, kind=ft.FINETUNE), metrics, arch=arch, info=info, meta=meta or {},
                   n_images=len(test_y), n_skipped=0)
    row.update({"eval_type": ft.FINETUNE, "finetune_recipe": json.dumps(asdict(recipe), sort_keys=True),
                "train_images": len(train_y), **extra})
    df = to_frame([row])
    for k in ("eval_type", "finetune_recipe", *extra):
        df[k] = row[k]
    return df


def _probe(clf: ft.Classifier, train_x, train_y, test_x, test_y, n_classes: int,
           device: str) -> tuple[dict, tuple]:
    """A probe on the classifier's current image features: ({linear_probe_acc1 (a fraction), probe_C},
    (weight, bias) of the probe in logit units, for Classifier.set_head)."""
    from clipscale.evaluate import linear_probe
    from clipscale.evaluate.metrics import classification_metrics

    feats = dict(batch_size=256, device=device)
    weight, bias, c, _ = linear_probe.fit(ft.image_features(clf, train_x, **feats), train_y, n_classes)
    logits = ft.image_features(clf, test_x, **feats).double() @ weight.T + bias
    acc1 = classification_metrics(logits, torch.as_tensor(test_y))["acc1"]
    return {"linear_probe_acc1": acc1, "probe_C": c}, (weight.float(), bias.float())


def _save_openclip(path: Path, model, clf: ft.Classifier, recipe: ft.Recipe, info) -> None:
    """OpenCLIP-format file (state_dict of the whole CLIP model, tuned image tower) plus the head."""
    state = {"state_dict": {k: v.cpu() for k, v in model.state_dict().items()},
             "head": {k: v.cpu() for k, v in clf.head.state_dict().items()},
             "epoch": info.epoch, "samples_seen": info.samples_seen, "finetune_recipe": asdict(recipe)}
    atomic_write_with(path, lambda tmp: torch.save(state, tmp))


#: the results table of a fine-tune output folder (`clipscale finetune --out`, a study's cache)
RESULTS_FILE = "results.csv"


def write_results(df: pd.DataFrame, out) -> Path:
    """OUT/results.csv, replaced atomically (a rerun rewrites, never duplicates, its rows)."""
    path = Path(out) / RESULTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_with(path, lambda tmp: df.to_csv(tmp, index=False))
    return path


def finetune_study(settings, runs, *, cache_dir, results_path) -> pd.DataFrame | None:
    """A study's [finetune]: each done run's last checkpoint fine-tuned on settings.tasks.

    runs: (name, run folder). Results are cached (and resumable) under CACHE_DIR/<run>/<task>/ and
    their rows appended to `results_path` (the study's results.csv, which the study rebuilds from its
    runs on every merge).
    """
    if not settings.tasks:
        return None
    from clipscale.evaluate.results import append_results
    from clipscale.evaluate.run_folders import final_point
    from clipscale.errors import NotFoundError

    recipe = ft.Recipe(epochs=settings.epochs, lr=settings.lr, batch_size=settings.batch_size,
                       wise_alpha=settings.wise_alpha, head_init=settings.head_init, limit=settings.limit or None,
                       train_images=settings.train_images or None)
    frames = []
    for name, run_dir in runs:
        try:
            last = final_point(run_dir)  # a plain run's last epoch, a cool-down run's largest level
        except NotFoundError:
            continue  # a run that is not done has nothing to fine-tune yet
        for task in settings.tasks:
            out = Path(cache_dir) / name / task.replace("/", "-")
            if (out / RESULTS_FILE).exists():
                frames.append(pd.read_csv(out / RESULTS_FILE))
                continue
            df = finetune_checkpoint(last.arch, last.checkpoint, task, out, recipe, meta=last.meta, progress=False)
            write_results(df, out)
            frames.append(df)
    if not frames:
        return None
    rows = pd.concat(frames, ignore_index=True)
    append_results(rows, results_path)
    return rows
