"""The paper's public tables: located beside --results, else downloaded once and cached.

Source: github.com/LAION-AI/scaling-laws-openclip at commit 652b1e7 (Cherti et al., CVPR 2023).
Base URL overridable with CLIPSCALE_PAPER_URL; cache folder with CLIPSCALE_CACHE (else
$XDG_CACHE_HOME/clipscale, else ~/.cache/clipscale). Downloads are checked against the SHA-256 of
the files at that commit and written atomically.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import socket
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd

from clipscale._io import atomic_write_bytes, sha256_file
from clipscale.errors import DataError, DownloadError, OfflineError, unknown

PAPER_REPO = "LAION-AI/scaling-laws-openclip"
PAPER_COMMIT = "652b1e7"
DEFAULT_BASE_URL = f"https://raw.githubusercontent.com/{PAPER_REPO}/{PAPER_COMMIT}"
URL_ENV, CACHE_ENV = "CLIPSCALE_PAPER_URL", "CLIPSCALE_CACHE"

# File names in the paper's repository and their SHA-256 at commit 652b1e7.
TABLES: dict[str, tuple[str, str]] = {
    "results": ("zeroshot_results.csv", "a04786cfcde5d47436c8ddbca0f0bdbb39cc584c0d0776b4f99145ae430a6568"),
    "curves": ("imagenet_zeroshot_learning_curves.csv",
               "1ac37cafcf49b7d15c14e1f6d351bcc6d0933ffa357dda4038c43129ba9c86db"),
    "runs": ("trained_models_info.csv", "6b084d4895ed83c0dc38a8f166b6164e1a70d0bcc42c75e2aae51a86bf9f678d"),
    "archs": ("arch_info.csv", "44189a6d88685eb70a632fcf0db20e9944e7277d58c0a2d343ee9d9d6d5bcc08"),
}


def cache_dir() -> Path:
    """Where downloaded tables are kept."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]) / "paper" / PAPER_COMMIT
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "clipscale" / "paper" / PAPER_COMMIT


def base_url() -> str:
    return os.environ.get(URL_ENV, DEFAULT_BASE_URL).rstrip("/")


def download(name: str, timeout: float = 30.0) -> Path:
    """The cached path of table `name`, downloading it first if needed (once)."""
    if name not in TABLES:
        raise unknown("paper table", name, TABLES)
    fname, sha = TABLES[name]
    path = cache_dir() / fname
    if path.is_file() and sha256_file(path) == sha:
        return path
    url = f"{base_url()}/{fname}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            data = resp.read()
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"downloading {url} failed: HTTP {exc.code}; "
                            f"check {URL_ENV} or pass --results PATH") from None
    except (urllib.error.URLError, socket.timeout, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise OfflineError(f"cannot download the paper's {fname} from {url} ({reason}); offline? pass "
                           f"--results PATH to a local zeroshot_results.csv (or set {URL_ENV} to a mirror)") from None
    if _sha256(data) != sha:
        raise DownloadError(f"{url} does not match the paper's {fname} (SHA-256 {_sha256(data)[:12]}..., "
                            f"expected {sha[:12]}...); check {URL_ENV} or pass --results PATH")
    return atomic_write_bytes(path, data)


@dataclasses.dataclass
class PaperTables:
    """The paper's tables as DataFrames; curves/runs/archs are None when not available."""

    results: pd.DataFrame
    curves: pd.DataFrame | None = None
    runs: pd.DataFrame | None = None
    archs: pd.DataFrame | None = None
    notes: list[str] = dataclasses.field(default_factory=list)


def locate(name: str, results: str | os.PathLike | None, required: bool) -> Path | None:
    """Path of table `name`: the --results file itself, a file beside it, else the download.

    A table that is not `required` and cannot be downloaded gives None (the caller skips its part)."""
    if results is not None:
        results = Path(results)
        if name == "results":
            if not results.is_file():
                raise DataError(f"--results {results} is not a file; pass the path of zeroshot_results.csv")
            return results
        beside = results.parent / TABLES[name][0]
        if beside.is_file():
            return beside
    try:
        return download(name)
    except (OfflineError, DownloadError):
        if required:
            raise
        return None


def load(results: str | os.PathLike | None = None, *, need: tuple[str, ...] = ("results",)) -> PaperTables:
    """The paper's tables; those in `need` must be found (else OfflineError/DownloadError), the
    others are loaded when available and listed in `notes` when not."""
    frames, notes = {}, []
    for name, (fname, _) in TABLES.items():
        path = locate(name, results, required=name in need or name == "results")
        if path is None:
            notes.append(f"{fname} is not available (not beside --results, and the download failed); "
                         "the parts that need it are skipped")
        frames[name] = _read(path) if path is not None else None
    return PaperTables(frames["results"], frames["curves"], frames["runs"], frames["archs"], notes)


def _read(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {path} as CSV ({exc}); pass the paper's table") from None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
