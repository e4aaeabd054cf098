"""Zero-shot classification: the one classifier rule, and the paper's inference example as a function.

The classifier follows CLIP: each class name is put into every prompt template, the prompts'
unit-norm text features are averaged per class and renormalised (`classifier_weights`,
`average_prompts`). clipscale.evaluate builds its zero-shot tasks from these same functions.
Class prompts of `classify` come from OpenCLIP: ImageNet's 1,000 class names and the 80 CLIP
prompt templates (open_clip.zero_shot_metadata).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence, Union

from clipscale.errors import DataError, UserInputError, unknown

TEMPLATE_SETS = ("openai", "simple", "none")


@dataclass(frozen=True)
class Prediction:
    """Top labels of one image, best first; `probs` are fractions in [0, 1] over all labels."""

    image: str
    labels: tuple[str, ...]
    probs: tuple[float, ...]

    def to_dict(self) -> dict:
        return {"image": self.image, "top": [{"label": lab, "prob": p} for lab, p in zip(self.labels, self.probs)]}


def read_labels(spec: str) -> list[str]:
    """Class labels: 'imagenet' (OpenCLIP's 1,000 ImageNet class names), a text file with one label per
    line, or labels separated by commas ('red circle,blue square'); at least two."""
    if spec == "imagenet":
        import open_clip

        return list(open_clip.IMAGENET_CLASSNAMES)
    path = Path(spec).expanduser()
    if path.is_dir():
        raise UserInputError(f"labels {spec!r} is a folder; give 'imagenet', a text file (one label per line) "
                             "or labels separated by commas")
    if path.is_file():
        try:
            labels = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        except (OSError, UnicodeDecodeError) as exc:
            raise UserInputError(f"cannot read labels file {path} ({exc}); give a UTF-8 text file with one label "
                                 "per line") from None
        where = f"labels file {path}"
    elif "," in spec:
        labels, where = [part.strip() for part in spec.split(",") if part.strip()], f"--labels {spec!r}"
    else:
        raise UserInputError(f"--labels {spec!r} is no file and no comma-separated list; give 'imagenet', a text "
                             "file with one label per line, or labels separated by commas ('red circle,blue square')")
    if len(labels) < 2:
        raise UserInputError(f"{where} has {len(labels)} label(s); give at least two")
    if len(set(labels)) < len(labels):
        dup = sorted({x for x in labels if labels.count(x) > 1})
        raise UserInputError(f"{where} repeats {', '.join(map(repr, dup))}; give each label once")
    return labels


def templates(name: str) -> list:
    """Prompt templates: 'openai' (CLIP's 80 ImageNet prompts), 'simple', or 'none' (the label alone)."""
    import open_clip

    sets = {"openai": list(open_clip.OPENAI_IMAGENET_TEMPLATES), "simple": list(open_clip.SIMPLE_IMAGENET_TEMPLATES),
            "none": ["{}"]}
    if name not in sets:
        raise unknown("template set", name, sets)
    return sets[name]


Template = Union[str, Callable[[str], str]]


def fill_template(template: Template, classname: str) -> str:
    """A prompt from a template: OpenCLIP's callables, clip_benchmark's '{c}' strings, or a bare '{}'."""
    if callable(template):
        return template(classname)
    return template.replace("{c}", classname) if "{c}" in template else template.replace("{}", classname)


def encode_texts(model, tokenizer, texts: list[str], *, batch_size: int = 1024, device="cpu"):
    """Unit-norm text features (fp32, on the CPU), in the order of `texts`."""
    import torch
    import torch.nn.functional as F

    out = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            tokens = tokenizer(texts[start:start + batch_size]).to(device)
            out.append(F.normalize(model.encode_text(tokens).float(), dim=-1).cpu())
    return torch.cat(out) if out else torch.zeros(0, 0)


def average_prompts(features, owner, n_groups: int):
    """(n_groups, D): the mean of the unit-norm prompt features of each group, renormalised (CLIP's rule).

    features: (M, D) unit-norm prompt features; owner: (M,) group index (a class) of each prompt.
    """
    import torch

    owner = torch.as_tensor(owner, dtype=torch.long)
    sums = torch.zeros(n_groups, features.shape[1]).index_add_(0, owner, features)
    counts = torch.bincount(owner, minlength=n_groups).clamp(min=1).unsqueeze(1)
    return torch.nn.functional.normalize(sums / counts, dim=1)


def classifier_weights(model, tokenizer, classnames: Sequence[str], templates, *, device="cpu"):
    """(embed_dim, n_classes) zero-shot classifier: per-class mean of unit-norm prompt features, renormalised.

    `templates` is a list of templates (see fill_template), or a dict class name -> prompts (CuPL style).
    """
    prompts, owner = [], []
    for c, name in enumerate(classnames):
        texts = templates[name] if isinstance(templates, dict) else [fill_template(t, name) for t in templates]
        prompts.extend(texts)
        owner.extend([c] * len(texts))
    if not prompts:
        raise DataError("no prompts: a zero-shot classifier needs class names and at least one template")
    feats = encode_texts(model, tokenizer, prompts, device=device)
    return average_prompts(feats, owner, len(classnames)).t().contiguous()


def zeroshot_logits(image_features, weights, scale: float = 100.0):
    """Logits of unit-norm image features (N, D) against a classifier: `scale` x cosine similarity.

    weights: (D, C) shared by every image, or (N, C, D) one classifier per image. The default
    scale is CLIP's 100 (ranking metrics do not depend on it); probabilities use the model's own.
    """
    import torch

    if weights.ndim == 3:
        return scale * torch.einsum("nd,ncd->nc", image_features, weights)
    return scale * image_features @ weights


def classify(model, preprocess, tokenizer, images: Sequence[str | os.PathLike], labels: Sequence[str],
             template_set: str = "openai", top: int = 5, batch_size: int = 32) -> list[Prediction]:
    """Zero-shot top-`top` labels of each image file; probabilities are a softmax over all labels."""
    import torch

    if top < 1:
        raise UserInputError(f"--top must be at least 1, got {top}")
    top = min(top, len(labels))
    device = next(model.parameters()).device
    classifier = classifier_weights(model, tokenizer, list(labels), templates(template_set), device=device)
    with torch.no_grad():
        scale = model.logit_scale.exp().cpu()
        out = []
        for start in range(0, len(images), batch_size):
            chunk = list(images[start:start + batch_size])
            pixels = torch.stack([preprocess(_open_image(p)) for p in chunk]).to(device)
            features = model.encode_image(pixels, normalize=True).float().cpu()
            probs = zeroshot_logits(features, classifier, scale).softmax(dim=-1)
            values, index = probs.topk(top, dim=-1)
            for path, v, i in zip(chunk, values.tolist(), index.tolist()):
                out.append(Prediction(str(path), tuple(labels[k] for k in i), tuple(v)))
    return out


def _open_image(path: str | os.PathLike):
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            return img.convert("RGB")
    except FileNotFoundError:
        raise UserInputError(f"image {path} does not exist; give paths of image files") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise DataError(f"{path} is not a readable image ({exc}); give PNG, JPEG or another format Pillow reads") from None
