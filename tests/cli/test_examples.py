"""What a newcomer types: every example of every `--help` page runs, and a demo-style run folder is
read as it is found (its world, its branches), on tiny inputs made here.

The module trains two tiny runs once: runs/xs (a plain run, world full) and a cool-down study of one
run in world medium-v1 (runs/cool, the demo's layout). Examples that need the Hugging Face Hub go to
the local fake hub of tests/zoo, which serves a tiny checkpoint under the paper's file names; the
paper's ViT-B-32 is then built from ladder-xs's config (a tiny stand-in, restored after the test),
so that `classify`/`eval`/`finetune` of a zoo checkpoint run their whole path in seconds.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clipscale.cli import main

from .pages import examples, pages

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "zoo"))
from fakehub import FakeHub, start  # noqa: E402 - the zoo tests' local hub

pytestmark = pytest.mark.slow
TASK_LIMIT = 192  # test images per task in the study: 2 per class of medium-v1's 96 objects


def _tiny_study(root: Path):
    """A cool-down study of one ladder-e-xxs run in world medium-v1, levels 2,000 and 4,000 samples,
    trained and evaluated in this process by the code every study worker runs."""
    from clipscale.study import load_spec
    from clipscale.study.one_run import execute
    from clipscale.study.orchestrate import finish_study

    spec_file = root / "cool.toml"
    spec_file.write_text(f"""name = "cool"
out = "cool-out"
[axes]
model = ["ladder-e-xxs"]
data_size = [512]
samples_seen = [2000, 4000]
batch_size = [64]
[train]
world = "medium-v1"
levels_from = "cooldown"
[eval]
tasks = ["embedded/objects"]
every_checkpoint = false
limit = {TASK_LIMIT}
""")
    spec = load_spec(spec_file)
    [run] = spec.runs()
    execute(spec, run)
    finish_study(spec, report=False)
    return spec, run


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """Folders every workspace links to: runs/xs, runs/cool (and its study), images, tables."""
    from clipscale.train import TrainSpec, train

    root = tmp_path_factory.mktemp("shared")
    os.environ.pop("CLIPSCALE_WORLD", None)
    train(TrainSpec("ladder-xs", data_size=256, samples_seen=512, batch_size=64, epochs=2), root / "runs" / "xs",
          progress=False)
    spec, run = _tiny_study(root)
    (root / "runs" / "cool").symlink_to(Path(spec.out) / "runs" / run.name)
    from PIL import Image

    for name, colour in (("a", (220, 30, 30)), ("b", (30, 40, 220)), ("photo", (30, 200, 40))):
        Image.fromarray(np.full((32, 32, 3), colour, np.uint8)).save(root / f"{name}.png")
    (root / "labels.txt").write_text("red circle\nblue square\ngreen star\n")
    _tables(root)
    return {"root": root, "study": spec, "run": run}


def _tables(root: Path) -> None:
    """results.csv and curves.csv of a small scaling study: error = 0.05 + 2 N^-0.3 + 40 D^-0.35 (N =
    GMACs per sample, D = samples seen) times a little noise, 3 models x 6 levels."""
    rng = np.random.default_rng(0)
    rows, curves = [], []
    for arch, g in (("ladder-e-xxs", 0.0004), ("ladder-e-xs", 0.0012), ("ladder-e-s", 0.0045)):
        for s in (8e3, 16e3, 32e3, 64e3, 128e3, 256e3):
            err = min(0.99, (0.05 + 2 * (g * 1e4) ** -0.3 / 10 + 40 * s ** -0.35) * rng.lognormal(0, 0.02))
            rows.append({"arch": arch, "samples_seen": s, "gmacs": g, "gmacs_total": g * s, "acc1": 1 - err,
                         "upstream_dataset": "embedded-64K", "downstream_dataset": "embedded/objects",
                         "task": "zeroshot_classification", "name": f"{arch}-{int(s)}"})
            curves += [{"arch": arch, "run": f"{arch}-{int(s)}", "epoch": e, "samples_seen": s * e / 2,
                        "acc1": 1 - min(0.99, err * (1.3 if e == 1 else 1.0)), "downstream_dataset": "embedded/objects",
                        "upstream_dataset": "embedded-64K"} for e in (1, 2)]
    pd.DataFrame(rows).to_csv(root / "results.csv", index=False)
    pd.DataFrame(curves).to_csv(root / "curves.csv", index=False)


@pytest.fixture()
def fake_zoo(monkeypatch, tmp_path):
    """The local hub serving a tiny checkpoint as ViT-B-32 LAION-80M 3B (final and epoch 1), and
    ViT-B-32 built from ladder-xs's config while the test runs."""
    import open_clip
    from huggingface_hub import constants
    from open_clip.factory import _MODEL_CONFIGS

    import clipscale.models  # noqa: F401 - registers the ladder configs
    from clipscale.compute import counter
    from clipscale.zoo import CATALOG

    checkpoint_bytes = _zoo_conftest().checkpoint_bytes  # a ladder-xs checkpoint in OpenCLIP's format
    entry = CATALOG.get(model="ViT-B-32", data="80M", samples_seen="3B")
    hub = FakeHub()
    hub.add(entry.repo_id, entry.filename, checkpoint_bytes())
    hub.add(entry.repo_id, entry.hub_file(1).filename, checkpoint_bytes(epoch=1))
    server = start(hub)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf"))  # read at each call
    monkeypatch.setitem(_MODEL_CONFIGS, "ViT-B-32", json.loads(json.dumps(open_clip.get_model_config("ladder-xs"))))
    counter._count_name.cache_clear()
    yield hub
    counter._count_name.cache_clear()  # no tiny ViT-B-32 count may outlive the test
    server.shutdown()
    server.server_close()


def _zoo_conftest():
    """tests/zoo/conftest.py as a module (its name clashes with tests/conftest.py on sys.path)."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "zoo" / "conftest.py"
    spec = importlib.util.spec_from_file_location("zoo_conftest", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _workspace(shared, tmp_path, monkeypatch, *links: str) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    for name in links:
        (ws / name).symlink_to(shared["root"] / name)
    monkeypatch.chdir(ws)
    monkeypatch.setenv("CLIPSCALE_CACHE", str(tmp_path / "cache"))  # counts and renderings of this test only
    return ws


def _run_examples(command: str, between=None) -> list[list[str]]:
    """Run every example on the pages of `command` in order; `between(argv)` runs after each one."""
    ran = []
    for prog, parser in pages():
        if prog.split()[1] != command:
            continue
        for argv in examples(parser):
            if argv[0] == "torchrun":
                continue  # run by tests/train/test_distributed.py (two processes, its checks)
            assert main(argv[1:]) == 0, argv
            ran.append(argv)
            if between:
                between(argv)
    assert ran, f"no examples on the help pages of `clipscale {command}`"
    return ran


def test_examples_of_compute_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CLIPSCALE_CACHE", str(tmp_path / "cache"))
    _run_examples("compute")
    out = capsys.readouterr().out
    assert "7.389" in out and "ladder-e-xxs" in out  # ViT-B-32's GMACs per sample; the --list example


@pytest.mark.parametrize("command, links", [
    ("zoo", ()),
    ("classify", ("runs", "a.png", "b.png", "photo.png", "labels.txt")),
    ("eval", ("runs",)),
    ("finetune", ("runs",)),
])
def test_examples_of_the_model_commands_run(command, links, shared, fake_zoo, tmp_path, monkeypatch, capsys):
    ws = _workspace(shared, tmp_path, monkeypatch, *links)
    _run_examples(command)
    out = capsys.readouterr().out
    if command == "eval":
        assert len(pd.read_csv(ws / "results.csv")) == 2 and "embedded/objects" in out
    if command == "finetune":
        assert sorted(p.name for p in (ws / "ft").iterdir()) == ["b32", "cool", "xs", "xs-zs", "xs1"]
    if command == "classify":
        assert "red circle" in out and "% " in out
    if command == "zoo":
        assert (ws / "ckpts").is_dir()


def test_examples_of_train_run(shared, tmp_path, monkeypatch):
    from clipscale.data import EmbeddedDataset, write_shards

    ws = _workspace(shared, tmp_path, monkeypatch)
    write_shards(EmbeddedDataset(256, seed=0), str(ws / "shards" / "%06d.tar"), samples_per_shard=128)
    _run_examples("train")
    assert json.loads((ws / "runs" / "es" / "spec.json").read_text())["world"] == "medium-v1"
    assert sorted(p.name for p in (ws / "runs" / "cool").iterdir())[:2] == ["branch_s1000", "branch_s2000"]


def test_examples_of_the_analysis_commands_run(shared, tmp_path, monkeypatch):
    """fit, backtest, predict, plan, report and design on a results table, in the order a user would."""
    ws = _workspace(shared, tmp_path, monkeypatch, "results.csv", "curves.csv")
    for command in ("fit", "backtest", "predict", "plan", "report", "design"):
        _run_examples(command)
    assert (ws / "fits.json").is_file() and (ws / "joint.json").is_file() and (ws / "report" / "index.html").is_file()
    assert (ws / "perrun.json").is_file() and (ws / "bt" / "backtest.csv").is_file()
    assert (ws / "replay" / "replay.csv").is_file()


def test_examples_of_study_run(shared, tmp_path, monkeypatch):
    """`study init` writes the template; the test then makes that spec tiny (one ladder-xs run of 512
    samples) before the examples that plan, run and report it."""
    ws = _workspace(shared, tmp_path, monkeypatch)

    def tiny(argv):
        if argv[1:3] == ["study", "init"]:
            (ws / "study.toml").write_text('name = "tiny"\n[axes]\nmodel = ["ladder-xs"]\ndata_size = [256]\n'
                                           'samples_seen = [256, 512]\nbatch_size = [64]\n[train]\nepochs = 2\n'
                                           'levels_from = "checkpoints"\n[eval]\ntasks = ["embedded/colour"]\n'
                                           'limit = 48\n[launch]\njobs = 1\n')

    _run_examples("study", between=tiny)
    assert (ws / "tiny-out" / "results.csv").is_file()


def test_the_paper_and_torchrun_examples_are_the_ones_their_tests_run():
    """`clipscale paper`'s examples (the paper's whole tables: a minute or more each) and the torchrun
    example run in tests/paper/test_paper.py and tests/train/test_distributed.py, with their checks."""
    [paper] = [p for prog, p in pages() if prog == "clipscale paper"]
    assert [argv[2] for argv in examples(paper)] == ["fit", "figures", "report"]
    [train] = [p for prog, p in pages() if prog == "clipscale train"]
    assert [argv[0] for argv in examples(train)].count("torchrun") == 1


def test_examples_of_data_prepare_run(tmp_path, monkeypatch):
    """data prepare downloads from a local image server (tests/data/http_images.py)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))
    from http_images import ImageServer

    ws = tmp_path / "ws"
    ws.mkdir()
    monkeypatch.chdir(ws)
    with ImageServer() as server:
        urls = [server.url(f"/good{i}.{'jpeg' if i % 2 == 0 else 'png'}") for i in range(6)]
        pd.DataFrame({"URL": urls, "TEXT": [f"image {i}" for i in range(6)]}).to_parquet(ws / "urls.parquet")
        _run_examples("data")
    assert json.loads((ws / "shards" / "stats.json").read_text())["fetched"] == 6


def test_the_demo_example_is_the_one_the_smoke_test_runs():
    """`clipscale demo --help` shows one example, the smoke preset (under a minute): the study tests
    run it with their checks (tests/study/test_pipeline.py::test_smoke_demo_writes_results_fits_and_report)."""
    [demo] = [p for prog, p in pages() if prog == "clipscale demo"]
    assert examples(demo) == [["clipscale", "demo", "--preset", "smoke", "--out", "smoke"]]


# ------------------------------------------------------------- a demo-style run folder, as found

def test_eval_of_a_study_checkpoint_equals_the_study_row_without_any_environment(shared, tmp_path, monkeypatch):
    """The checkpoint of a medium-v1 run evaluates to the study's numbers with no CLIPSCALE_WORLD:
    the run's folder says its world."""
    spec, run = shared["study"], shared["run"]
    study = pd.read_csv(Path(spec.out) / "results.csv")
    monkeypatch.delenv("CLIPSCALE_WORLD", raising=False)
    cool = shared["root"] / "runs" / "cool"
    branch = cool / "branch_s4000" / "checkpoints" / "epoch_1.pt"
    out = tmp_path / "eval.csv"
    assert main(["eval", "--pretrained", str(branch), "--tasks", "embedded/objects", "--limit", str(TASK_LIMIT),
                 "--quiet", "--out", str(out)]) == 0
    assert main(["eval", "--run", str(cool), "--tasks", "embedded/objects", "--limit", str(TASK_LIMIT),
                 "--quiet", "--out", str(out)]) == 0
    mine = pd.read_csv(out)
    cols = ["acc1", "acc5", "mean_per_class_recall", "task_version", "samples_seen", "checkpoint_sha256", "n_images"]
    top = study[study["samples_seen"] == 4000][cols].reset_index(drop=True)
    assert "medium-v1" in top["task_version"][0]
    pd.testing.assert_frame_equal(mine[cols].iloc[[0]].reset_index(drop=True), top)  # --pretrained FILE
    both = study.sort_values("samples_seen")[cols].reset_index(drop=True)
    pd.testing.assert_frame_equal(mine[cols].iloc[1:].reset_index(drop=True), both)  # --run: every branch


def test_the_world_is_in_the_run_spec_its_hash_and_a_one_line_error_when_contradicted(shared, capsys, monkeypatch):
    from clipscale.study.spec import Run

    run = shared["run"]
    branch = shared["root"] / "runs" / "cool" / "branch_s4000"
    assert json.loads((branch / "spec.json").read_text())["world"] == "medium-v1"
    assert json.loads((branch / "meta.json").read_text())["spec"]["world"] == "medium-v1"
    full = Run(run.model, run.data_size, run.samples_seen, run.lr, run.batch_size, run.levels,
               run.train.__class__(**{**run.train.__dict__, "world": "full"}), run.elastic)
    assert full.hash != run.hash and "world" not in full.train_spec()
    monkeypatch.setenv("CLIPSCALE_WORLD", "full")
    assert main(["eval", "--pretrained", str(branch), "--tasks", "embedded/objects", "--limit", "10"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'medium-v1'" in err and "unset CLIPSCALE_WORLD" in err


def test_run_folders_as_found(shared, tmp_path, capsys):
    """A branch folder, a cool-down run (--level) and a checkpoint lead to the same weights and arch."""
    from clipscale.cli.finetune import resolve_checkpoint

    cool = shared["root"] / "runs" / "cool"
    largest = resolve_checkpoint(str(cool), None)
    assert largest[0] == "ladder-e-xxs" and largest[1] == cool / "branch_s4000" / "checkpoints" / "epoch_1.pt"
    assert resolve_checkpoint(str(cool), None, level=2000)[1].parent.parent.name == "branch_s2000"
    assert resolve_checkpoint(str(cool / "branch_s2000"), None)[1] == resolve_checkpoint(str(cool), None, 2000)[1]
    assert main(["eval", "--run", str(cool), "--level", "3000", "--tasks", "embedded/objects"]) == 2
    assert "valid choices: 2000, 4000" in capsys.readouterr().err
    assert main(["classify", str(shared["root"] / "a.png"), "--pretrained", str(cool / "branch_s2000"),
                 "--labels", "embedded/colour", "--json"]) == 0
    top = json.loads(capsys.readouterr().out)[0]["top"]
    assert {t["label"] for t in top} <= {"red", "yellow", "green", "blue", "white", "black"}  # medium-v1's colours
