"""append_results: atomic, keeps every row, even with writers in parallel."""
from __future__ import annotations

import multiprocessing as mp

import pandas as pd
import pytest

from clipscale.errors import DataError
from clipscale.evaluate import COLUMNS, append_results, read_results
from clipscale.schema import RESULT_COLUMNS


def _rows(tag: str, n: int = 2) -> pd.DataFrame:
    return pd.DataFrame([{c: None for c in COLUMNS} | {"arch": "ladder-xs", "name": f"{tag}-{i}", "acc1": 0.5}
                         for i in range(n)], columns=list(COLUMNS))


def _writer(path: str, tag: str) -> None:
    for k in range(5):
        append_results(_rows(f"{tag}{k}", 1), path)


def test_append_keeps_old_rows_and_schema(tmp_path):
    path = tmp_path / "r.csv"
    append_results(_rows("a"), path)
    extra = _rows("b").assign(new_column=1.0)
    append_results(extra, path)
    df = read_results(path)
    assert list(df["name"]) == ["a-0", "a-1", "b-0", "b-1"]
    assert list(df.columns[: len(RESULT_COLUMNS)]) == list(RESULT_COLUMNS)
    assert "new_column" in df.columns
    assert not list(tmp_path.glob(".r.csv.*.tmp"))  # no temporary file left behind


def test_parallel_appends_lose_no_row(tmp_path):
    path = str(tmp_path / "r.csv")
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(path, t)) for t in "pqr"]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert all(p.exitcode == 0 for p in procs)
    assert len(read_results(path)) == 15


def test_appending_to_a_file_that_is_not_a_results_table_is_refused(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="lacks the results columns"):
        append_results(_rows("a"), path)
    assert path.read_text() == "a,b\n1,2\n"


def test_columns_start_with_the_papers(paper_dir):
    header = (paper_dir / "zeroshot_results.csv").read_text().splitlines()[0].split(",")
    assert list(COLUMNS[: len(header)]) == header


def test_row_gmacs_counted_or_an_error_never_nan(monkeypatch):
    """A results row's gmacs is counted (per sample) or given in meta; a failed count raises."""
    from clipscale.compute import counter, count
    from clipscale.errors import ComputeError
    from clipscale.evaluate.checkpoints import CheckpointInfo
    from clipscale.evaluate.results import make_row
    from clipscale.evaluate.tasks import get_task

    info = CheckpointInfo(None, None, 2, 1000.0)
    row = make_row(get_task("digits"), {"acc1": 0.5}, arch="ladder-xs", info=info, meta={}, n_images=4, n_skipped=0)
    assert row["gmacs"] == pytest.approx(count("ladder-xs").gmacs) and row["gmacs_total"] == pytest.approx(row["gmacs"] * 1000)

    def broken(arch):
        raise RuntimeError("no formula")

    monkeypatch.setattr(counter, "count", broken)
    with pytest.raises(ComputeError, match="'ladder-xs'"):
        make_row(get_task("digits"), {"acc1": 0.5}, arch="ladder-xs", info=info, meta={}, n_images=4, n_skipped=0)
    given = make_row(get_task("digits"), {}, arch="ladder-xs", info=info, meta={"gmacs": 2.0}, n_images=4, n_skipped=0)
    assert given["gmacs"] == 2.0 and given["gmacs_total"] == 2000.0
