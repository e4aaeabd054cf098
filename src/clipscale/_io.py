"""Atomic file writes, file checksums, JSON cleaning and run metadata (spec, package versions, git commit).

Every table, JSON record and checkpoint is written to a temporary file in the same folder and
renamed over the final name, so a killed process never leaves a truncated file under that name.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

from clipscale.errors import UserInputError


def cache_root() -> Path:
    """clipscale's cache folder: $CLIPSCALE_CACHE, else $XDG_CACHE_HOME/clipscale, else ~/.cache/clipscale."""
    if os.environ.get("CLIPSCALE_CACHE"):
        return Path(os.environ["CLIPSCALE_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "clipscale"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it over `path` only if the block succeeds."""
    final = Path(path)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserInputError(f"cannot create folder {final.parent}: {exc.strerror}; choose a writable --out") from exc
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; published files follow the umask
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, final)
    except OSError as exc:
        tmp_path.unlink(missing_ok=True)
        if exc.errno == 28:  # ENOSPC
            raise UserInputError(f"disk full while writing {final}; free space and rerun (nothing was written under that name)") from exc
        raise
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def atomic_write_with(path: str | os.PathLike, writer: Callable[[Path], None]) -> Path:
    """Call writer(tmp_path) (e.g. torch.save, df.to_csv, fig.savefig) then rename atomically."""
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)


def sha256_file(path: str | os.PathLike, chunk_bytes: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read `chunk_bytes` (bytes) at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk_bytes), b""):
            digest.update(block)
    return digest.hexdigest()


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "__dataclass_fields__"):
        import dataclasses

        return dataclasses.asdict(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def json_clean(obj: Any) -> Any:
    """`obj` with NaN and +-inf as None (JSON null), numpy/pandas scalars and arrays as Python, recursively.

    JSON has no NaN: json.dumps writes the token `NaN`, which strict readers (browsers, jq) reject.
    pandas' NA and NaT become None too; dict keys become strings.
    """
    if isinstance(obj, dict):
        return {str(k): json_clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_clean(v) for v in obj]
    if isinstance(obj, (str, bool, int)) or obj is None:
        return obj
    if isinstance(obj, float):
        return float(obj) if math.isfinite(obj) else None  # np.float64 is a float: made plain
    if getattr(obj, "ndim", None) == 0 and hasattr(obj, "item"):  # numpy (or torch) scalar
        return json_clean(obj.item())
    if hasattr(obj, "tolist"):
        return json_clean(obj.tolist())
    pandas = sys.modules.get("pandas")
    if pandas is not None and (obj is pandas.NA or obj is pandas.NaT):
        return None
    return obj


def git_commit(start: str | os.PathLike | None = None) -> str | None:
    """The git commit of the clipscale source tree (or `start`), with '+dirty' if modified; None outside git."""
    where = Path(start) if start else Path(__file__).resolve().parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10)
        if sha.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
                               capture_output=True, text=True, timeout=10)
        return sha.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def package_versions() -> dict[str, str | None]:
    """Versions of the packages whose behaviour decides a run's numbers."""
    from importlib import metadata

    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in ("clipscale", "torch", "torchvision", "open_clip_torch", "numpy", "scipy", "pandas",
                 "huggingface_hub", "webdataset", "scikit-learn", "clip_benchmark"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def run_metadata(spec: Any = None) -> dict[str, Any]:
    """What to store next to a run's outputs: spec, versions, git commit, host, time, command line."""
    return {
        "spec": spec,
        "versions": package_versions(),
        "git_commit": git_commit(),
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "host": platform.node(),
        "argv": sys.argv,
    }
