"""Zero-shot classification and retrieval on precomputed, unit-norm image features.

The classifier follows CLIP: each class name is put into every prompt template, the prompts'
unit-norm text features are averaged and renormalised into one column per class. All prompts of all
classes are encoded in large batches (clip_benchmark encodes one class at a time).
"""
from __future__ import annotations

import torch

from clipscale.errors import DataError
from clipscale.evaluate import metrics
from clipscale.evaluate.features import Encoded, encode_texts


def fill_template(template: str, classname: str) -> str:
    """A prompt from a template written with clip_benchmark's '{c}' (or a bare '{}')."""
    return template.replace("{c}", classname) if "{c}" in template else template.replace("{}", classname)


def classifier_weights(model, tokenizer, classnames: list[str], templates, *, device: str = "cpu") -> torch.Tensor:
    """(embed_dim, n_classes) zero-shot classifier: per-class mean of unit-norm prompt features, renormalised.

    `templates` is a list of templates, or a dict class name -> list of prompts (CuPL style).
    """
    prompts, owner = [], []
    for c, name in enumerate(classnames):
        texts = templates[name] if isinstance(templates, dict) else [fill_template(t, name) for t in templates]
        prompts.extend(texts)
        owner.extend([c] * len(texts))
    if not prompts:
        raise DataError("no prompts: a zero-shot task needs class names and at least one template")
    feats = encode_texts(model, tokenizer, prompts, device=device)
    owner_t = torch.tensor(owner)
    sums = torch.zeros(len(classnames), feats.shape[1]).index_add_(0, owner_t, feats)
    counts = torch.bincount(owner_t, minlength=len(classnames)).clamp(min=1).unsqueeze(1)
    mean = sums / counts
    return (mean / mean.norm(dim=1, keepdim=True)).t().contiguous()


def classify(enc: Encoded, weights: torch.Tensor, *, multilabel: bool = False) -> dict[str, float]:
    """Metrics (fractions) of zero-shot classification of encoded images with a classifier."""
    logits = 100.0 * enc.features @ weights  # CLIP's logit scale; metrics do not depend on it
    if multilabel:
        return metrics.multilabel_metrics(logits, torch.stack([metrics.as_tensor(t).float() for t in enc.targets]))
    target = torch.as_tensor([int(t) for t in enc.targets])
    return metrics.classification_metrics(logits, target)


def retrieve(enc: Encoded, model, tokenizer, *, device: str = "cpu", ks=(1, 5, 10)) -> dict[str, float]:
    """Image and text retrieval recall@k (fractions); each target is the list of an image's captions."""
    texts, owner = [], []
    for row, captions in enumerate(enc.targets):
        captions = [captions] if isinstance(captions, str) else list(captions)
        texts.extend(captions)
        owner.extend([row] * len(captions))
    if not texts:
        raise DataError("a retrieval task needs at least one caption per image")
    text_feats = encode_texts(model, tokenizer, texts, device=device)
    scores = text_feats @ enc.features.t()
    return metrics.retrieval_recall(scores, torch.tensor(owner), ks)
