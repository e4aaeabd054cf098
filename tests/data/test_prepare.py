"""`clipscale data prepare` against a real HTTP server on 127.0.0.1 (tests/data/http_images.py)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("img2dataset")

from clipscale.cli import main  # noqa: E402
from clipscale.errors import DataError, UserInputError  # noqa: E402
from clipscale.data.prepare import prepare  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from http_images import ImageServer  # noqa: E402


def _url_list(server, tmp_path, cols=("URL", "TEXT")) -> tuple[Path, int]:
    """6 good images, a 404, a timeout, a truncated jpeg, a text body, a duplicate of good0."""
    paths = server.good + ["/missing.jpg", "/slow.jpg", "/truncated.jpg", "/notimage.jpg", server.good[0]]
    urls = [server.url(p) for p in paths]
    f = tmp_path / "urls.parquet"
    pd.DataFrame({cols[0]: urls, cols[1]: [f"a photo number {i}" for i in range(len(urls))]}).to_parquet(f)
    return f, len(server.good)


def _tar_members(out: Path) -> list[str]:
    names = []
    for t in sorted(out.glob("*.tar")):
        with tarfile.open(t) as tf:  # raises on a truncated tar
            names += tf.getnames()
    return names


def test_prepare_counts_failures_and_shards(tmp_path):
    with ImageServer(slow_s=3) as s:
        f, n_good = _url_list(s, tmp_path)
        stats = prepare(f, tmp_path / "out", image_size=32, threads=4, samples_per_shard=4,
                        timeout_s=1, progress=False)
    out = tmp_path / "out"
    assert stats.fetched == n_good
    assert stats.duplicates_skipped == 1
    assert sum(stats.failed.values()) == 4, stats.failed
    members = _tar_members(out)
    assert sum(m.endswith(".jpg") for m in members) == n_good
    assert sum(m.endswith(".txt") for m in members) == n_good
    saved = json.loads((out / "stats.json").read_text())
    assert saved["fetched"] == n_good
    assert stats.shards == len(list(out.glob("*.tar"))) >= 2


def test_cli_prepare_then_train_runs(tmp_path, capsys):
    with ImageServer(slow_s=0) as s:
        f, n_good = _url_list(s, tmp_path, cols=("url", "caption"))
        rc = main(["data", "prepare", str(f), "--out", str(tmp_path / "d"), "--image-size", "32",
                   "--threads", "4", "--samples-per-shard", "4", "--timeout", "2", "--no-progress"])
    assert rc == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert "fetched" in last and "shards" in last
    stats = json.loads((tmp_path / "d" / "stats.json").read_text())
    rc = main(["train", "--model", "ladder-xs", "--data-size", str(stats["fetched"]), "--samples-seen", "8",
               "--batch-size", "4", "--out", str(tmp_path / "run"), "--train-data", stats["train_data"],
               "--no-progress", "--threads", "1"])
    assert rc == 0
    assert any((tmp_path / "run").iterdir())


def test_missing_columns_lists_them(tmp_path):
    f = tmp_path / "u.csv"
    pd.DataFrame({"link": ["http://x/a.jpg"], "alt": ["a"]}).to_csv(f, index=False)
    with pytest.raises(DataError, match="link"):
        prepare(f, tmp_path / "o", progress=False)
    assert main(["data", "prepare", str(f), "--out", str(tmp_path / "o")]) != 0


def test_unreadable_parquet(tmp_path, capsys):
    f = tmp_path / "u.parquet"
    f.write_bytes(b"not a parquet file at all")
    with pytest.raises(DataError):
        prepare(f, tmp_path / "o", progress=False)
    assert main(["data", "prepare", str(f), "--out", str(tmp_path / "o")]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "u.parquet" in err[0]


def test_out_folder_of_another_dataset_refused(tmp_path):
    with ImageServer(slow_s=0) as s:
        f, _ = _url_list(s, tmp_path)
        prepare(f, tmp_path / "o", image_size=32, threads=4, samples_per_shard=4, timeout_s=2, progress=False)
        with pytest.raises(UserInputError):
            prepare(f, tmp_path / "o", image_size=48, threads=4, samples_per_shard=4, timeout_s=2, progress=False)


def test_unknown_option_exits_nonzero(tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["data", "prepare", "x.parquet", "--out", str(tmp_path), "--bogus"])
    assert exc.value.code != 0


@pytest.mark.slow
def test_kill_then_rerun_resumes(tmp_path):
    with ImageServer(slow_s=4, n_good=12) as s:
        urls = [s.url(p) for p in s.good] + [s.url(f"/slow.jpg?{i}") for i in range(4)]
        f = tmp_path / "urls.parquet"
        pd.DataFrame({"URL": urls, "TEXT": [f"c{i}" for i in range(len(urls))]}).to_parquet(f)
        cmd = [sys.executable, "-m", "clipscale", "data", "prepare", str(f), "--out", str(tmp_path / "o"),
               "--image-size", "32", "--threads", "1", "--samples-per-shard", "2", "--timeout", "10",
               "--no-progress"]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
        p = subprocess.Popen(cmd, env=env, start_new_session=True)
        time.sleep(6)
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        _tar_members(tmp_path / "o")  # every shard under its final name is whole
        cmd[cmd.index("10")] = "1"
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    members = _tar_members(tmp_path / "o")
    assert sum(m.endswith(".jpg") for m in members) == 12
