"""End-to-end fine-tuning of a checkpoint's image tower on a classification task (the paper's 4th family).

The head is a linear layer on the unit-norm image features, initialised from the zero-shot text
classifier (head_init 'zeroshot': step 0 is the zero-shot model) or from a linear probe fitted on the
same training images (head_init 'probe': LP-FT, Kumar et al. 2022, "Fine-Tuning can Distort
Pretrained Features and Underperform Out-of-Distribution": step 0 is the linear probe, so training
starts from a head that already fits the features instead of moving them to fit a poor head). Training is AdamW with linear warmup then cosine decay,
deterministic for a seed (the order of each epoch is drawn from (seed, epoch)), and resumable: the
state after each epoch is written atomically to OUT/checkpoints/epoch_N.pt (OpenCLIP format), and a
rerun continues from the last one. WiSE-FT (Wortsman et al. 2022) mixes zero-shot and fine-tuned
weights: theta = (1 - alpha) * theta_0 + alpha * theta_finetuned, theta_0 the model at step 0
(the zero-shot model, or the pre-trained tower with the probe head under LP-FT).
"""
from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path

import torch

from clipscale._io import atomic_write_with
from clipscale.errors import DataError, UserInputError
from clipscale.evaluate.datasets import TaskData
from clipscale.evaluate.features import Pixels, load_batch
from clipscale.evaluate.progress import ProgressArg, resolve
from clipscale.evaluate.recipe import HEAD_INITS, Recipe  # noqa: F401 - re-exported: the recipe is data
from clipscale.evaluate.tasks import ZEROSHOT_CLASSIFICATION, Task, get_task
from clipscale.train.run import RunFolder

FINETUNE = "finetune"  # the `task` and `eval_type` columns of fine-tuned rows
LOGIT_SCALE = 100.0  # CLIP's logit scale on cosine similarities (the head's fixed temperature)
class Classifier(torch.nn.Module):
    """Image tower + linear head on unit-norm features: logits = 100 * normalize(visual(x)) @ W.T + b."""

    def __init__(self, visual: torch.nn.Module, weights: torch.Tensor):
        super().__init__()
        self.visual = visual
        self.head = torch.nn.Linear(weights.shape[0], weights.shape[1])
        with torch.no_grad():
            self.head.weight.copy_(weights.t())
            self.head.bias.zero_()

    def set_head(self, weight: torch.Tensor, bias: torch.Tensor) -> None:
        """Replace the head by a linear map on unit-norm features: logits = f @ weight.T + bias.

        weight (classes, features) and bias (classes,) are in logit units (a linear probe's); they are
        divided by LOGIT_SCALE, which forward multiplies back. A -inf bias (a class never seen) becomes
        -1e4 logits, so gradients stay finite.
        """
        if tuple(weight.shape) != tuple(self.head.weight.shape):
            raise UserInputError(f"head size mismatch: the probe head has shape {tuple(weight.shape)} (classes, "
                                 f"features), the classifier {tuple(self.head.weight.shape)}")
        with torch.no_grad():
            self.head.weight.copy_(weight / LOGIT_SCALE)
            self.head.bias.copy_(torch.nan_to_num(bias, neginf=-1e4) / LOGIT_SCALE)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = torch.nn.functional.normalize(self.visual(x).float(), dim=-1)
        return LOGIT_SCALE * self.head(feats)


def finetune_task(name: str) -> Task:
    """The Task to fine-tune on: a single-label zero-shot classification task with shared prompts."""
    task = get_task(name)
    if task.kind != ZEROSHOT_CLASSIFICATION:
        raise UserInputError(f"task {name!r} is {task.kind}, not a classification task; fine-tune on one of "
                             "embedded/objects, embedded/shape, embedded/words, digits or a paper benchmark")
    return task


def load_split(task: Task, data: TaskData, split: str, preprocess,
               n: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(pixels (N, 3, H, W) float32, labels (N,) int64) of a split (its first n images when n is set);
    DataError when the task lacks it."""
    source = data.test if split == "test" else data.train
    if source is None:
        raise DataError(f"task {task.name!r} has no train split to fine-tune on; pick a task with one "
                        "(embedded/objects, embedded/shape, embedded/words, digits)")
    if data.per_image_prompts is not None or data.multilabel:
        raise UserInputError(f"task {task.name!r} has per-image prompts or several labels per image; a fixed "
                             "linear head needs one class list (try embedded/objects, embedded/shape, digits)")
    images, targets, _ = load_batch(source, range(source.n if n is None else min(n, source.n)), [])
    if not images:
        raise DataError(f"task {task.name!r}: no readable image in its {split} split")
    pixels = Pixels(preprocess)(images)
    return pixels, torch.as_tensor([int(data.label(t)) for t in targets], dtype=torch.int64)


def lr_at(step: int, total: int, recipe: Recipe) -> float:
    """Learning rate of a step (0-based): linear warmup over warmup * total steps, then cosine to 0."""
    warm = int(round(recipe.warmup * total))
    if step < warm:
        return recipe.lr * (step + 1) / warm
    progress = (step - warm) / max(1, total - warm)
    return recipe.lr * 0.5 * (1.0 + math.cos(math.pi * progress))


def wise(zero: dict, tuned: dict, alpha: float) -> dict:
    """WiSE-FT: (1 - alpha) * zero + alpha * tuned, tensor by tensor (non-float tensors from `tuned`)."""
    if zero.keys() != tuned.keys():
        raise UserInputError("WiSE-FT needs two state dicts of the same model")
    out = {}
    for k, t in tuned.items():
        out[k] = ((1.0 - alpha) * zero[k].float() + alpha * t.float()).to(t.dtype) if t.is_floating_point() else t
    return out


def _autocast(precision: str, device: str):
    import contextlib

    if precision == "bf16":
        return torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def predict(model: Classifier, pixels: torch.Tensor, *, batch_size: int, device: str, precision: str) -> torch.Tensor:
    """(N, C) float32 logits of a classifier, in eval mode, without gradients."""
    model.eval()
    out = []
    with torch.no_grad(), _autocast(precision, device):
        for i in range(0, len(pixels), batch_size):
            out.append(model(pixels[i:i + batch_size].to(device)).float().cpu())
    return torch.cat(out)


def image_features(model: Classifier, pixels: torch.Tensor, *, batch_size: int, device: str) -> torch.Tensor:
    """(N, D) float32 unit-norm features of the image tower (eval mode, no gradients), for a linear probe."""
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(pixels), batch_size):
            feats = model.visual(pixels[i:i + batch_size].to(device)).float()
            out.append(torch.nn.functional.normalize(feats, dim=-1).cpu())
    return torch.cat(out)


def _last_epoch(out: Path) -> tuple[int, Path | None]:
    """(epoch, path) of the last checkpoint in `out` (a run folder's layout), (0, None) when none."""
    found = RunFolder(out).numbered_checkpoints()
    return found[-1] if found else (0, None)


def _save(path: Path, model: Classifier, opt, epoch: int, step: int, samples: int, recipe: Recipe) -> None:
    state = {"state_dict": model.state_dict(), "optimizer": opt.state_dict() if opt is not None else None,
             "epoch": epoch, "step": step, "samples_seen": samples, "recipe": asdict(recipe)}
    atomic_write_with(path, lambda tmp: torch.save(state, tmp))


def train_head(model: Classifier, pixels, labels, recipe: Recipe, out: Path, *, device: str = "cpu",
               progress: ProgressArg = False) -> Classifier:
    """Fine-tune `model` in place on (pixels, labels); resumes from out/checkpoints/epoch_N.pt.

    progress: a callback (clipscale.evaluate.progress), counted in optimizer steps.
    """
    n = len(labels)
    per_epoch = math.ceil(n / recipe.batch_size)
    epochs = recipe.epochs if recipe.samples is None else math.ceil(recipe.samples / n)
    total = per_epoch * epochs if recipe.samples is None else math.ceil(recipe.samples / recipe.batch_size)
    opt = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    start, last = _last_epoch(out)
    if last is not None:
        ck = torch.load(last, map_location="cpu", weights_only=True)
        if {**asdict(Recipe()), **(ck.get("recipe") or {})} != asdict(recipe):  # keys added later: defaults
            raise UserInputError(f"{out} holds a fine-tuning run with another recipe; pass a new --out")
        _check_head(ck["state_dict"], model, last)
        model.load_state_dict(ck["state_dict"])
        opt.load_state_dict(ck["optimizer"])
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)
    step = start * per_epoch
    report = resolve(progress)
    for epoch in range(start, epochs):
        torch.manual_seed(recipe.seed * 100003 + epoch)  # dropout etc.: the same draws after a resume
        order = torch.randperm(n, generator=torch.Generator().manual_seed(recipe.seed * 100003 + epoch))
        model.train()
        for i in range(0, n, recipe.batch_size):
            if step >= total:
                break
            idx = order[i:i + recipe.batch_size]
            for g in opt.param_groups:
                g["lr"] = lr_at(step, total, recipe)
            with _autocast(recipe.precision, device):
                loss = loss_fn(model(pixels[idx].to(device)).float(), labels[idx].to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            if report is not None:
                report("finetune", step, total)
        _save(RunFolder(out).checkpoint(epoch + 1), model, opt, epoch + 1, step,
              min(step * recipe.batch_size, total * recipe.batch_size), recipe)
    return model


def _check_head(state: dict, model: Classifier, path) -> None:
    """UserInputError when a saved head has another (features, classes) shape than `model`'s."""
    saved, want = state.get("head.weight"), model.head.weight
    if saved is None or tuple(saved.shape) != tuple(want.shape):
        got = tuple(saved.shape) if saved is not None else "none"
        raise UserInputError(f"head size mismatch: {path} has a head of shape {got} (classes, features), the task "
                             f"needs {tuple(want.shape)}; fine-tune into a new --out folder")


def build_classifier(model, tokenizer, data: TaskData, *, device: str = "cpu") -> Classifier:
    """Image tower + head initialised from the zero-shot text classifier (step 0 = zero-shot model)."""
    from clipscale.evaluate.zeroshot import classifier_weights

    weights = classifier_weights(model, tokenizer, data.classnames, data.templates, device=device).cpu()
    dim = getattr(model.visual, "output_dim", weights.shape[0])
    if weights.shape[0] != dim:
        raise UserInputError(f"head size mismatch: text features have {weights.shape[0]} dimensions, the image "
                             f"tower gives {dim}; the checkpoint's two towers do not belong together")
    return Classifier(model.visual, weights).to(device)
