"""Agreement with clip_benchmark's own metric code on the same model and data, to 1e-6.

clip_benchmark runs here through clipscale.evaluate.compat.patched(), which wraps its numpy >= 2.4
crash in accuracy() (tested in test_compat.py); everything else is its unmodified code.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from clipscale.evaluate import compat, datasets, embedded, metrics, zeroshot
from clipscale.evaluate.features import FeatureCache
from clipscale.evaluate.tasks import get_task

N_IMAGES = 200


class _Listed(torch.utils.data.Dataset):
    """(preprocess(PIL image), target) of an ImageSource, the way clip_benchmark's datasets serve them."""

    def __init__(self, source, idx, preprocess, classes=None, label=None):
        self.source, self.idx, self.preprocess, self.classes = source, list(idx), preprocess, classes
        self.label = label or (lambda t: t)

    def __len__(self):
        return len(self.idx)

    def __getitem__(self, i):
        img, target = self.source.load(int(self.idx[i]))
        return self.preprocess(Image.fromarray(img)), self.label(target)


def test_zeroshot_classification_equals_clip_benchmark(xs):
    model, preprocess, tokenizer = xs
    data = datasets.task_data(get_task("digits"), limit=N_IMAGES)
    source = data.test
    enc = FeatureCache(model, preprocess, batch_size=64, progress=False).get(source)
    ours = zeroshot.classify(enc, zeroshot.classifier_weights(model, tokenizer, data.classnames, data.templates))

    loader = torch.utils.data.DataLoader(_Listed(source, range(source.n), preprocess, data.classnames), batch_size=64)
    with compat.patched():
        from clip_benchmark.metrics import zeroshot_classification as cb

        ref = cb.evaluate(model, loader, tokenizer, data.classnames, data.templates, "cpu", amp=False)
    for key in ("acc1", "acc5", "mean_per_class_recall"):
        assert ours[key] == pytest.approx(ref[key], abs=1e-6), key
    assert 0.0 <= ours["acc1"] <= ours["acc5"] <= 1.0


def test_zeroshot_retrieval_equals_clip_benchmark(xs):
    model, preprocess, tokenizer = xs
    source = embedded.source("retrieval", "test", 120)
    enc = FeatureCache(model, preprocess, batch_size=64, progress=False).get(source)
    ours = zeroshot.retrieve(enc, model, tokenizer)

    with compat.patched() as builder:
        from clip_benchmark.metrics import zeroshot_retrieval as cb

        loader = torch.utils.data.DataLoader(_Listed(source, range(source.n), preprocess), batch_size=64,
                                             collate_fn=builder.image_captions_collate_fn)
        ref = cb.evaluate(model, loader, tokenizer, "cpu", amp=False, recall_k_list=[1, 5, 10])
    for k in (1, 5, 10):
        for side in ("image", "text"):
            key = f"{side}_retrieval_recall@{k}"
            assert ours[key] == pytest.approx(ref[key], abs=1e-6), key


def test_multilabel_mean_average_precision_equals_clip_benchmark(xs):
    from clipscale.evaluate.features import Encoded

    model, preprocess, tokenizer = xs
    data = datasets.task_data(get_task("embedded/multilabel"), limit=80)
    source = data.test
    enc = FeatureCache(model, preprocess, batch_size=64, progress=False).get(source)
    labelled = Encoded(enc.features, [data.label(t) for t in enc.targets], enc.indices, enc.skipped)
    weights = zeroshot.classifier_weights(model, tokenizer, data.classnames, data.templates)
    ours = zeroshot.classify(labelled, weights, multilabel=True)

    loader = torch.utils.data.DataLoader(_Listed(source, range(source.n), preprocess, data.classnames, data.label),
                                         batch_size=64)
    with compat.patched():
        from clip_benchmark.metrics import zeroshot_classification as cb

        ref = cb.evaluate(model, loader, tokenizer, data.classnames, data.templates, "cpu", amp=False)
    assert ours["mean_average_precision"] == pytest.approx(ref["mean_average_precision"], abs=1e-6)


def test_metric_functions_equal_clip_benchmark_on_random_scores():
    from clip_benchmark.metrics import zeroshot_classification as cb

    g = torch.Generator().manual_seed(0)
    logits = torch.randn(300, 37, generator=g)
    target = torch.randint(0, 37, (300,), generator=g)
    with compat.patched():
        ref1, ref5 = cb.accuracy(logits, target, topk=(1, 5))
    acc1, acc5 = metrics.topk_accuracy(logits, target, (1, 5))
    assert (acc1, acc5) == pytest.approx((ref1, ref5), abs=1e-6)

    multi = (torch.rand(300, 6, generator=g) < 0.3).float()
    ref_ap = cb.average_precision_per_class(logits[:, :6], multi)
    np.testing.assert_allclose(metrics.average_precision_per_class(logits[:, :6], multi).numpy(), ref_ap.numpy(),
                               atol=1e-6)


def test_one_classifier_rule_equals_openclip_and_the_per_image_path(xs):
    """zoo.classify's classifier (used by evaluate and by `clipscale classify`) is OpenCLIP's
    build_zero_shot_classifier; the per-image path with every image given the same prompts is the
    shared classifier's."""
    import open_clip

    from clipscale.zoo.classify import classifier_weights, templates

    model, _, tokenizer = xs
    names = ["red", "green", "blue", "yellow"]
    ours = classifier_weights(model, tokenizer, names, templates("simple"))
    with torch.no_grad():
        theirs = open_clip.build_zero_shot_classifier(model, tokenizer, names, templates("simple"), use_tqdm=False)
    assert ours.shape == theirs.shape == (model.text_projection.shape[1], len(names))
    assert torch.allclose(ours, theirs, atol=1e-5)
    feats = torch.nn.functional.normalize(torch.randn(6, ours.shape[0]), dim=-1)
    enc = zeroshot.Encoded(feats, [0, 1, 2, 3, 0, 1], np.arange(6), [])
    prompts = [[[zeroshot.fill_template(t, n) for t in templates("simple")] for n in names]] * 6
    shared = zeroshot.classify(enc, ours)
    per_image = zeroshot.per_image_classify(enc, prompts, [0, 1, 2, 3, 0, 1], model, tokenizer)
    assert per_image == pytest.approx(shared, nan_ok=True) and per_image["acc1"] == shared["acc1"]
