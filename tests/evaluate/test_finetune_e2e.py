"""End to end: `clipscale finetune` on a tiny trained ladder-xs (digits: a task it was never trained on)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import torch

from clipscale.cli import main
from clipscale.errors import DataError
from clipscale.evaluate import finetune as ft

RECIPE = ["--task", "digits", "--limit", "200", "--epochs", "6", "--lr", "1e-3", "--batch-size", "16", "--quiet"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A run folder of ladder-xs trained on 1K embedded samples (captions only, no digits)."""
    from clipscale.train import TrainSpec, train

    root = tmp_path_factory.mktemp("pre") / "run"
    train(TrainSpec("ladder-xs", data_size=1024, samples_seen=1024, epochs=1, num_threads=1), root)
    return root


@pytest.fixture(scope="module")
def reference(trained, tmp_path_factory):
    """results.csv row of an uninterrupted fine-tuning run."""
    out = tmp_path_factory.mktemp("ft") / "ref"
    assert main(["finetune", str(trained), "--out", str(out), *RECIPE]) == 0
    return pd.read_csv(out / "results.csv").iloc[0]


@pytest.mark.slow
def test_finetuning_beats_zero_shot_and_writes_the_schema(reference):
    assert reference["acc1"] > reference["zeroshot_acc1"] + 0.05
    assert reference["task"] == "finetune" and reference["eval_type"] == "finetune"
    assert reference["downstream_dataset"] == "digits" and reference["samples_seen"] == 1024
    assert '"lr": 0.001' in reference["finetune_recipe"]


@pytest.mark.slow
def test_sigkill_then_rerun_gives_identical_numbers(trained, reference, tmp_path):
    out = tmp_path / "killed"
    code = "import sys; from clipscale.cli import main; sys.exit(main(sys.argv[1:]))"
    cmd = [sys.executable, "-c", code, "finetune", str(trained), "--out", str(out), *RECIPE]
    proc = subprocess.Popen(cmd, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not (out / "checkpoints" / "epoch_1.pt").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "results.csv").exists()  # killed before the end
    assert main(["finetune", str(trained), "--out", str(out), *RECIPE]) == 0
    again = pd.read_csv(out / "results.csv").iloc[0]
    assert again["acc1"] == reference["acc1"] and again["acc5"] == reference["acc5"]
    tuned = torch.load(out / "finetuned.pt", weights_only=True)
    assert "visual.conv1.weight" in tuned["state_dict"] or any(k.startswith("visual.") for k in tuned["state_dict"])


@pytest.mark.slow
def test_head_size_mismatch_is_one_line(trained, reference, tmp_path, capsys):
    out = tmp_path / "ft"
    args = ["finetune", str(trained), "--out", str(out), "--limit", "40", "--epochs", "1", "--quiet"]
    assert main([*args, "--task", "digits"]) == 0
    capsys.readouterr()
    code = main([*args, "--task", "embedded/shape"])  # same recipe and --out, a task with another class count
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and "head size mismatch" in err[0]


def test_checkpoint_of_another_architecture_is_one_line(run_dir, tmp_path, capsys):
    ck = run_dir / "checkpoints" / "epoch_1.pt"
    code = main(["finetune", str(ck), "--arch", "ladder-s", "--task", "digits", "--out", str(tmp_path), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and "does not match architecture 'ladder-s'" in err[0]


def test_task_without_train_split_is_one_line():
    from clipscale.evaluate.datasets import TaskData

    task = ft.finetune_task("digits")
    data = TaskData(test=None, classnames=["a"], templates=["{c}"], train=None)
    with pytest.raises(DataError, match="no train split") as exc:
        ft.load_split(task, data, "train", None)
    assert "\n" not in str(exc.value)


def test_non_classification_task_is_one_line(run_dir, tmp_path, capsys):
    code = main(["finetune", str(run_dir), "--task", "embedded/retrieval", "--out", str(tmp_path), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and "not a classification task" in err[0]


def test_saved_head_of_another_size_is_refused(tmp_path):
    visual = torch.nn.Linear(4, 3)
    clf = ft.Classifier(visual, torch.randn(3, 5))
    other = ft.Classifier(torch.nn.Linear(4, 3), torch.randn(3, 7)).state_dict()
    with pytest.raises(ft.UserInputError, match="head size mismatch"):
        ft._check_head(other, clf, tmp_path / "epoch_1.pt")


@pytest.mark.slow
def test_probe_uses_the_pretrained_tower_on_the_same_images(trained, tmp_path):
    from clipscale.evaluate.checkpoints import load_model
    from clipscale.evaluate.datasets import task_data
    from clipscale.evaluate.linear_probe import probe
    from clipscale.evaluate.transfer import finetune_checkpoint

    ck = sorted(trained.glob("checkpoints/epoch_*.pt"))[-1]
    recipe = ft.Recipe(epochs=2, lr=1e-3, batch_size=16, limit=120, train_images=60)
    row = finetune_checkpoint("ladder-xs", ck, "digits", tmp_path, recipe, probe=True).iloc[0]
    assert row["train_images"] == 60 and row["n_images"] == 120
    assert '"train_images": 60' in row["finetune_recipe"]
    # the same probe by hand, on the features of the checkpoint as loaded (before any fine-tuning)
    model, preprocess, tokenizer, _ = load_model("ladder-xs", ck)
    task = ft.finetune_task("digits")
    data = task_data(task, limit=120, need_train=True)
    clf = ft.build_classifier(model, tokenizer, data)
    (trx, tr_y), (tex, te_y) = (ft.load_split(task, data, "train", preprocess, 60),
                                ft.load_split(task, data, "test", preprocess))
    kw = dict(batch_size=64, device="cpu")
    want = probe(ft.image_features(clf, trx, **kw), tr_y, ft.image_features(clf, tex, **kw), te_y, 10)
    assert row["linear_probe_acc1"] == pytest.approx(want["acc1"]) and row["probe_C"] == want["probe_C"]


@pytest.mark.slow
def test_cli_train_images_and_probe(trained, tmp_path, capsys):
    args = ["finetune", str(trained), "--task", "digits", "--limit", "60", "--train-images", "24", "--epochs", "1",
            "--batch-size", "8", "--probe", "--quiet", "--out", str(tmp_path)]
    assert main(args) == 0
    assert "linear-probe acc1" in capsys.readouterr().out
    row = pd.read_csv(tmp_path / "results.csv").iloc[0]
    assert row["train_images"] == 24 and row["n_images"] == 60 and 0.0 <= row["linear_probe_acc1"] <= 1.0


def test_bad_head_init_is_one_line(run_dir, tmp_path, capsys):
    code = main(["finetune", str(run_dir), "--task", "digits", "--head-init", "lp", "--out", str(tmp_path), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--head-init" in err[0] and "'lp'" in err[0] and "probe" in err[0]


@pytest.mark.slow
def test_probe_head_at_step_zero_is_the_linear_probe(run_dir, tmp_path):
    """LP-FT: WiSE-FT at alpha 0 is the step-0 model, which under head_init probe scores like the probe."""
    import json

    from clipscale.evaluate.transfer import finetune_checkpoint

    ck = run_dir / "checkpoints" / "epoch_2.pt"
    kw = dict(epochs=1, lr=1e-3, batch_size=16, limit=80, train_images=40, wise_alpha=0.0)
    lp = finetune_checkpoint("ladder-xs", ck, "digits", tmp_path / "lp", ft.Recipe(**kw, head_init="probe"),
                             probe=True).iloc[0]
    zs = finetune_checkpoint("ladder-xs", ck, "digits", tmp_path / "zs", ft.Recipe(**kw, head_init="zeroshot"),
                             probe=True).iloc[0]
    assert lp["acc1"] == pytest.approx(lp["linear_probe_acc1"], abs=1.5 / lp["n_images"])  # a float32 tie at most
    assert zs["acc1"] == pytest.approx(zs["zeroshot_acc1"])
    assert lp["zeroshot_acc1"] == zs["zeroshot_acc1"]  # still the text classifier's accuracy
    assert json.loads(lp["finetune_recipe"])["head_init"] == "probe"
    assert json.loads(zs["finetune_recipe"])["head_init"] == "zeroshot"


@pytest.mark.slow
def test_lpft_resumes_to_the_same_numbers(run_dir, tmp_path):
    """A run stopped after epoch 1 (epoch 2's checkpoint gone) refits the same probe head and continues."""
    from clipscale.evaluate.transfer import finetune_checkpoint

    ck = run_dir / "checkpoints" / "epoch_2.pt"
    recipe = ft.Recipe(epochs=2, lr=1e-3, batch_size=16, limit=80, train_images=40, head_init="probe",
                       wise_alpha=0.5)
    ref = finetune_checkpoint("ladder-xs", ck, "digits", tmp_path, recipe).iloc[0]
    (tmp_path / "checkpoints" / "epoch_2.pt").unlink()
    again = finetune_checkpoint("ladder-xs", ck, "digits", tmp_path, recipe).iloc[0]
    assert again["acc1"] == ref["acc1"] and again["acc5"] == ref["acc5"]
    assert (tmp_path / "checkpoints" / "epoch_2.pt").exists()
