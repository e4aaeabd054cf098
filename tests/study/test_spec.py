"""Study spec: validation, expansion into named and hashed runs, the template."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from clipscale.cli import main
from clipscale.errors import NotFoundError, UserInputError
from clipscale.study import load_spec, spec_from_dict
from clipscale.study.demo import PRESET_DIR, PRESETS

BASE = {"name": "t", "out": "o",
        "axes": {"model": ["ladder-xs", "ladder-s"], "data_size": [1000, 4000], "samples_seen": [2000, 6000]}}


def _spec(**sections):
    raw = {**BASE, **{k: {**BASE.get(k, {}), **v} for k, v in sections.items()}}
    return spec_from_dict(raw)


def test_expansion_is_the_product_of_axes_with_stable_unique_names():
    runs = _spec().runs()
    assert len(runs) == 2 * 2 * 2
    assert len({r.name for r in runs}) == 8 and len({r.hash for r in runs}) == 8
    assert [r.name for r in runs] == [r.name for r in _spec().runs()]  # stable across expansions
    assert runs[0].model == "ladder-xs" and runs[0].samples_seen == 2000


def test_hash_follows_every_training_setting():
    a = _spec().runs()[0]
    b = _spec(train={"weight_decay": 0.1}).runs()[0]
    c = _spec(launch={"jobs": 1, "threads": 2}).runs()[0]  # how it is launched is not the run
    assert a.hash != b.hash and a.hash == c.hash


def test_levels_from_checkpoints_makes_one_run_per_model_and_data_with_a_checkpoint_per_level():
    runs = _spec(train={"levels_from": "checkpoints", "epochs": 2}).runs()
    assert len(runs) == 4
    assert runs[0].levels == (2000, 6000) and runs[0].samples_seen == 6000
    assert runs[0].epochs == 3  # chunks of gcd(2000, 6000) = 2000 samples: one checkpoint per level


@pytest.mark.parametrize("raw, match", [
    ({**BASE, "axis": {}}, "unknown key 'axis'"),
    ({**BASE, "axes": {**BASE["axes"], "modle": ["x"]}}, "unknown key 'modle'"),
    ({**BASE, "train": {"precision": "fp8"}}, "'fp8' is not allowed; valid choices: bf16, fp32"),
    ({**BASE, "axes": {**BASE["axes"], "data_size": [0]}}, "must be > 0"),
    ({**BASE, "axes": {**BASE["axes"], "samples_seen": ["many"]}}, "expected int"),
    ({**BASE, "axes": {**BASE["axes"], "batch_size": [4096]}}, "batch"),
    ({"name": "t", "axes": {"model": ["ladder-xs"]}}, "missing key 'data_size'"),
    ({"name": "t"}, "missing \\[axes\\]"),
    ({**BASE, "axes": {**BASE["axes"], "model": []}}, "\\[axes\\] model: an axis needs at least one value"),
    ({**BASE, "fit": {"task": "embedded/shape"}}, "\\[fit\\] task is now \\[fit\\] dataset"),
    ({**BASE, "train": {"checkpoints": 2}}, "\\[train\\] checkpoints is now \\[train\\] epochs"),
    ({**BASE, "fit": {"n_boot": -1}}, "n_boot: must be >= 0"),
])
def test_bad_specs_name_the_key_and_the_fix(raw, match):
    with pytest.raises(UserInputError, match=match):
        spec_from_dict(raw)


def test_unknown_model_lists_choices():
    with pytest.raises(NotFoundError, match="ladder-xs"):
        spec_from_dict({**BASE, "axes": {**BASE["axes"], "model": ["ladder-xxl"]}})


def test_init_writes_a_template_that_loads(tmp_path, capsys):
    path = tmp_path / "s.toml"
    assert main(["study", "init", str(path)]) == 0
    spec = load_spec(path)
    assert spec.out_dir == tmp_path / "my-study-out"  # relative to the spec file
    assert len(spec.runs()) == 18
    assert main(["study", "init", str(path)]) == 2  # exists: refused without --force
    assert "--force" in capsys.readouterr().err


def test_presets_are_valid_and_meet_the_grid_requirement(tmp_path):
    from clipscale.compute import gmacs_per_sample

    for name, preset in PRESETS.items():
        assert preset.path.parent == PRESET_DIR
        spec = load_spec(preset.path, out=tmp_path)
        a = spec.axes
        assert len(a.model) >= 3 and len(a.samples_seen) >= 3, name
        # Fixed grids keep the data axis; the budgeted default spends its time on models x levels.
        assert len(a.data_size) >= 2 or spec.budget.seconds, name
        if name == "default":
            costs = [gmacs_per_sample(r.model) * lv for r in spec.runs() for lv in r.levels]
            assert max(costs) / min(costs) >= 100, "default preset must span two decades of compute"
            assert len({r.model for r in spec.runs()}) >= 3 and spec.budget.seconds == 600


def test_cli_bad_spec_is_one_line_exit_2(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('name = "x"\n[axes]\nmodel = ["ladder-xs"]\ndata_size = [10]\nsamples_seen = [100]\nfoo = 1\n')
    proc = subprocess.run([sys.executable, "-m", "clipscale", "study", "status", str(path)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "unknown key 'foo'" in proc.stderr and "Traceback" not in proc.stderr


def test_unknown_demo_preset_names_the_choices(tmp_path, capsys):
    assert main(["demo", "--preset", "big", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "valid choices: adaptive, colour, default, objects, smoke" in err and not list(tmp_path.iterdir())  # nothing started


def test_hash_follows_the_embedded_data_version(monkeypatch):
    import clipscale.data.vocab as vocab

    before = _spec().runs()[0].hash
    monkeypatch.setattr(vocab, "GRAMMAR_VERSION", vocab.GRAMMAR_VERSION + 1)
    assert _spec().runs()[0].hash != before  # new data: new runs, old results never reused


def test_training_defaults_and_choices_are_trainspecs():
    """[train] and [axes] defaults come from TrainSpec; the choices are its constants (one home)."""
    import dataclasses

    from clipscale.study import spec as study_spec
    from clipscale.train import spec as train_spec

    fields = {f.name: f.default for f in dataclasses.fields(train_spec.TrainSpec)}
    settings = study_spec.TrainSettings()
    for name in ("engine", "precision", "warmup", "weight_decay", "seed", "cooldown"):
        assert getattr(settings, name) == fields[name], name
    axes = study_spec.Axes(model=("ladder-xs",), data_size=(1,), samples_seen=(1,))
    assert (axes.lr, axes.batch_size) == ((fields["lr"],), (fields["batch_size"],))
    assert study_spec.ENGINES is train_spec.ENGINES and study_spec.PRECISIONS is train_spec.PRECISIONS


@pytest.mark.parametrize("train, match", [
    ({"warmup": 1.5}, "run ladder-xs.*warmup is a fraction of the steps in \\[0, 1\\), got 1.5"),
    ({"weight_decay": -0.1}, "weight_decay must be >= 0"),
    ({"levels_from": "cooldown", "cooldown": 1.0}, "cool-down is a fraction of the steps in \\(0, 1\\)"),
])
def test_training_values_are_checked_by_trainspec_with_the_run_named(train, match):
    with pytest.raises(UserInputError, match=match):
        _spec(train=train)


def test_a_seed_axis_replicates_every_run_and_one_seed_is_todays_runs():
    today = [(r.name, r.hash) for r in _spec().runs()]
    assert [(r.name, r.hash) for r in _spec(axes={"seed": [0]}).runs()] == today
    two = _spec(axes={"seed": [0, 1]}).runs()
    assert len(two) == 2 * len(today) and {r.train.seed for r in two} == {0, 1}
    assert len({r.hash for r in two}) == len(two) and {(r.name, r.hash) for r in two} >= set(today)
    with pytest.raises(UserInputError, match=r"\[axes\] seed or one in \[train\] seed, not both"):
        _spec(axes={"seed": [0, 1]}, train={"seed": 3})
    with pytest.raises(UserInputError, match="list each seed once"):
        _spec(axes={"seed": [1, 1]})
    for spec in (_spec(), _spec(axes={"seed": [1, 2]})):  # study.json (to_dict) reads back as the same spec
        assert spec_from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


def test_the_fit_table_names_its_split_and_refuses_a_retired_method():
    from clipscale.laws import Holdout
    from clipscale.laws.defaults import FRONTIER_METHOD

    assert _spec().fit.method == FRONTIER_METHOD and _spec().fit.holdout() == Holdout(top=3)
    assert _spec(fit={"holdout_frontier_top": 3}).fit.holdout() == Holdout(frontier_top=3)
    assert _spec(fit={"holdout_top": 0}).fit.holdout() is None
    with pytest.raises(UserInputError, match="holdout_top or holdout_frontier_top, not both"):
        _spec(fit={"holdout_top": 2, "holdout_frontier_top": 3})
    with pytest.raises(UserInputError, match=r"\[fit\] method: method 'saturating' was retired"):
        _spec(fit={"method": "saturating"})
    demo = load_spec(PRESETS["default"].path, out="x")
    assert demo.fit.method == FRONTIER_METHOD and demo.fit.holdout() == Holdout(frontier_top=3)
    # study.json (to_dict, which writes holdout_top at its default too) reads back as the same spec:
    # the workers of a demo read it, so a refusal here fails every run of the demo
    presets = [load_spec(preset.path, out="x") for preset in PRESETS.values()]
    for spec in [_spec(fit={"holdout_frontier_top": 3}), *presets]:
        assert spec_from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
