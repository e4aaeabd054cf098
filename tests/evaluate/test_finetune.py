"""Unit tests of clipscale.evaluate.finetune: WiSE-FT end points, the schedule, recipe checks."""
from __future__ import annotations

import pytest
import torch

from clipscale.errors import UserInputError
from clipscale.evaluate import finetune as ft


def test_wise_alpha_end_points_are_the_two_models():
    torch.manual_seed(0)
    zero = {"w": torch.randn(3, 4), "n": torch.tensor(7)}
    tuned = {"w": torch.randn(3, 4), "n": torch.tensor(7)}
    assert torch.equal(ft.wise(zero, tuned, 0.0)["w"], zero["w"])
    assert torch.equal(ft.wise(zero, tuned, 1.0)["w"], tuned["w"])
    assert torch.allclose(ft.wise(zero, tuned, 0.5)["w"], (zero["w"] + tuned["w"]) / 2)


def test_warmup_then_cosine_to_zero():
    r = ft.Recipe(lr=1.0, warmup=0.2)
    lrs = [ft.lr_at(s, 10, r) for s in range(10)]
    assert lrs[0] == pytest.approx(0.5) and lrs[1] == pytest.approx(1.0) and lrs[2] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(lrs[2:], lrs[3:])) and lrs[-1] < 0.05


def test_bad_recipe_is_one_user_error():
    with pytest.raises(UserInputError, match="wise-alpha"):
        ft.Recipe(wise_alpha=1.5).check()


def test_recipe_needs_two_train_images():
    with pytest.raises(UserInputError, match="train-images"):
        ft.Recipe(train_images=1).check()


def test_load_split_takes_the_first_n_train_images(xs):
    from clipscale.evaluate.datasets import task_data

    task = ft.finetune_task("digits")
    data = task_data(task, limit=40, need_train=True)
    _, preprocess, _ = xs
    all_x, all_y = ft.load_split(task, data, "train", preprocess)
    x, y = ft.load_split(task, data, "train", preprocess, 25)
    assert len(all_y) == 40 and len(y) == 25
    assert torch.equal(x, all_x[:25]) and torch.equal(y, all_y[:25])


def test_run_folder_gives_its_arch_last_epoch_and_name(run_dir, tmp_path):
    from clipscale.cli.finetune import resolve_checkpoint
    from clipscale.errors import DataError

    arch, weights, meta = resolve_checkpoint(str(run_dir), None)
    assert arch == "ladder-xs" and weights.name == "epoch_2.pt" and meta["name"] == run_dir.name
    assert resolve_checkpoint(str(run_dir), "ladder-s")[0] == "ladder-s"  # --arch wins over spec.json
    (tmp_path / "spec.json").write_text('{"data_size": 100}')
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "epoch_1.pt").write_bytes(b"")
    with pytest.raises(DataError, match="names no model; pass --arch"):
        resolve_checkpoint(str(tmp_path), None)


def test_probe_head_scores_like_the_probe():
    from clipscale.evaluate import linear_probe

    g = torch.Generator().manual_seed(0)
    x = torch.nn.functional.normalize(torch.randn(120, 6, generator=g), dim=-1)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0.3).long()  # 3 classes of a 4-class task: class 3 is never seen
    weight, bias, _, n = linear_probe.fit(x[:80], y[:80], 4)
    clf = ft.Classifier(torch.nn.Identity(), torch.zeros(6, 4))
    clf.set_head(weight.float(), bias.float())
    logits = ft.predict(clf, x[80:], batch_size=16, device="cpu", precision="fp32")
    want = linear_probe.probe(x[:80], y[:80], x[80:], y[80:], 4)
    assert n == 80 and torch.isfinite(logits).all() and not (logits.argmax(1) == 3).any()
    acc = (logits.argmax(1) == y[80:]).float().mean().item()
    assert acc == pytest.approx(want["acc1"]) and acc > 0.6


def test_probe_head_of_another_size_is_refused():
    clf = ft.Classifier(torch.nn.Identity(), torch.zeros(6, 4))
    with pytest.raises(UserInputError, match="head size mismatch"):
        clf.set_head(torch.zeros(5, 6), torch.zeros(5))


def test_bad_head_init_is_one_user_error_naming_the_choices():
    with pytest.raises(UserInputError, match="--head-init 'lp'.*probe.*zeroshot") as exc:
        ft.Recipe(head_init="lp").check()
    assert "\n" not in str(exc.value)
