"""Zero-shot classification of image files: the paper's inference example as a function.

Class prompts come from OpenCLIP: ImageNet's 1,000 class names and the 80 CLIP prompt templates
(open_clip.zero_shot_metadata), averaged per class by open_clip.build_zero_shot_classifier.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

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
    """'imagenet' (OpenCLIP's 1,000 ImageNet class names) or a text file with one label per line."""
    if spec == "imagenet":
        import open_clip

        return list(open_clip.IMAGENET_CLASSNAMES)
    path = Path(spec)
    try:
        labels = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except OSError as exc:
        raise UserInputError(f"cannot read labels file {path}: {exc.strerror}; give 'imagenet' or a text file "
                             f"with one label per line") from exc
    if len(labels) < 2:
        raise UserInputError(f"labels file {path} has {len(labels)} label(s); give at least two, one per line")
    return labels


def templates(name: str) -> list:
    """Prompt templates: 'openai' (CLIP's 80 ImageNet prompts), 'simple', or 'none' (the label alone)."""
    import open_clip

    sets = {"openai": list(open_clip.OPENAI_IMAGENET_TEMPLATES), "simple": list(open_clip.SIMPLE_IMAGENET_TEMPLATES),
            "none": ["{}"]}
    if name not in sets:
        raise unknown("template set", name, sets)
    return sets[name]


def classify(model, preprocess, tokenizer, images: Sequence[str | os.PathLike], labels: Sequence[str],
             template_set: str = "openai", top: int = 5, batch_size: int = 32) -> list[Prediction]:
    """Zero-shot top-`top` labels of each image file; probabilities are a softmax over all labels."""
    import open_clip
    import torch

    if top < 1:
        raise UserInputError(f"--top must be at least 1, got {top}")
    top = min(top, len(labels))
    device = next(model.parameters()).device
    with torch.no_grad():
        classifier = open_clip.build_zero_shot_classifier(model, tokenizer, list(labels), templates(template_set),
                                                          num_classes_per_batch=10, device=device,
                                                          use_tqdm=len(labels) > 50)
        scale = model.logit_scale.exp()
        out = []
        for start in range(0, len(images), batch_size):
            chunk = list(images[start:start + batch_size])
            pixels = torch.stack([preprocess(_open_image(p)) for p in chunk]).to(device)
            features = model.encode_image(pixels, normalize=True)
            probs = (scale * features @ classifier).softmax(dim=-1)
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
