"""`prepare`: turn a LAION-style URL list into webdataset shards with img2dataset (used as a library).

Input: a parquet, csv, tsv or txt file of image URLs and captions (LAION-400M/2B name them URL/TEXT,
Re-LAION-5B research / research-safe name them url/caption; a .txt file is one URL per line, no
caption). Output: DIR/{00000..N}.tar in the LAION/img2dataset layout that `read_shards` and
`clipscale train --train-data` read (`{key}.jpg`, `{key}.txt`, `{key}.json`), plus DIR/stats.json.

img2dataset writes each shard in place and only then its `_stats.json`; a killed run leaves a truncated
tar under its final name. We therefore let it write into DIR/.img2dataset (its incremental mode resumes
there: shards with a stats file are skipped) and move each finished shard to DIR by rename, so DIR
only ever holds complete shards. Duplicate URLs are dropped (first kept) before download.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from clipscale._io import atomic_write_bytes
from clipscale.errors import DataError, UserInputError

FORMATS = {".parquet": "parquet", ".csv": "csv", ".tsv": "tsv", ".txt": "txt"}
URL_COLUMNS = ("URL", "url")              # LAION-400M/2B, Re-LAION-5B
CAPTION_COLUMNS = ("TEXT", "caption", "text")
STAGING = ".img2dataset"                  # img2dataset's own output folder inside DIR
MANIFEST = "clipscale-source.txt"  # JSON, but not *.json: img2dataset parses every *.json name as a shard id
_SHARD_DIGITS = 5                          # img2dataset's oom_shard_count: names 00000.tar


@dataclass
class PrepareStats:
    """Counts of one prepare run (images, not bytes); `failed` maps a reason to a count."""

    source: str
    urls: int
    duplicates_skipped: int
    attempted: int = 0
    fetched: int = 0
    failed: dict = field(default_factory=dict)
    shards: int = 0
    shards_planned: int = 0
    image_size: int = 0
    train_data: str = ""

    def line(self, out: Path) -> str:
        """The one-line summary the CLI prints."""
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.failed.items())) or "none"
        return (f"fetched {self.fetched} of {self.attempted} images ({self.duplicates_skipped} duplicate URLs skipped); "
                f"failed: {reasons}; {self.shards} shards written to {out} (--train-data '{self.train_data}')")


def read_url_list(path: str | os.PathLike, url_col: str | None = None, caption_col: str | None = None):
    """Read `path` into a DataFrame with columns url, caption (str). Raises DataError on bad input.

    url_col/caption_col: column names; None tries LAION's (URL, TEXT) then Re-LAION's (url, caption).
    """
    import pandas as pd

    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UserInputError(f"{path}: unknown URL list format {path.suffix!r}; valid choices: {', '.join(FORMATS)}")
    if not path.is_file():
        raise UserInputError(f"URL list {path} does not exist; give a parquet, csv, tsv or txt file")
    try:
        if fmt == "parquet":
            df = pd.read_parquet(path)
        elif fmt == "txt":
            urls = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
            df = pd.DataFrame({"url": urls, "caption": [""] * len(urls)})
            url_col, caption_col = "url", "caption"
        else:
            df = pd.read_csv(path, sep="," if fmt == "csv" else "\t", dtype=str, keep_default_na=False)
    except (OSError, ValueError, UnicodeDecodeError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise DataError(f"cannot read {fmt} URL list {path}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}; "
                        "check that the file is complete and really is " + fmt) from exc
    url_col = _pick(df.columns, url_col, URL_COLUMNS, "URL", path, "--url-col")
    caption_col = _pick(df.columns, caption_col, CAPTION_COLUMNS, "caption", path, "--caption-col")
    out = pd.DataFrame({"url": df[url_col].astype(str), "caption": df[caption_col].fillna("").astype(str)})
    return out[out["url"].str.len() > 0].reset_index(drop=True)


def _pick(columns, given, defaults, what, path, flag) -> str:
    names = [str(c) for c in columns]
    if given is not None:
        if given in names:
            return given
        raise DataError(f"{path} has no {what} column {given!r}; its columns: {', '.join(names)}; pass {flag} NAME")
    for name in defaults:
        if name in names:
            return name
    raise DataError(f"{path} has no {what} column (looked for {', '.join(defaults)}); "
                    f"its columns: {', '.join(names)}; pass {flag} NAME")


def _fingerprint(df, image_size: int, samples_per_shard: int) -> str:
    h = hashlib.sha256(f"{image_size}|{samples_per_shard}|".encode())
    for url, cap in zip(df["url"], df["caption"]):
        h.update(url.encode("utf-8", "replace") + b"\0" + cap.encode("utf-8", "replace") + b"\n")
    return h.hexdigest()


def _check_out(out: Path, manifest: dict) -> None:
    """Refuse an output folder that holds anything but this very dataset (same list and options)."""
    if not out.exists():
        return
    if not out.is_dir():
        raise UserInputError(f"--out {out} is a file, not a folder; choose a new folder")
    entries = sorted(p.name for p in out.iterdir())
    mpath = out / STAGING / MANIFEST
    if mpath.is_file():
        try:
            old = json.loads(mpath.read_text())
        except (OSError, ValueError):
            old = {}
        if old.get("fingerprint") == manifest["fingerprint"]:
            return
        raise DataError(f"{out} holds another dataset (prepared from {old.get('source', '?')} with image size "
                        f"{old.get('image_size', '?')}, {old.get('samples_per_shard', '?')} samples per shard); "
                        "choose a new --out, or delete that folder to start over")
    if entries:
        shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
        raise DataError(f"{out} is not empty and was not made by 'clipscale data prepare' (holds {shown}); "
                        "choose a new or empty --out")


def _shard_id(name: str) -> int | None:
    m = re.fullmatch(r"(\d+)_stats\.json", name)
    return int(m.group(1)) if m else None


def _finished(staging: Path) -> dict[int, dict]:
    """Shard id -> img2dataset stats for every shard whose stats file parses."""
    done = {}
    for p in staging.glob("*_stats.json"):
        sid = _shard_id(p.name)
        try:
            done[sid] = json.loads(p.read_text())
        except (OSError, ValueError):
            continue
    return done


def _clean_staging(staging: Path) -> None:
    """Before a (re)run: drop stats files that do not parse, so img2dataset redoes those shards."""
    for p in staging.glob("*_stats.json"):
        try:
            json.loads(p.read_text())
        except (OSError, ValueError):
            p.unlink(missing_ok=True)


def _publish(staging: Path, out: Path) -> int:
    """Move every finished shard's tar from staging to `out` (rename: atomic); returns shards in `out`."""
    for sid in _finished(staging):
        tar = staging / f"{sid:0{_SHARD_DIGITS}d}.tar"
        if tar.exists():
            os.replace(tar, out / tar.name)
    return len(list(out.glob("*.tar")))


def reason(message: str) -> str:
    """A short failure reason from an img2dataset status message ('HTTP Error 404: ...' -> 'http_404')."""
    m = re.match(r"HTTP Error (\d+)", message)
    if m:
        return f"http_{m.group(1)}"
    low = message.lower()
    if "timed out" in low or "timeout" in low:
        return "timeout"
    if "decod" in low or "cannot identify" in low:
        return "decode_error"
    if "connection refused" in low or "urlopen error" in low:
        return "connection_error"
    return re.sub(r"\s+", "_", low.strip())[:40] or "unknown"


def _collect(stats: PrepareStats, staging: Path, out: Path) -> PrepareStats:
    stats.attempted = stats.fetched = 0
    stats.failed = {}
    for s in _finished(staging).values():
        stats.attempted += int(s.get("count", 0))
        stats.fetched += int(s.get("successes", 0))
        for msg, n in (s.get("status_dict") or {}).items():
            if msg != "success":
                r = reason(msg)
                stats.failed[r] = stats.failed.get(r, 0) + int(n)
    tars = sorted(out.glob("*.tar"))
    stats.shards = len(tars)
    if tars:
        stats.train_data = str(out / f"{{{tars[0].stem}..{tars[-1].stem}}}.tar") if len(tars) > 1 else str(tars[0])
    return stats


@contextlib.contextmanager
def _quiet_fds(log: Path):
    """Send fd 1 and 2 (ours and img2dataset's worker processes') to `log`; yield a stream on the old stderr."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log, "ab") as fh:
        os.dup2(fh.fileno(), 1)
        os.dup2(fh.fileno(), 2)
    term = os.fdopen(os.dup(saved[1]), "w", buffering=1)
    try:
        yield term
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)
        term.close()


def _watch(staging: Path, out: Path, total: int, stop: threading.Event, term, progress: bool) -> None:
    """Publish finished shards while img2dataset runs; draw a bar (shards done / planned) on `term`."""
    from tqdm import tqdm

    bar = tqdm(total=total, unit="shard", desc="prepare", file=term, disable=not progress, dynamic_ncols=True)
    while True:
        stopping = stop.wait(0.5)
        done = _publish(staging, out)
        if done > bar.n:
            bar.update(done - bar.n)
        if stopping:
            break
    bar.close()


def prepare(url_list: str | os.PathLike, out: str | os.PathLike, image_size: int = 256, processes: int = 1,
            threads: int = 16, samples_per_shard: int = 10_000, url_col: str | None = None,
            caption_col: str | None = None, timeout_s: float = 10.0, progress: bool = True) -> PrepareStats:
    """Download `url_list` into DIR/{00000..N}.tar (images resized to image_size x image_size pixels, JPEG).

    processes: img2dataset worker processes; threads: download threads per process; timeout_s: per URL
    (seconds, rounded up to whole seconds as img2dataset takes). A rerun with the same list and options
    resumes: finished shards are kept, unfinished ones are downloaded again. Writes DIR/stats.json.
    """
    for name, v in (("image_size", image_size), ("processes", processes), ("threads", threads),
                    ("samples_per_shard", samples_per_shard)):
        if int(v) < 1:
            raise UserInputError(f"{name} must be >= 1, got {v}")
    if float(timeout_s) <= 0:
        raise UserInputError(f"timeout must be > 0 seconds, got {timeout_s}")
    src, out = Path(url_list).resolve(), Path(out).resolve()
    df = read_url_list(src, url_col, caption_col)
    n_listed = len(df)
    df = df.drop_duplicates("url", keep="first").reset_index(drop=True)
    if df.empty:
        raise DataError(f"{src} lists no URLs; nothing to prepare")
    manifest = {"source": str(src), "image_size": int(image_size), "samples_per_shard": int(samples_per_shard),
                "urls": n_listed, "fingerprint": _fingerprint(df, image_size, samples_per_shard)}
    _check_out(out, manifest)
    staging = out / STAGING
    staging.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(staging / MANIFEST, json.dumps(manifest, indent=1).encode())
    listed = staging / "urls.parquet"
    if not listed.exists():
        import pyarrow as pa
        import pyarrow.parquet as pq
        from clipscale._io import atomic_path
        with atomic_path(listed) as tmp:
            pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp)
    _clean_staging(staging)
    total = -(-len(df) // int(samples_per_shard))
    stats = PrepareStats(source=str(src), urls=n_listed, duplicates_skipped=n_listed - len(df),
                         shards_planned=total, image_size=int(image_size))
    if len(_finished(staging)) < total:
        _download(listed, staging, out, int(image_size), int(processes), int(threads), int(samples_per_shard),
                  float(timeout_s), total, progress)
    _publish(staging, out)
    _collect(stats, staging, out)
    if len(_finished(staging)) < total:
        raise DataError(f"img2dataset finished {len(_finished(staging))} of {total} shards (log: "
                        f"{staging / 'img2dataset.log'}); rerun the same command to resume")
    atomic_write_bytes(out / "stats.json", json.dumps(stats.__dict__, indent=1).encode())
    return stats


def _download(listed: Path, staging: Path, out: Path, image_size: int, processes: int, threads: int,
              per_shard: int, timeout_s: float, total: int, progress: bool) -> None:
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # albumentations checks PyPI on import otherwise
    from img2dataset import download

    stop = threading.Event()
    with _quiet_fds(staging / "img2dataset.log") as term:
        watcher = threading.Thread(target=_watch, args=(staging, out, total, stop, term, progress), daemon=True)
        watcher.start()
        try:
            download(url_list=str(listed), input_format="parquet", url_col="url", caption_col="caption",
                     output_folder=str(staging), output_format="webdataset", image_size=image_size,
                     resize_mode="center_crop", encode_format="jpg", encode_quality=95,
                     processes_count=processes, thread_count=threads, number_sample_per_shard=per_shard,
                     timeout=max(1, int(-(-timeout_s // 1))), incremental_mode="incremental",
                     compute_hash=None, extract_exif=False, enable_wandb=False, retries=0,
                     oom_shard_count=_SHARD_DIGITS, disallowed_header_directives=[])
        finally:
            stop.set()
            watcher.join()


def summary_line(stats: PrepareStats) -> str:
    """One line: images fetched, failed by reason, shards written (what the CLI prints last)."""
    out = Path(stats.train_data).parent if stats.train_data else Path(".")
    return stats.line(out)
