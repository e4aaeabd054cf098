"""Shared fixtures. The paper's tables are read from ../shared/paper (never copied into the repo)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAPER_DIR = Path(os.environ.get("CLIPSCALE_PAPER_DIR", ROOT.parent / "shared" / "paper"))

# Tests run several processes on a 2-core machine: one thread each keeps them from fighting.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def paper_dir() -> Path:
    """The folder of the paper's public tables; tests that need it skip with the reason."""
    if not (PAPER_DIR / "zeroshot_results.csv").exists():
        pytest.skip(f"paper tables not found at {PAPER_DIR} (set CLIPSCALE_PAPER_DIR)")
    return PAPER_DIR


@pytest.fixture(autouse=True)
def _one_torch_thread():
    try:
        import torch
    except ImportError:  # pragma: no cover
        yield
        return
    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(prev)


@pytest.fixture
def cli_fails(capsys):
    """check(argv, *patterns): `clipscale argv` exits 2 with one line on stderr that holds every pattern
    (the CLI's rule for bad input); returns that line."""
    from clipscale.cli import main

    def check(argv, *patterns) -> str:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1, err
        for p in patterns:
            assert p in err, err
        return err

    return check
