import json
import os
import subprocess
import sys

import pytest

from clipscale import _io, schema
from clipscale.cli import main
from clipscale.errors import UserInputError, unknown


def test_cli_help_lists_every_stage(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for cmd in ("zoo", "compute", "train", "eval", "fit", "paper", "study", "demo", "report"):
        assert cmd in out


def test_python_dash_m_runs():
    proc = subprocess.run([sys.executable, "-m", "clipscale", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and "clipscale" in proc.stdout


def test_atomic_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "t.json"
    _io.atomic_write_json(target, {"a": 1})
    with pytest.raises(RuntimeError):
        with _io.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["t.json"]


def test_run_metadata_records_versions_and_spec():
    meta = _io.run_metadata({"model": "x"})
    assert meta["spec"] == {"model": "x"}
    assert meta["versions"]["torch"] and meta["versions"]["open_clip_torch"]


def test_unknown_lists_choices():
    err = unknown("model", "foo", ["b", "a"], fix="see `clipscale zoo list`")
    assert isinstance(err, UserInputError)
    assert "valid choices: a, b" in str(err) and "foo" in str(err)


def test_schema_defaults():
    assert schema.default_metric("imagenet1k") == "acc1"
    assert schema.default_metric("mscoco_captions") == "image_retrieval_recall@5"
    assert schema.default_metric("voc2007_multilabel") == "mean_average_precision"
    assert schema.paper_group("CLIP-WIT") == "openai" and schema.paper_group("LAION-2B") == "openclip"
    assert schema.pretty_samples(13e9) == "13B" and schema.pretty_samples(2e5) == "200K"


def test_atomic_write_follows_umask(tmp_path):
    old = os.umask(0o022)
    try:
        path = _io.atomic_write_text(tmp_path / "r.csv", "a\n")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644
