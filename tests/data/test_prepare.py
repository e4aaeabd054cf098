"""`clipscale data prepare` against a real threaded HTTP server on 127.0.0.1 (tests/data/http_images.py).

img2dataset's start-up (spawned workers importing cv2/albumentations) costs ~10-20 s on a loaded box, so
the download happens once per module (fixture `prepared`) and the other tests reuse its output.
"""
from __future__ import annotations

import contextlib
import io
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

import img2dataset  # noqa: E402,F401  (make test installs it: Makefile, --no-deps)

from clipscale.cli import main  # noqa: E402
from clipscale.data.prepare import STAGING, prepare, read_url_list  # noqa: E402
from clipscale.data.shards import read_shards  # noqa: E402
from clipscale.errors import DataError  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from http_images import ImageServer  # noqa: E402

N_GOOD = 6


def _url_list(server, folder: Path, cols=("URL", "TEXT")) -> Path:
    """6 good images (JPEG/PNG), a 404, a timeout, a truncated JPEG, an HTML body, a duplicate of good0."""
    paths = server.good + ["/missing.jpg", "/slow.jpg", "/truncated.jpg", "/notimage.jpg", server.good[0]]
    f = folder / "urls.parquet"
    pd.DataFrame({cols[0]: [server.url(p) for p in paths],
                  cols[1]: [f"a photo number {i}" for i in range(len(paths))]}).to_parquet(f)
    return f


def _members(out: Path) -> list[str]:
    names = []
    for t in sorted(out.glob("*.tar")):
        with tarfile.open(t) as tf:  # raises on a truncated tar
            names += tf.getnames()
    return names


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """One CLI run over LAION's column names (URL/TEXT); timeout 1 s against a 3 s slow URL."""
    folder = tmp_path_factory.mktemp("prep")
    buf = io.StringIO()
    with ImageServer(slow_s=3) as s:
        f = _url_list(s, folder)
        with contextlib.redirect_stdout(buf):
            rc = main(["data", "prepare", str(f), "--out", str(folder / "out"), "--image-size", "32",
                       "--download-threads", "4", "--samples-per-shard", "4", "--timeout", "1", "--quiet"])
    return folder, f, rc, buf.getvalue().strip().splitlines()


def test_counts_by_reason_and_shards(prepared):
    folder, _, rc, lines = prepared
    out = folder / "out"
    assert rc == 0
    stats = json.loads((out / "stats.json").read_text())
    assert (stats["urls"], stats["duplicates_skipped"], stats["attempted"], stats["fetched"]) == (11, 1, 10, N_GOOD)
    assert stats["failed"] == {"http_404": 1, "timeout": 1, "decode_error": 2}
    assert stats["shards"] == 3 == len(list(out.glob("*.tar")))  # 10 unique URLs / 4 per shard
    names = _members(out)
    assert [sum(n.endswith(e) for n in names) for e in (".jpg", ".txt", ".json")] == [N_GOOD] * 3
    assert not list((out / STAGING).glob("*.tar"))  # every finished shard was moved out of staging
    assert lines[-1].startswith(f"fetched {N_GOOD} of 10 images") and "http_404 1" in lines[-1]
    assert "3 shards written" in lines[-1]


def test_shards_read_back_with_captions(prepared):
    folder = prepared[0]
    stats = json.loads((folder / "out" / "stats.json").read_text())
    samples = list(read_shards(stats["train_data"], split_by_worker=False))
    assert len(samples) == N_GOOD
    assert all(img.shape == (32, 32, 3) for img, _ in samples)
    assert {cap for _, cap in samples} <= {f"a photo number {i}" for i in range(N_GOOD)}


def test_train_runs_on_the_shards(prepared):
    folder = prepared[0]
    stats = json.loads((folder / "out" / "stats.json").read_text())
    rc = main(["train", "--arch", "ladder-xs", "--data-size", str(stats["fetched"]), "--samples-seen", "8",
               "--batch-size", "4", "--out", str(folder / "run"), "--train-data", stats["train_data"],
               "--quiet", "--threads", "1"])
    assert rc == 0
    assert any((folder / "run").iterdir())


def test_rerun_of_a_finished_dataset_keeps_it(prepared):
    folder, f, _, _ = prepared
    before = {p.name: p.stat().st_mtime_ns for p in (folder / "out").glob("*.tar")}
    stats = prepare(f, folder / "out", image_size=32, threads=4, samples_per_shard=4, timeout_s=1, progress=False)
    assert stats.fetched == N_GOOD and stats.shards == 3
    assert {p.name: p.stat().st_mtime_ns for p in (folder / "out").glob("*.tar")} == before


def test_out_folder_of_another_dataset_refused(prepared, tmp_path, capsys):
    folder, f, _, _ = prepared
    with pytest.raises(DataError, match="holds another dataset"):
        prepare(f, folder / "out", image_size=48, samples_per_shard=4, progress=False)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "000000.tar").write_bytes(b"")
    assert main(["data", "prepare", str(f), "--out", str(foreign)]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "000000.tar" in err[0] and "not made by" in err[0]


def test_missing_columns_listed(tmp_path, capsys):
    f = tmp_path / "u.csv"
    pd.DataFrame({"link": ["http://127.0.0.1:9/a.jpg"], "alt": ["a"]}).to_csv(f, index=False)
    with pytest.raises(DataError, match="its columns: link, alt"):
        prepare(f, tmp_path / "o", progress=False)
    assert main(["data", "prepare", str(f), "--out", str(tmp_path / "o"), "--url-col", "href"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'href'" in err[0] and "link, alt" in err[0] and "--url-col" in err[0]
    assert not (tmp_path / "o").exists()


def test_unreadable_parquet(tmp_path, capsys):
    f = tmp_path / "u.parquet"
    f.write_bytes(b"PAR1 truncated, not a parquet file")
    with pytest.raises(DataError, match="cannot read parquet"):
        prepare(f, tmp_path / "o", progress=False)
    assert main(["data", "prepare", str(f), "--out", str(tmp_path / "o")]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "u.parquet" in err[0]


def test_relaion_columns_tsv_and_txt(tmp_path):
    tsv = tmp_path / "relaion.tsv"
    pd.DataFrame({"url": ["http://h/a.jpg", "http://h/b.jpg"], "caption": ["a", "b"], "punsafe": ["0", "0"]}
                 ).to_csv(tsv, sep="\t", index=False)
    df = read_url_list(tsv)
    assert list(df["url"]) == ["http://h/a.jpg", "http://h/b.jpg"] and list(df["caption"]) == ["a", "b"]
    txt = tmp_path / "urls.txt"
    txt.write_text("http://h/a.jpg\n\nhttp://h/c.jpg\n")
    assert list(read_url_list(txt)["url"]) == ["http://h/a.jpg", "http://h/c.jpg"]


@pytest.mark.slow
def test_sigkill_then_rerun_resumes(tmp_path):
    """Kill the whole process group while shard 6 (two 4 s URLs) is being written; rerun completes."""
    with ImageServer(slow_s=4, n_good=12) as s:
        urls = [s.url(p) for p in s.good] + [s.url(f"/slow.jpg?{i}") for i in range(4)]
        f = tmp_path / "urls.parquet"
        pd.DataFrame({"URL": urls, "TEXT": [f"c{i}" for i in range(len(urls))]}).to_parquet(f)
        out = tmp_path / "o"
        cmd = [sys.executable, "-m", "clipscale", "data", "prepare", str(f), "--out", str(out), "--image-size", "32",
               "--download-threads", "1", "--samples-per-shard", "2", "--timeout", "10", "--quiet"]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
        p = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 90
        while not (out / STAGING / "00006.tar").exists() and time.time() < deadline and p.poll() is None:
            time.sleep(0.2)
        time.sleep(1.0)
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        assert (out / STAGING / "00006.tar").exists(), "the kill did not land while shard 6 was in progress"
        assert not (out / "00006.tar").exists() and not (out / "stats.json").exists()
        _members(out)  # every shard under its final name is whole
        cmd[cmd.index("10")] = "1"
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    stats = json.loads((out / "stats.json").read_text())
    assert (stats["attempted"], stats["fetched"], stats["failed"], stats["shards"]) == (16, 12, {"timeout": 4}, 8)
    assert sum(m.endswith(".jpg") for m in _members(out)) == 12
