"""A study with [finetune]: each run's last checkpoint fine-tuned, rows appended to results.csv."""
from __future__ import annotations

import pandas as pd
import pytest

from clipscale.errors import UserInputError

TOML = """
name = "ft"
out = "{out}"
[axes]
model = ["ladder-xs"]
data_size = [256]
samples_seen = [256]
batch_size = [64]
[eval]
tasks = ["embedded/shape"]
limit = 32
[fit]
method = "ls"
holdout_top = 0
[launch]
jobs = 1
threads = 1
[finetune]
tasks = ["{task}"]
epochs = 1
limit = 32
batch_size = 16
train_images = {train_images}
"""


def test_bad_finetune_task_is_one_user_error(tmp_path):
    from clipscale.study import load_spec

    path = tmp_path / "s.toml"
    path.write_text(TOML.format(out=tmp_path / "out", task="embedded/retrieval", train_images=16))
    with pytest.raises(UserInputError, match="not a classification task"):
        load_spec(path)


@pytest.mark.slow
def test_study_finetunes_the_last_checkpoint_of_each_run(tmp_path):
    from clipscale.study import load_spec, run_study

    path = tmp_path / "s.toml"
    path.write_text(TOML.format(out=tmp_path / "out", task="digits", train_images=16))
    spec = load_spec(path)
    run_study(spec, progress=False, report=False)
    results = pd.read_csv(spec.out_dir / "results.csv")
    ft = results[results["task"] == "finetune"]
    assert len(ft) == 1 and ft["downstream_dataset"].iloc[0] == "digits"
    assert (spec.out_dir / "finetune").is_dir()
    import json

    assert json.loads(ft["finetune_recipe"].iloc[0])["train_images"] == 16  # limited downstream data


def test_finetune_train_images_below_two_is_one_user_error(tmp_path):
    from clipscale.study import load_spec

    path = tmp_path / "s.toml"
    path.write_text(TOML.format(out=tmp_path / "out", task="digits", train_images=1))
    with pytest.raises(UserInputError, match="train-images 1"):
        load_spec(path)


def test_finetune_head_init_is_checked_and_reaches_the_recipe(tmp_path):
    from clipscale.study import load_spec

    path = tmp_path / "s.toml"
    path.write_text(TOML.format(out=tmp_path / "out", task="digits", train_images=16) + 'head_init = "lp"\n')
    with pytest.raises(UserInputError, match="head-init 'lp'"):
        load_spec(path)
    path.write_text(TOML.format(out=tmp_path / "out", task="digits", train_images=16) + 'head_init = "probe"\n')
    assert load_spec(path).finetune.head_init == "probe"
