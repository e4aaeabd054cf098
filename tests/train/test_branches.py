"""Cool-down branches: a branch equals the dedicated const-cooldown run, bit for bit, and survives kills."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
import torch

from clipscale.errors import UserInputError
from clipscale.train import train
from clipscale.train.branches import branch_dir, plan, train_branches

from .helpers import assert_bit_identical, state_dict, tiny_spec

LEVELS = [128, 256]  # 4 and 8 steps of 32


def _spec(**changes):
    return tiny_spec(**({"samples_seen": 256, "epochs": 1, "schedule": "const-cooldown", "cooldown": 0.5,
                         "warmup": 0.25} | changes))


def test_plan_trunk_and_branches():
    p = plan(_spec(), LEVELS)
    assert p.trunk.schedule == "const" and p.trunk.epoch_ends == (64, 128)  # branch starts: step 2 and 4
    assert [b.samples_seen for b in p.branches] == LEVELS
    assert {b.warmup_steps for b in p.branches} == {p.trunk.warmup_steps} == {2}
    assert p.samples_trained == 128 + 64 + 128 < sum(LEVELS)


def test_branch_equals_dedicated_run(tmp_path):
    summary = train_branches(_spec(), LEVELS, tmp_path / "grid", progress=False)
    assert [b["level"] for b in summary["branches"]] == LEVELS
    for level in LEVELS:
        p = plan(_spec(), LEVELS)
        dedicated = train(p.branches[LEVELS.index(level)], tmp_path / f"alone_{level}", progress=False)
        branch = branch_dir(tmp_path / "grid", level)
        final = branch / "checkpoints" / "epoch_1.pt"
        assert_bit_identical(state_dict(final), state_dict(dedicated.final_checkpoint))
        ckpt = torch.load(final, weights_only=True)
        assert ckpt["study_point"] is True and ckpt["samples_seen"] == level
        done = json.loads((branch / "done.json").read_text())
        assert done["extra"]["study_point"] == "checkpoints/epoch_1.pt" and done["samples_seen"] == level
    # Rerun of a finished grid trains nothing and returns the same summary.
    assert train_branches(_spec(), LEVELS, tmp_path / "grid", progress=False)["branches"] == summary["branches"]


@pytest.mark.parametrize("levels, changes, message", [
    ([256, 128], {}, "levels must be increasing"),
    ([128, 128], {}, "levels must be increasing"),
    ([64, 256], {"warmup": 0.25}, "level 64 is below the warmup"),
    ([128, 256], {"schedule": "cosine"}, "levels need --schedule const-cooldown"),
])
def test_bad_levels_are_one_clear_line(levels, changes, message):
    with pytest.raises(UserInputError, match=message) as err:
        plan(_spec(**changes), levels)
    assert "\n" not in str(err.value)


def test_branch_from_another_trunk_is_refused(tmp_path):
    train_branches(_spec(), LEVELS, tmp_path / "grid", progress=False)
    other = plan(_spec(lr=1e-3), LEVELS).branches[1]
    with pytest.raises(UserInputError, match=r"not a constant-lr trunk of this branch \(differs in \['lr'\]\)"):
        train(other, tmp_path / "x", progress=False, init_from=tmp_path / "grid/trunk/checkpoints/epoch_2.pt")


def test_resume_with_another_schedule_is_refused(tmp_path):
    train(tiny_spec(), tmp_path / "run", progress=False)
    with pytest.raises(UserInputError, match=r"differs in \['schedule'\]"):
        train(tiny_spec(schedule="const-cooldown", cooldown_shape="1-sqrt"), tmp_path / "run", progress=False)


@pytest.mark.slow
def test_killed_branch_reruns_bit_identical(tmp_path):
    levels = "1280,5120"  # the long branch cools down over 40 steps in 10 checkpoints: time to kill it
    cmd = [sys.executable, "-m", "clipscale", "train", "--arch", "ladder-xs", "--data-size", "256",
           "--batch-size", "32", "--checkpoints", "10", "--threads", "1", "--schedule", "const-cooldown",
           "--levels", levels, "--quiet"]
    ref = subprocess.run(cmd + ["--out", str(tmp_path / "ref")], capture_output=True, text=True, timeout=600)
    assert ref.returncode == 0, ref.stderr[-2000:]
    out = tmp_path / "killed"
    proc = subprocess.Popen(cmd + ["--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = out / "branch_s5120" / "checkpoints" / "epoch_9.pt"  # epoch 9 of 10: inside the cool-down
    deadline = time.time() + 300
    while not first.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "branch_s5120" / "done.json").exists(), "the branch finished before it could be killed"
    rerun = subprocess.run(cmd + ["--out", str(out), "--resume"], capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    for level in (1280, 5120):
        assert_bit_identical(state_dict(out / f"branch_s{level}" / "checkpoints" / "epoch_10.pt"),
                             state_dict(tmp_path / "ref" / f"branch_s{level}" / "checkpoints" / "epoch_10.pt"))


# ---------------------------------------------------------------- elastic top level

def test_branch_from_a_checkpoint_past_its_cooldown_start_is_refused(tmp_path):
    train_branches(_spec(), LEVELS, tmp_path / "grid", progress=False)
    first = plan(_spec(), LEVELS).branches[0]  # cools down from step 2; the trunk's epoch 2 is at step 4
    with pytest.raises(UserInputError, match="past the branch's cool-down start"):
        train(first, tmp_path / "x", progress=False, init_from=tmp_path / "grid/trunk/checkpoints/epoch_2.pt")


def test_elastic_top_is_the_nearest_step_within_bounds():
    from clipscale.train.branches import elastic_top

    spec, planned, after = _spec(), 256, 64  # the trunk stops at the first level's cool-down start
    assert elastic_top(spec, planned, after, 0.0, 100.0) == 160  # the smallest level cooling down after 64
    assert elastic_top(spec, planned, after, 1e9, 100.0) == 4 * planned  # capped
    on_plan = (planned - after) / 100.0
    assert elastic_top(spec, planned, after, on_plan, 100.0) == planned
    # a speed 2% off the one that gives the planned level still gives it (a rerun keeps its grid) ...
    assert elastic_top(spec, planned, after, on_plan * 1.02, 100.0) == planned
    assert elastic_top(spec, planned, after, on_plan * 0.98, 100.0) == planned
    # ... and a third more time gives a larger level, a step of 2^(1/16) (rounded to whole batches)
    bigger = elastic_top(spec, 2560, 64, (2560 * 1.33 - 64) / 100.0, 100.0)
    assert 2560 * 1.25 < bigger < 2560 * 1.4 and bigger % 32 == 0


def test_elastic_top_equals_the_fixed_grid_and_is_kept_on_rerun(tmp_path):
    from clipscale.train.branches import TOP_FILE, top_levels

    summary = train_branches(_spec(), LEVELS, tmp_path / "el", progress=False, elastic=True,
                             finish_by=time.time())  # no time left: the smallest top level
    record = json.loads((tmp_path / "el" / TOP_FILE).read_text())
    assert record["level"] == 160 and record["planned"] == 256 and record["from_samples"] == 64
    assert [b["level"] for b in summary["branches"]] == [128, 160] == list(top_levels(tmp_path / "el", LEVELS))
    assert summary["samples_trained"] == 64 + 64 + (160 - 64)  # trunk to 64, branch 128 from 64, top from 64
    # The same points as a grid planned with that top level from the start (same warmup in samples).
    fixed = train_branches(_spec(warmup_samples=64), [128, 160], tmp_path / "fixed", progress=False)
    for level in (128, 160):
        ours = max((branch_dir(tmp_path / "el", level) / "checkpoints").glob("*.pt"))
        theirs = max((branch_dir(tmp_path / "fixed", level) / "checkpoints").glob("*.pt"))
        assert_bit_identical(state_dict(ours), state_dict(theirs))
    assert fixed["branches"][1]["level"] == 160
    # A rerun keeps the recorded choice, whatever its deadline, and trains nothing.
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "el").rglob("*.pt")}
    again = train_branches(_spec(), LEVELS, tmp_path / "el", progress=False, elastic=True,
                           finish_by=time.time() + 1e6)
    assert again["branches"] == summary["branches"]
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps


def test_elastic_without_a_deadline_trains_the_planned_level(tmp_path):
    summary = train_branches(_spec(), LEVELS, tmp_path / "el", progress=False, elastic=True)
    assert [b["level"] for b in summary["branches"]] == LEVELS
    assert summary["elastic_top"]["why"].startswith("no deadline")
    ours = branch_dir(tmp_path / "el", 256) / "checkpoints" / "epoch_2.pt"
    fixed = train_branches(_spec(), LEVELS, tmp_path / "fixed", progress=False)
    assert fixed["branches"][1]["level"] == 256
    assert_bit_identical(state_dict(ours), state_dict(branch_dir(tmp_path / "fixed", 256) / "checkpoints/epoch_1.pt"))


ELASTIC_DDP = """
import os, sys, time, json
from clipscale.train.branches import train_branches
from clipscale.train.spec import TrainSpec
spec = TrainSpec(model="ladder-xs", data_size=256, samples_seen=256, batch_size=32, epochs=1, num_threads=1,
                 schedule="const-cooldown", cooldown=0.5, warmup=0.25)
rank = int(os.environ["RANK"])
# the ranks disagree on the deadline (rank 0: none left, rank 1: plenty): rank 0's choice must hold on both
summary = train_branches(spec, [128, 256], sys.argv[1], progress=False, elastic=True,
                         finish_by=time.time() + (0 if rank == 0 else 1e6))
with open(os.path.join(sys.argv[2], f"rank{rank}.json"), "w") as fh:  # not stdout: the ranks share it
    json.dump([b["level"] for b in summary["branches"]], fh)
"""


@pytest.mark.slow
def test_under_torchrun_every_rank_trains_rank_0s_elastic_choice(tmp_path):
    import os

    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "--no-python", sys.executable, "-c", ELASTIC_DDP, str(tmp_path / "el"), str(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=os.environ | {"OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)] == [[128, 160]] * 2
