"""Zero-shot classification and retrieval metrics on precomputed, unit-norm image features.

The classifier is clipscale.zoo.classify's (CLIP's rule: each class name in every prompt template,
the prompts' unit-norm text features averaged per class and renormalised), re-exported here. All
prompts of all classes are encoded in large batches (clip_benchmark encodes one class at a time).
"""
from __future__ import annotations

import torch

from clipscale.errors import DataError
from clipscale.evaluate import metrics
from clipscale.evaluate.features import Encoded
from clipscale.zoo.classify import average_prompts, classifier_weights, encode_texts, fill_template, zeroshot_logits

__all__ = ["average_prompts", "classifier_weights", "classify", "fill_template", "per_image_classify", "retrieve"]


def classify(enc: Encoded, weights: torch.Tensor, *, multilabel: bool = False) -> dict[str, float]:
    """Metrics (fractions) of zero-shot classification of encoded images with a classifier."""
    logits = zeroshot_logits(enc.features, weights)
    if multilabel:
        return metrics.multilabel_metrics(logits, torch.stack([metrics.as_tensor(t).float() for t in enc.targets]))
    target = torch.as_tensor([int(t) for t in enc.targets])
    return metrics.classification_metrics(logits, target)


def per_image_classify(enc: Encoded, prompts: list, labels: list[int], model, tokenizer, *,
                       device: str = "cpu") -> dict[str, float]:
    """Metrics of zero-shot classification where each image has its own prompts per class.

    prompts: [image][class][prompt] (the same number of classes and prompts for every image);
    labels: the class index of each image. Each class's prompts become one classifier column
    by the same rule as classifier_weights (average_prompts).
    """
    n_classes, n_prompts = len(prompts[0]), len(prompts[0][0])
    flat = [p for per_image in prompts for per_class in per_image for p in per_class]
    unique = {p: i for i, p in enumerate(dict.fromkeys(flat))}  # images share most prompts: encode each once
    feats = encode_texts(model, tokenizer, list(unique), device=device)[torch.tensor([unique[p] for p in flat])]
    owner = torch.arange(len(prompts) * n_classes).repeat_interleave(n_prompts)
    weights = average_prompts(feats, owner, len(prompts) * n_classes).view(len(prompts), n_classes, -1)
    return metrics.classification_metrics(zeroshot_logits(enc.features, weights), torch.as_tensor(labels))


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
