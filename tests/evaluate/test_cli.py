"""`clipscale eval`: results file, learning curves, one-line errors with exit status 2."""
from __future__ import annotations

import pandas as pd

from clipscale.cli import main


def test_eval_appends_rows_to_out(run_dir, tmp_path, capsys):
    out = tmp_path / "results.csv"
    ck = str(run_dir / "checkpoints" / "epoch_1.pt")
    args = ["eval", "--arch", "ladder-xs", "--pretrained", ck, "--tasks", "embedded/size,digits", "--limit", "30",
            "--quiet", "--out", str(out)]
    assert main(args) == 0
    assert main(args) == 0
    df = pd.read_csv(out)
    assert len(df) == 4 and set(df["eval_task"]) == {"embedded/size", "digits"}
    assert "digits" in capsys.readouterr().out


def test_eval_run_gives_a_learning_curve(run_dir, tmp_path):
    out = tmp_path / "curve.csv"
    assert main(["eval", "--run", str(run_dir), "--tasks", "digits", "--limit", "20", "--quiet", "--out", str(out)]) == 0
    df = pd.read_csv(out)
    assert list(df["epoch"]) == [1, 2] and list(df["samples_seen"]) == [2048, 4096]


def test_user_errors_are_one_line_and_exit_2(capsys, tmp_path):
    assert main(["eval", "--arch", "ladder-xs", "--tasks", "embedded/nope"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "valid choices" in err and "Traceback" not in err
    assert main(["eval", "--arch", "ladder-xs", "--tasks", "imagenet-r", "--data-root", str(tmp_path)]) == 2
    assert "--data-root" in capsys.readouterr().err
    assert main(["eval", "--tasks", "digits"]) == 2
    assert "--arch" in capsys.readouterr().err


def test_list_tasks(capsys):
    assert main(["eval", "--list-tasks", "linear_probe*/digits"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split()[0] for ln in lines] == ["linear_probe/digits", "linear_probe_1shot/digits",
                                               "linear_probe_10shot/digits"]


def test_zoo_filters_select_checkpoints_with_their_samples_seen(monkeypatch, tmp_path):
    import argparse

    import clipscale.zoo
    from clipscale.cli import eval as cli_eval

    fetched = []
    monkeypatch.setattr(clipscale.zoo, "download", lambda entry, epoch=None: fetched.append(epoch) or tmp_path / "x.pt")
    args = argparse.Namespace(arch=None, pretrained=None, model=["ViT-B-32"], data=["2B"], samples_seen=["34B"],
                              epoch=None, all_epochs=False, upstream_dataset=None, name=None)
    [(arch, path, meta)] = cli_eval._targets(args)
    entry = clipscale.zoo.CATALOG.get(model="ViT-B-32", data="2B", samples_seen="34B")
    assert arch == "ViT-B-32" and path == tmp_path / "x.pt" and fetched == [None]
    assert meta["upstream_dataset"] == "LAION-2B" and meta["samples_seen"] == entry.samples_seen
    args.all_epochs = True
    targets = cli_eval._targets(args)
    assert len(targets) == entry.epochs
    assert targets[1][2]["epoch"] == 2 and targets[1][2]["samples_seen"] == 2 * entry.samples_per_epoch


def test_unavailable_device_is_a_user_error(capsys):
    import torch

    device = "cuda:99" if torch.cuda.is_available() else "cuda"
    assert main(["eval", "--arch", "ladder-xs", "--tasks", "digits", "--device", device]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ("--device cpu" in err or "cuda:0" in err)
    assert main(["eval", "--arch", "ladder-xs", "--tasks", "digits", "--device", "toaster"]) == 2
    assert "unknown device 'toaster'" in capsys.readouterr().err
