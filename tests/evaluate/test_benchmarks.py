"""The paper's benchmarks through clip_benchmark's builder: folder layout, corrupt images, missing data."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from clipscale import evaluate as ev
from clipscale.errors import DataError

# fer2013 in clip_benchmark's layout: ROOT/fer2013/{train,test}/<class>/<image> (7 classes).
FER_CLASSES = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")


def _fer2013(root, per_class=3, corrupt=True):
    folder = root / "fer2013"
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for name in FER_CLASSES:
            (folder / split / name).mkdir(parents=True)
            for j in range(per_class):
                Image.fromarray(rng.integers(0, 256, (48, 48), dtype=np.uint8)).save(folder / split / name / f"{j}.png")
    if corrupt:
        (folder / "test" / "happy" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not an image")
    return folder


def test_benchmark_with_a_corrupt_image_is_evaluated_and_the_image_reported(tmp_path, capsys, caplog):
    _fer2013(tmp_path)
    caplog.set_level("WARNING", logger="clipscale")
    df = ev.evaluate("ladder-xs", None, ["fer2013", "linear_probe/fer2013"], data_root=tmp_path, progress=False)
    zs, lp = df.iloc[0], df.iloc[1]
    assert zs["downstream_dataset"] == "fer2013" and zs["task"] == "zeroshot_classification"
    assert zs["n_images"] == 21 and zs["n_skipped"] == 1
    assert 0.0 <= zs["acc1"] <= zs["acc5"] <= 1.0
    assert lp["task"] == "linear_probe" and lp["train_images"] == 21 and 0.0 <= lp["acc1"] <= 1.0
    assert "broken.png" in caplog.text  # logged, for the CLI to show
    assert "broken.png" not in capsys.readouterr().err  # the library prints nothing


def test_cli_shows_the_skipped_image_on_stderr(tmp_path, capsys):
    from clipscale.cli import main

    _fer2013(tmp_path)
    args = ["eval", "--arch", "ladder-xs", "--tasks", "fer2013", "--data-root", str(tmp_path), "--quiet",
            "--out", str(tmp_path / "results.csv")]
    assert main(args) == 0
    err = capsys.readouterr().err.splitlines()
    assert any(line.startswith("clipscale: warning: skipped unreadable image") and "broken.png" in line for line in err)
    assert any(line.startswith("clipscale: warning: fer2013: 1 unreadable image(s) skipped") for line in err)


def test_missing_dataset_names_data_root(tmp_path):
    with pytest.raises(DataError, match="--data-root"):
        ev.evaluate("ladder-xs", None, ["imagenet-a"], data_root=tmp_path)
    with pytest.raises(DataError, match="--data-root"):
        ev.evaluate("ladder-xs", None, ["imagenet1k"])


def test_wrong_folder_layout_is_one_clear_error(tmp_path):
    folder = tmp_path / "fer2013" / "test"
    folder.mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(folder / "loose.png")  # images without class folders
    with pytest.raises(DataError, match="layout"):
        ev.evaluate("ladder-xs", None, ["fer2013"], data_root=tmp_path)
    (tmp_path / "imagenet-r").mkdir()
    with pytest.raises(DataError, match="layout"):
        ev.evaluate("ladder-xs", None, ["imagenet-r"], data_root=tmp_path)


def test_data_root_template_and_cleaned_names(tmp_path):
    from clipscale.evaluate.datasets import benchmark_root

    assert benchmark_root("vtab/cifar10", tmp_path) == tmp_path / "vtab-cifar10"
    assert benchmark_root("imagenet-r", f"{tmp_path}/{{dataset}}/test") == tmp_path / "imagenet-r" / "test"


def test_zero_shot_and_probe_share_images_and_limit_spreads_over_classes(tmp_path):
    from clipscale.evaluate.datasets import task_data

    _fer2013(tmp_path, corrupt=False)
    zs = task_data(ev.get_task("fer2013"), data_root=tmp_path, limit=7)
    lp = task_data(ev.get_task("linear_probe/fer2013"), data_root=tmp_path, limit=7)
    assert zs.test.key == lp.test.key and lp.train is not None and lp.train.key != lp.test.key
    labels = sorted(zs.test.load(j)[1] for j in range(zs.test.n))
    assert zs.test.n == 7 and labels == list(range(7))  # one image of each class, not 7 of the first
