"""evaluate / evaluate_run: rows in the paper's schema, learning curves, feature sharing, bad input."""
from __future__ import annotations


import numpy as np
import pytest
import torch

from clipscale import evaluate as ev
from clipscale.errors import DataError, NotFoundError, UnsafeCheckpointError, UserInputError
from clipscale.schema import METRIC_COLUMNS, RESULT_COLUMNS


def test_rows_follow_the_results_schema(run_dir):
    ck = run_dir / "checkpoints" / "epoch_2.pt"
    df = ev.evaluate("ladder-xs", ck, ["embedded/colour", "embedded/retrieval", "digits"], limit=60,
                     progress=False, meta={"upstream_dataset": "embedded-5K"})
    assert list(df.columns[: len(RESULT_COLUMNS)]) == list(RESULT_COLUMNS)
    for col in ("checkpoint", "checkpoint_sha256", "epoch", "samples_seen", "task_version"):
        assert col in df.columns
    assert len(df) == 3
    assert (df["samples_seen"] == 4096).all() and (df["epoch"] == 2).all()
    assert df["checkpoint_sha256"].str.fullmatch(r"[0-9a-f]{64}").all()
    assert np.allclose(df["gmacs_total"], df["gmacs"] * df["samples_seen"])
    assert (df["gmacs"] > 0).all()
    vals = df[list(METRIC_COLUMNS)].to_numpy(dtype=float)
    assert np.all((vals[~np.isnan(vals)] >= 0) & (vals[~np.isnan(vals)] <= 1))
    ret = df[df["downstream_dataset"] == "embedded/retrieval"].iloc[0]
    assert ret["task"] == "zeroshot_retrieval" and ret["image_retrieval_recall@5"] >= ret["image_retrieval_recall@1"]
    assert df.loc[df["downstream_dataset"] == "digits", "acc1"].notna().all()


def test_tasks_sharing_images_share_one_feature_pass(xs):
    from clipscale.evaluate.datasets import task_data
    from clipscale.evaluate.features import FeatureCache
    from clipscale.evaluate.checkpoint_eval import run_task

    model, preprocess, tokenizer = xs
    cache = FeatureCache(model, preprocess, progress=False)
    for name in ("embedded/objects", "embedded/shape", "embedded/colour", "linear_probe_1shot/embedded/size"):
        task = ev.get_task(name)
        run_task(task, task_data(task, limit=40), cache, model, tokenizer)
    assert cache.passes == 2  # the single-object test images once, the probe's training images once


def test_learning_curve_over_every_epoch(run_dir):
    df = ev.evaluate_run(run_dir, ["embedded/count", "digits"], limit=40, progress=False)
    assert len(df) == 4
    assert sorted(df["epoch"].unique()) == [1, 2]
    curve = df[df["eval_task"] == "digits"]
    assert list(curve["samples_seen"]) == [2048, 4096]
    assert (df["upstream_dataset"] == "embedded-5K").all()
    # the two epochs have different weights, so their rows must differ somewhere
    assert curve["checkpoint_sha256"].nunique() == 2


def test_linear_probe_beats_chance_on_digits(xs):
    # frozen random features of real scans still separate digits well (chance is 0.1)
    df = ev.evaluate("ladder-xs", None, ["linear_probe/digits", "linear_probe_10shot/digits"], limit=300,
                     progress=False)
    full, few = df.iloc[0], df.iloc[1]
    assert full["task"] == "linear_probe" and full["downstream_dataset"] == "digits"
    assert full["acc1"] > 0.4
    assert few["fewshot_k"] == 10 and few["train_images"] == 100


def test_unknown_task_lists_choices():
    with pytest.raises(NotFoundError, match="did you mean 'embedded/objects'"):
        ev.evaluate("ladder-xs", None, ["embedded/objcts"])
    with pytest.raises(NotFoundError, match="valid choices: .*digits"):
        ev.evaluate("ladder-xs", None, ["qqq"])
    assert ev.IMAGENET_ROLE_TASK in ev.list_tasks("embedded/*")
    assert set(ev.DEFAULT_EMBEDDED_TASKS) <= set(ev.list_tasks())


def test_checkpoint_of_another_architecture_is_one_clear_error(tmp_path, save_checkpoint):
    from clipscale import models

    torch.manual_seed(0)
    model, _, _ = models.create("ladder-s")
    save_checkpoint(tmp_path / "s.pt", model, epoch=1, samples_seen=10)
    with pytest.raises(UserInputError, match="does not match architecture 'ladder-xs'.*--arch"):
        ev.evaluate("ladder-xs", tmp_path / "s.pt", ["digits"], limit=10, progress=False)


def test_checkpoint_that_would_run_code_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"state_dict": {}, "obj": _Pickled()}, path)
    with pytest.raises(UnsafeCheckpointError):
        ev.evaluate("ladder-xs", path, ["digits"], limit=10, progress=False)
    (tmp_path / "cut.pt").write_bytes(path.read_bytes()[:100])
    with pytest.raises(UserInputError, match="cannot read checkpoint"):
        ev.evaluate("ladder-xs", tmp_path / "cut.pt", ["digits"], limit=10, progress=False)


class _Pickled:
    """Any class: loading it back needs a full unpickle."""


def test_one_fault_one_error_through_zoo_and_evaluate(tmp_path, run_dir, save_checkpoint):
    """The defect: zoo raised DataError and evaluate UserInputError for the same unreadable file.
    Both now read through clipscale.zoo.loading: same type, same message, for every fault."""
    from clipscale import models
    from clipscale.evaluate.checkpoints import load_model
    from clipscale.zoo.loading import load_pretrained

    good = (run_dir / "checkpoints" / "epoch_1.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(good[: len(good) // 2])
    (tmp_path / "text.pt").write_bytes(b"not a checkpoint")
    (tmp_path / "bad.safetensors").write_bytes(b"\x00" * 16)
    torch.save({"state_dict": {}, "obj": _Pickled()}, tmp_path / "evil.pt")
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "s.pt", models.create("ladder-s")[0], epoch=1, samples_seen=10)
    for name in ("cut.pt", "text.pt", "bad.safetensors", "evil.pt", "s.pt"):
        errors = []
        for entry in (lambda p: load_pretrained("ladder-xs", p), lambda p: load_model("ladder-xs", p)):
            with pytest.raises(Exception) as info:
                entry(tmp_path / name)
            errors.append((type(info.value), str(info.value)))
        assert errors[0] == errors[1], name
        kind = UnsafeCheckpointError if name == "evil.pt" else DataError
        assert errors[0][0] is kind, (name, errors[0])
    model, _, _, info = load_model("ladder-xs", run_dir / "checkpoints" / "epoch_2.pt")
    assert (info.epoch, info.samples_seen) == (2, 4096.0) and not model.training


def test_missing_checkpoint_and_run_folder(tmp_path):
    with pytest.raises(NotFoundError, match="not found"):
        ev.evaluate("ladder-xs", tmp_path / "none.pt", ["digits"])
    with pytest.raises(NotFoundError, match="epoch_N.pt"):
        ev.evaluate_run(tmp_path, ["digits"], arch="ladder-xs")


def test_run_folder_whose_spec_names_no_model(tmp_path):
    (tmp_path / "spec.json").write_text('{"data_size": 100}')
    with pytest.raises(DataError, match="names no model; pass --arch"):
        ev.evaluate_run(tmp_path, ["digits"])


def test_images_are_decoded_once_across_checkpoints(xs):
    from clipscale.evaluate import embedded
    from clipscale.evaluate.features import DecodedImages, FeatureCache, ImageSource

    model, preprocess, _ = xs
    base, calls = embedded.source("count", "test", 30), []
    counted = ImageSource(base.key, base.n, lambda i: calls.append(i) or base.load(i))
    decoded = DecodedImages()
    first = FeatureCache(model, preprocess, decoded=decoded, progress=False).get(counted)
    second = FeatureCache(model, preprocess, decoded=decoded, progress=False).get(counted)
    assert len(calls) == 30  # the second checkpoint re-uses the rendered images
    assert torch.equal(first.features, second.features) and first.targets == second.targets


def test_task_traits_are_fields_of_the_entry():
    """Retrieval, multi-label and the fitted metric are fields of each task entry (from the schema's
    named sets), never read from a name's suffix."""
    from clipscale import schema
    from clipscale.evaluate import embedded
    from clipscale.evaluate.tasks import LINEAR_PROBE, ZEROSHOT_RETRIEVAL

    tasks = [ev.get_task(n) for n in ev.list_tasks()]
    for t in tasks:
        assert t.metric == schema.default_metric(t.downstream_dataset), t.name
        assert (t.kind == ZEROSHOT_RETRIEVAL) == (t.metric == schema.RETRIEVAL_METRIC), t.name
        assert t.multilabel == (t.metric == schema.MULTILABEL_METRIC), t.name
        assert not (t.multilabel and t.kind == LINEAR_PROBE), t.name
    specs = embedded.embedded_tasks()
    assert all(t.multilabel == specs[t.dataset].multilabel for t in tasks if t.source == "embedded")
    assert ev.get_task("embedded/multilabel").metric == "mean_average_precision"  # was acc1: a NaN error
    assert ev.get_task("voc2007_multilabel").multilabel and not ev.get_task("voc2007").multilabel
    assert schema.default_metric("embedded/retrieval") == schema.RETRIEVAL_METRIC
    assert schema.default_metric("my_retrieval") == "acc1"  # a name is not a trait
