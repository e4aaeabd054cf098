"""Bad input: clear one-line errors, and never a truncated or NaN checkpoint under a final name."""
from __future__ import annotations

import errno
import math

import pytest
import torch

from clipscale.cli import main
from clipscale.errors import NotFoundError, TrainingError, UserInputError
from clipscale.train import native, train

from .helpers import assert_bit_identical, state_dict, tiny_spec


def _cli(*args):
    return main(["train", "--quiet", "--threads", "1", *args])


def test_unknown_model_lists_choices_and_writes_nothing(tmp_path, capsys):
    with pytest.raises(NotFoundError, match="ladder-xs"):
        train(tiny_spec(model="ladder-xxs"), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()
    rc = _cli("--arch", "nope", "--data-size", "256", "--samples-seen", "512", "--out", str(tmp_path / "r"))
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "unknown architecture 'nope'" in err[0]


def test_batch_larger_than_data_is_a_one_line_error(tmp_path, capsys):
    rc = _cli("--arch", "ladder-xs", "--data-size", "64", "--samples-seen", "512", "--out", str(tmp_path / "r"))
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "larger than the data" in err[0] and "--batch-size" in err[0]


def test_folder_of_another_spec_or_partial_run_needs_a_decision(tiny_run, tmp_path):
    with pytest.raises(UserInputError, match="different spec"):
        train(tiny_spec(lr=1e-3), tiny_run.out_dir, progress=False)
    assert train(tiny_spec(num_threads=2), tiny_run.out_dir, progress=False).steps == 8  # threads may change
    part = tmp_path / "part"
    part.mkdir()
    (part / "spec.json").write_text((tiny_run.out_dir / "spec.json").read_text())
    (part / "checkpoints").mkdir()
    (part / "checkpoints" / "epoch_1.pt").write_bytes(tiny_run.checkpoints[0].read_bytes())
    with pytest.raises(UserInputError, match="--resume"):
        train(tiny_spec(), part, resume=False, progress=False)


def test_damaged_run_folder_is_a_clear_error(tiny_run, tmp_path):
    import shutil

    from clipscale.errors import DataError

    out = tmp_path / "run"
    shutil.copytree(tiny_run.out_dir, out)
    (out / "spec.json").write_text("{not json")
    with pytest.raises(DataError, match="damaged"):
        train(tiny_spec(), out, progress=False)


def _poison_after(monkeypatch, step: int, what: str):
    """Make train_step produce a NaN loss (or NaN weights) from optimizer step `step` (1-based) on."""
    real, calls = native.train_step, []

    def step_fn(model, *args):
        loss = real(model, *args)
        calls.append(1)
        if len(calls) >= step:
            if what == "loss":
                return torch.tensor(math.nan)
            with torch.no_grad():
                native._unwrap(model).visual.proj.fill_(math.nan)
        return loss

    monkeypatch.setattr(native, "train_step", step_fn)


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path, monkeypatch):
    _poison_after(monkeypatch, 6, "loss")  # epoch 1 = steps 1-4, saved before the NaN
    with pytest.raises(TrainingError, match=r"loss is nan at step 6.*last good checkpoint"):
        train(tiny_spec(), tmp_path / "run", progress=False)
    ckpts = sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir())
    assert ckpts == ["epoch_1.pt"] and not (tmp_path / "run" / "done.json").exists()
    assert all(torch.isfinite(t).all() for t in state_dict(tmp_path / "run" / "checkpoints" / "epoch_1.pt").values())


def test_nan_weights_are_never_checkpointed(tmp_path, monkeypatch):
    _poison_after(monkeypatch, 4, "weights")  # the last step of epoch 1
    with pytest.raises(TrainingError, match="weights became NaN.*before epoch 1 was saved"):
        train(tiny_spec(), tmp_path / "run", progress=False)
    assert not list(tmp_path.glob("run/checkpoints/*"))


def test_disk_full_leaves_no_truncated_checkpoint_and_resumes(tiny_run, tmp_path, monkeypatch):
    real_save, calls = torch.save, []

    def full_disk(obj, f, *args, **kwargs):
        calls.append(f)
        if len(calls) == 2:  # the second checkpoint: half written, then ENOSPC
            with open(f, "wb") as fh:
                fh.write(b"\0" * 1000)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", full_disk)
    out = tmp_path / "run"
    with pytest.raises(UserInputError, match="disk full"):
        train(tiny_spec(), out, progress=False)
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["epoch_1.pt"]  # no temporary left
    monkeypatch.setattr(torch, "save", real_save)  # space freed: the run resumes to the same bits
    resumed = train(tiny_spec(), out, progress=False)
    assert_bit_identical(state_dict(resumed.final_checkpoint), state_dict(tiny_run.final_checkpoint))
