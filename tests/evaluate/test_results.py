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
