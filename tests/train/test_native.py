"""The native engine: run folder, OpenCLIP-loadable checkpoints, recipe, determinism and resume."""
from __future__ import annotations

import json
import math
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch

from clipscale.train import train
from clipscale.train.native import LOGIT_SCALE_MAX, build_model, build_optimizer, train_step

from .helpers import assert_bit_identical, state_dict, tiny_spec


def test_run_folder_contract(tiny_run):
    out = tiny_run.out_dir
    assert {p.name for p in out.iterdir()} >= {"spec.json", "meta.json", "metrics.jsonl", "done.json", "checkpoints"}
    assert [p.name for p in tiny_run.checkpoints] == ["epoch_1.pt", "epoch_2.pt"]
    assert (tiny_run.steps, tiny_run.samples_seen) == (8, 256)
    from clipscale.compute import count

    assert tiny_run.extra["gmacs"] == count("ladder-xs").gmacs  # per sample; total = x samples seen
    assert tiny_run.extra["gmacs_total"] == pytest.approx(256 * count("ladder-xs").gmacs)
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, 9))
    assert all(math.isfinite(r["loss"]) and r["samples_per_s"] > 0 for r in rows)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["spec"] == tiny_spec().to_dict() and meta["versions"]["torch"]
    ckpt = torch.load(tiny_run.final_checkpoint, weights_only=True)  # no pickled objects
    assert (ckpt["epoch"], ckpt["step"], ckpt["samples_seen"]) == (2, 8, 256)
    assert {"state_dict", "optimizer"} <= set(ckpt)


def test_checkpoint_loads_in_open_clip(tiny_run):
    import open_clip

    model, _, _ = open_clip.create_model_and_transforms("ladder-xs", pretrained=str(tiny_run.final_checkpoint))
    assert_bit_identical(model.state_dict(), state_dict(tiny_run.final_checkpoint))


def test_finished_folder_returns_at_once(tiny_run, monkeypatch):
    """No model is built and no file is rewritten: what `train` returns is read from done.json."""
    from clipscale.train import native

    def no_training(*args, **kwargs):
        raise AssertionError("a finished run folder must not build a model")

    monkeypatch.setattr(native, "build_model", no_training)
    before = {p: p.stat().st_mtime_ns for p in tiny_run.out_dir.rglob("*")}
    again = train(tiny_spec(), tiny_run.out_dir, progress=False)
    assert again.to_dict() == tiny_run.to_dict()
    assert {p: p.stat().st_mtime_ns for p in tiny_run.out_dir.rglob("*")} == before


def test_same_spec_same_bits(tiny_run, tmp_path):
    other = train(tiny_spec(), tmp_path / "again", progress=False)
    assert_bit_identical(state_dict(other.final_checkpoint), state_dict(tiny_run.final_checkpoint))
    reseeded = train(tiny_spec(seed=1), tmp_path / "seed1", progress=False)
    a, b = state_dict(reseeded.final_checkpoint), state_dict(tiny_run.final_checkpoint)
    assert not torch.equal(a["visual.proj"], b["visual.proj"])


def test_resume_from_intermediate_checkpoint_is_bit_identical(tiny_run, tmp_path):
    part = tmp_path / "part"
    (part / "checkpoints").mkdir(parents=True)
    shutil.copy(tiny_run.out_dir / "spec.json", part / "spec.json")
    shutil.copy(tiny_run.checkpoints[0], part / "checkpoints" / "epoch_1.pt")
    shutil.copy(tiny_run.out_dir / "metrics.jsonl", part / "metrics.jsonl")  # rows past step 4 are dropped
    resumed = train(tiny_spec(), part, progress=False)
    assert resumed.steps == 8
    assert_bit_identical(state_dict(resumed.final_checkpoint), state_dict(tiny_run.final_checkpoint))
    ckpt, ref = (torch.load(p, weights_only=True)["optimizer"]
                 for p in (resumed.final_checkpoint, tiny_run.final_checkpoint))
    assert all(torch.equal(ckpt["state"][k]["exp_avg_sq"], ref["state"][k]["exp_avg_sq"]) for k in ref["state"])
    volatile = {"samples_per_s", "elapsed_s", "cpu_s"}  # timings; the rest of each metrics row is reproduced
    rows = [{k: v for k, v in json.loads(r).items() if k not in volatile}
            for f in (part, tiny_run.out_dir) for r in (f / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 16 and rows[:8] == rows[8:]


def test_killed_after_last_checkpoint_finishes_without_training(tiny_run, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(tiny_run.out_dir, out)
    (out / "done.json").unlink()
    result = train(tiny_spec(), out, progress=False)
    assert (result.steps, result.final_checkpoint.read_bytes()) == (8, tiny_run.final_checkpoint.read_bytes())
    assert result.samples_per_s > 0 and (out / "done.json").exists()


@pytest.mark.slow
def test_killed_subprocess_resumes_bit_identical(tmp_path):
    spec = tiny_spec(data_size=256, samples_seen=5120, epochs=10)  # 160 steps: time to kill it mid-run
    ref = train(spec, tmp_path / "ref", progress=False)
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "clipscale", "train", "--arch", "ladder-xs", "--data-size", "256",
           "--samples-seen", "5120", "--batch-size", "32", "--checkpoints", "10", "--threads", "1",
           "--quiet", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (out / "checkpoints" / "epoch_1.pt").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "done.json").exists(), "the run finished before it could be killed"
    kept = sorted(int(p.stem.split("_")[1]) for p in (out / "checkpoints").glob("epoch_*.pt"))
    assert len(kept) < 10
    resumed = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resuming from epoch {kept[-1]} (" in resumed.stderr  # the user is told where it goes on
    assert_bit_identical(state_dict(out / "checkpoints" / "epoch_10.pt"), state_dict(ref.final_checkpoint))
    assert json.loads(resumed.stdout)["steps"] == 160


def _openclip_exclude():
    """OpenCLIP's own no-decay rule, read from the installed open_clip_train/main.py (not a copy)."""
    import ast
    import importlib.util
    from pathlib import Path

    source = Path(importlib.util.find_spec("open_clip_train.main").origin).read_text()
    rule = next(node.value for node in ast.walk(ast.parse(source))
                if isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda)
                and any(getattr(t, "id", None) == "exclude" for t in node.targets))
    return eval(compile(ast.Expression(rule), "open_clip_train/main.py", "eval"))  # lambda n, p: ...


@pytest.mark.parametrize("family", ["bpe", "e"])
def test_decay_rule_by_dimension_is_openclips_on_every_ladder_model(family):
    import open_clip

    from clipscale.models import ladder
    from clipscale.train.native import decays

    exclude = _openclip_exclude()
    for name in ladder(family):
        model = open_clip.create_model(name, device="meta")  # shapes only, no memory
        params = list(model.named_parameters())
        assert params and any(p.ndim < 2 for _, p in params) and any(p.ndim >= 2 for _, p in params)
        differ = [n for n, p in params if decays(p) == exclude(n, p)]
        assert not differ, f"{name}: the dimension rule and OpenCLIP's disagree on {differ}"


def test_optimizer_groups_are_openclips():
    spec = tiny_spec(weight_decay=0.1)
    model, _, _ = build_model(spec, torch.device("cpu"))
    opt = build_optimizer(model, spec)
    names = {id(p): n for n, p in model.named_parameters()}
    groups = {g["weight_decay"]: [names[id(p)] for p in g["params"]] for g in opt.param_groups}
    exclude = _openclip_exclude()
    named = list(model.named_parameters())
    assert groups == {0.0: [n for n, p in named if exclude(n, p)], 0.1: [n for n, p in named if not exclude(n, p)]}


def test_recipe_decay_groups_and_logit_clamp():
    spec = tiny_spec()
    model, _, tokenizer = build_model(spec, torch.device("cpu"))
    opt = build_optimizer(model, spec)
    names = {id(p): n for n, p in model.named_parameters()}
    no_decay, decay = ({names[id(p)] for p in g["params"]} for g in opt.param_groups)
    assert {"logit_scale", "visual.conv1.weight", "ln_final.weight"} <= no_decay | decay
    assert "logit_scale" in no_decay and "ln_final.weight" in no_decay and "ln_final.bias" in no_decay
    assert "visual.conv1.weight" in decay and "text_projection" in decay
    assert [g["weight_decay"] for g in opt.param_groups] == [0.0, 0.2]
    assert opt.defaults["betas"] == (0.9, 0.98) and opt.defaults["eps"] == 1e-6
    with torch.no_grad():
        model.logit_scale.fill_(10.0)
    from open_clip.loss import ClipLoss

    images = torch.randn(4, 3, 32, 32)
    train_step(model, ClipLoss(), opt, images, tokenizer(["a"] * 4), 0.0, torch.autocast("cpu", enabled=False))
    assert model.logit_scale.item() == pytest.approx(LOGIT_SCALE_MAX)


def test_bf16_autocast_runs_and_differs(tiny_run, tmp_path):
    bf16 = train(tiny_spec(precision="bf16", epochs=1), tmp_path / "bf16", progress=False)
    rows = [json.loads(line) for line in (bf16.out_dir / "metrics.jsonl").read_text().splitlines()]
    assert all(math.isfinite(r["loss"]) for r in rows)
    a, b = state_dict(bf16.final_checkpoint), state_dict(tiny_run.final_checkpoint)
    assert a["visual.proj"].dtype == torch.float32  # autocast: fp32 master weights
    assert not torch.equal(a["visual.proj"], b["visual.proj"])


def test_a_run_leaves_the_process_warning_filters_as_they_were(tmp_path):
    import warnings

    before = list(warnings.filters)
    train(tiny_spec(samples_seen=64, epochs=1), tmp_path / "run", progress=False)
    assert warnings.filters == before
