"""Verified downloads from the Hugging Face Hub through huggingface_hub.

huggingface_hub does the transfer: its cache (blobs named by the hub's etag, snapshots per commit),
a pinned `revision`, a progress bar, and resuming a broken stream within a call (a Range request).
What it does not do, done here: check the bytes against the hub's checksum (the etag of an LFS file
is its sha256; of a small git file, its git blob sha1) before the file is used, fetch a corrupted
file again, and turn its exceptions into one clear line (clipscale.errors).

Note: since huggingface_hub 1.x a transfer killed with its process starts over on the next run (its
partial files are per process and removed on failure); within one run a dropped connection resumes.
"""
from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
from pathlib import Path

from clipscale._io import atomic_path, sha256_file
from clipscale.errors import DownloadError, NotFoundError, OfflineError, UserInputError
from clipscale.zoo.catalog import Checkpoint, HubFile

_SHA256 = re.compile(r"[0-9a-f]{64}")
_GIT_SHA1 = re.compile(r"[0-9a-f]{40}")
_CHUNK = 1 << 20


def download(entry: Checkpoint, epoch: int | None = None, *, revision: str | None = None,
             cache_dir: str | os.PathLike | None = None, dest: str | os.PathLike | None = None,
             endpoint: str | None = None) -> Path:
    """Download a catalog entry's final checkpoint (epoch None) or its checkpoint after `epoch`.

    Returns the local path of a file whose sha256 matched the hub's. `revision` pins a branch, tag
    or commit; `cache_dir` is the huggingface_hub cache (default: HF_HUB_CACHE); `dest` also places
    the file at dest/<filename>; `endpoint` overrides HF_ENDPOINT.
    """
    return download_file(entry.hub_file(epoch), revision=revision, cache_dir=cache_dir, dest=dest, endpoint=endpoint)


def download_file(hub_file: HubFile, *, revision: str | None = None, cache_dir: str | os.PathLike | None = None,
                  dest: str | os.PathLike | None = None, endpoint: str | None = None) -> Path:
    """Download one hub file into the cache, verify it (fetching it once more if corrupted), return its path."""
    # huggingface_hub reads HF_ENDPOINT once, when imported: read it here, so that a mirror named after
    # that (in a notebook, a test, a long-running process) is the one used.
    endpoint = endpoint or os.environ.get("HF_ENDPOINT") or None
    if dest is not None:
        _check_writable(Path(dest))
    if cache_dir is not None:
        _check_folder(Path(cache_dir), "--cache-dir")
    path = _fetch(hub_file, revision, cache_dir, endpoint, force=False)
    expected = _expected_checksum(path, hub_file, revision, endpoint)
    if not _matches(path, expected):
        _discard(path)
        path = _fetch(hub_file, revision, cache_dir, endpoint, force=True)
        expected = _expected_checksum(path, hub_file, revision, endpoint)
        if not _matches(path, expected):
            _discard(path)
            raise DownloadError(f"{hub_file.filename} from {hub_file.repo_id} does not match the hub's checksum "
                                f"{expected} even after fetching it again; the server sent corrupt data, retry later")
    if dest is None:
        return path
    return _place(path, Path(dest) / hub_file.filename)


def sha256_of(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes."""
    return sha256_file(path, _CHUNK)


def _git_blob_sha1(path: Path) -> str:
    digest = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


# Files already verified in this process, keyed by (real path, size, mtime in ns): a changed file is hashed again.
_VERIFIED: dict[tuple[str, int, int], str] = {}


def _matches(path: Path, expected: str) -> bool:
    real = os.path.realpath(path)
    stat = os.stat(real)
    key = (real, stat.st_size, stat.st_mtime_ns)
    if _VERIFIED.get(key) == expected:
        return True
    if _SHA256.fullmatch(expected):
        ok = sha256_of(real) == expected
    elif _GIT_SHA1.fullmatch(expected):
        ok = _git_blob_sha1(Path(real)) == expected
    else:
        raise DownloadError(f"the hub gave no checksum for {path.name} (etag {expected!r}), so it cannot be verified; "
                        f"check HF_ENDPOINT points to a Hugging Face Hub")
    if ok:
        _VERIFIED[key] = expected
    return ok


def _expected_checksum(path: Path, hub_file: HubFile, revision: str | None, endpoint: str | None) -> str:
    """The hub's etag: the name of the cache blob the snapshot links to (what the server announced)."""
    blob = Path(os.path.realpath(path))
    if blob.parent.name == "blobs":
        return blob.name
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    url = hf_hub_url(hub_file.repo_id, hub_file.filename, repo_type=hub_file.repo_type, revision=revision,
                     endpoint=endpoint)
    with _hub_errors(hub_file, revision, endpoint):
        return get_hf_file_metadata(url, endpoint=endpoint).etag or ""


def _fetch(hub_file: HubFile, revision: str | None, cache_dir, endpoint: str | None, force: bool) -> Path:
    from huggingface_hub import constants, hf_hub_download

    where = dict(repo_type=hub_file.repo_type, revision=revision, cache_dir=cache_dir, endpoint=endpoint)
    with _hub_errors(hub_file, revision, endpoint, cache_dir):
        if not constants.HF_HUB_OFFLINE and not force and not _host_resolves(endpoint or constants.ENDPOINT):
            # No network: huggingface_hub would retry with backoff (about 25 s) before falling back to
            # its cache. Take the cache at once, or say so in one line (OfflineError via _hub_errors).
            return Path(hf_hub_download(hub_file.repo_id, hub_file.filename, local_files_only=True, **where))
        return Path(hf_hub_download(hub_file.repo_id, hub_file.filename, force_download=force, **where))


def _host_resolves(endpoint: str) -> bool:
    """Whether the endpoint's host name resolves (a DNS look-up, no request); True behind a proxy,
    which resolves names itself."""
    import socket
    from urllib.parse import urlsplit

    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY",
                                       "all_proxy")):
        return True
    url = urlsplit(endpoint)
    try:
        socket.getaddrinfo(url.hostname or "", url.port or (443 if url.scheme == "https" else 80))
    except (socket.gaierror, UnicodeError):
        return False
    return True


def _discard(pointer: Path) -> None:
    """Remove a bad file from the cache: the blob and the snapshot link to it."""
    blob = Path(os.path.realpath(pointer))
    blob.unlink(missing_ok=True)
    if pointer.is_symlink() or pointer.exists():
        pointer.unlink()


def _place(source: Path, final: Path) -> Path:
    """Put a verified file at `final` (a hard link when possible, else a copy), atomically."""
    with _disk_errors(final.parent):
        with atomic_path(final) as tmp:
            tmp.unlink()
            try:
                os.link(os.path.realpath(source), tmp)
            except OSError:
                shutil.copyfile(source, tmp)
    return final


def _check_folder(folder: Path, option: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserInputError(f"cannot create {folder}: {exc.strerror}; choose a writable {option}") from exc


def _check_writable(folder: Path) -> None:
    _check_folder(folder, "--dest")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UserInputError(f"destination {folder} is not writable; choose a writable --dest")


class _disk_errors:
    """Context manager: a full disk or a folder we may not write becomes one UserInputError line."""

    def __init__(self, where):
        self.where = where

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if not isinstance(exc, OSError) or not getattr(exc, "errno", None):
            return False
        if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
            raise UserInputError(f"no space left to write under {self.where} ({exc.strerror}); free space or "
                                 f"choose another --cache-dir/--dest (nothing was left under the final name)") from exc
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise UserInputError(f"cannot write under {self.where} ({exc.strerror}); choose a writable "
                                 f"--cache-dir/--dest") from exc
        return False


class _hub_errors(_disk_errors):
    """Context manager: huggingface_hub and transport exceptions become clipscale errors with a fix."""

    def __init__(self, hub_file: HubFile, revision, endpoint, cache_dir=None):
        from huggingface_hub import constants

        super().__init__(cache_dir or constants.HF_HUB_CACHE)
        self.hub_file, self.revision = hub_file, revision or "main"
        self.endpoint = endpoint or constants.ENDPOINT

    def __exit__(self, kind, exc, tb):
        if exc is None:
            return False
        from huggingface_hub import errors as hf

        where = f"{self.hub_file.repo_id}/{self.hub_file.filename}"
        # A forced download that cannot reach the server raises ValueError from the connection error.
        unreachable = isinstance(exc, ValueError) and isinstance(exc.__cause__, (ConnectionError, *_transport_errors()))
        if unreachable or isinstance(exc, (hf.OfflineModeIsEnabled, hf.LocalEntryNotFoundError)):
            raise OfflineError(self._offline(where)) from None
        if isinstance(exc, hf.RevisionNotFoundError):
            raise NotFoundError(f"revision {self.revision!r} does not exist in {self.hub_file.repo_id}; "
                                f"use a branch, tag or commit of that repo (default: main)") from None
        if isinstance(exc, hf.RepositoryNotFoundError):
            raise NotFoundError(f"repository {self.hub_file.repo_id} not found on {self.endpoint}; "
                                f"check HF_ENDPOINT") from None
        if isinstance(exc, hf.RemoteEntryNotFoundError):
            folder = self.hub_file.url.replace("/resolve/", "/tree/").rsplit("/", 1)[0]
            hint = (f"epoch {self.hub_file.epoch} was not published; see {folder}"
                    if self.hub_file.epoch else "check the revision")
            raise NotFoundError(f"{where} is not on the hub at revision {self.revision!r}; {hint}") from None
        if isinstance(exc, hf.HfHubHTTPError):
            raise DownloadError(f"the hub refused {where}: {str(exc).splitlines()[0]}; retry later") from None
        super().__exit__(kind, exc, tb)
        # huggingface_hub reports a short transfer only as OSError("Consistency check failed: ...").
        if isinstance(exc, _transport_errors()) or (isinstance(exc, OSError) and "Consistency check" in str(exc)):
            raise DownloadError(f"the transfer of {where} was interrupted ({type(exc).__name__}) and did not "
                                f"resume; nothing was kept under the final name, rerun to try again") from None
        return False


    def _offline(self, where: str) -> str:
        """One line: why nothing could be fetched, and the two ways to work without the hub."""
        from huggingface_hub import constants

        if constants.HF_HUB_OFFLINE:
            return (f"{where} is not in the cache ({self.where}) and HF_HUB_OFFLINE=1 forbids downloading it; "
                    f"unset HF_HUB_OFFLINE to download, or point HF_ENDPOINT to a mirror that has it")
        return (f"cannot reach {self.endpoint} (no network) and {where} is not in the cache ({self.where}); "
                f"connect, set HF_ENDPOINT to a reachable mirror, or set HF_HUB_OFFLINE=1 to work from the cache only")


def _transport_errors() -> tuple[type[BaseException], ...]:
    """The HTTP client's transport exception classes (huggingface_hub 2.x uses httpx2)."""
    found = []
    for module, name in (("httpx2", "HTTPError"), ("httpx", "HTTPError"), ("requests", "RequestException")):
        try:
            found.append(getattr(__import__(module), name))
        except (ImportError, AttributeError):
            pass
    return tuple(found)
