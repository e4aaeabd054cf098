"""Downloads through the real huggingface_hub client against a fake hub on 127.0.0.1."""
from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from clipscale.errors import DownloadError, NotFoundError, OfflineError, UserInputError
from clipscale.zoo import CATALOG, download, sha256_of


def _dead_endpoint() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"  # closed again: connections are refused


def _blobs(cache: Path) -> list[Path]:
    return [p for p in cache.rglob("blobs/*") if p.is_file()]


def test_final_and_intermediate(hub, b32, tmp_path, tiny_bytes):
    final = download(b32, cache_dir=tmp_path, endpoint=hub.url)
    assert final.read_bytes() == tiny_bytes
    assert final.name == b32.filename
    again = download(b32, cache_dir=tmp_path, endpoint=hub.url)
    assert again == final and len(hub.gets(b32.filename)) == 1  # served from the cache
    epoch2 = download(b32, 2, cache_dir=tmp_path, endpoint=hub.url)
    assert epoch2.as_posix().endswith(f"full_checkpoints/{b32.name}/epoch_2.pt")
    assert epoch2.read_bytes().endswith(b"epoch-2")


def test_vit_h_epochs_come_from_the_dataset_repo(hub, tmp_path):
    h14 = CATALOG.get(model="ViT-H-14")
    path = download(h14, 3, cache_dir=tmp_path, endpoint=hub.url)
    assert path.read_bytes() == b"h14 epoch three"
    assert any(p.startswith("/datasets/laion/CLIP-ViT-H-14") for _, p, _ in hub.requests)


def test_dropped_connection_resumes_with_range(hub, b32, tmp_path, tiny_bytes):
    """huggingface_hub keeps whole chunks (DOWNLOAD_CHUNK_SIZE) and asks for the rest with a Range."""
    from huggingface_hub import constants

    chunk = constants.DOWNLOAD_CHUNK_SIZE
    assert len(tiny_bytes) > chunk + 100_000
    hub.drop_after[b32.filename] = chunk + 100_000
    path = download(b32, cache_dir=tmp_path, endpoint=hub.url)
    assert sha256_of(path) == hashlib.sha256(tiny_bytes).hexdigest()
    assert hub.gets(b32.filename) == [None, f"bytes={chunk}-"]


def test_corrupted_cache_file_is_detected_and_fetched_again(hub, b32, tmp_path, tiny_bytes):
    path = download(b32, cache_dir=tmp_path, endpoint=hub.url)
    blob = Path(os.path.realpath(path))
    blob.chmod(0o644)
    blob.write_bytes(tiny_bytes[:-100])  # truncated
    path = download(b32, cache_dir=tmp_path, endpoint=hub.url)
    assert path.read_bytes() == tiny_bytes
    assert len(hub.gets(b32.filename)) == 2
    Path(os.path.realpath(path)).write_bytes(b"bit rot" + tiny_bytes[7:])  # same size, other bytes
    out = _cli(["zoo", "download", "--model", "ViT-B-32", "--data", "80M", "--samples-seen", "3B",
                "--cache-dir", str(tmp_path)], hub, tmp_path)  # a new process: nothing remembered
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()).read_bytes() == tiny_bytes and len(hub.gets(b32.filename)) == 3


def test_corrupt_transfer_fetched_again_then_refused(hub, b32, tmp_path, tiny_bytes):
    hub.corrupt[b32.filename] = 1  # the first GET is corrupted, the second is right
    assert download(b32, cache_dir=tmp_path, endpoint=hub.url).read_bytes() == tiny_bytes
    hub.corrupt[b32.filename] = 10  # now every GET is corrupted
    other = tmp_path / "other"
    with pytest.raises(DownloadError, match="does not match the hub's checksum"):
        download(b32, cache_dir=other, endpoint=hub.url)
    assert not list(other.rglob(b32.filename)) and not _blobs(other)  # nothing left under a final name


def test_offline_uses_the_verified_cache(hub, b32, tmp_path):
    cached = download(b32, cache_dir=tmp_path, endpoint=hub.url)
    assert download(b32, cache_dir=tmp_path, endpoint=_dead_endpoint()) == cached
    Path(os.path.realpath(cached)).write_bytes(b"changed while offline")
    with pytest.raises(OfflineError):  # the bad file is dropped, and it cannot be fetched again offline
        download(b32, cache_dir=tmp_path, endpoint=_dead_endpoint())


def test_missing_epoch_and_revision(hub, b32, tmp_path):
    with pytest.raises(NotFoundError, match="epoch 3 was not published"):
        download(b32, 3, cache_dir=tmp_path, endpoint=hub.url)
    with pytest.raises(NotFoundError, match="revision 'v9'"):
        download(b32, revision="v9", cache_dir=tmp_path, endpoint=hub.url)


def test_dest_copy_and_unwritable_dest(hub, b32, tmp_path, tiny_bytes):
    dest = tmp_path / "models"
    placed = download(b32, 2, cache_dir=tmp_path / "cache", dest=dest, endpoint=hub.url)
    assert placed == dest / b32.hub_file(2).filename and placed.read_bytes().endswith(b"epoch-2")
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    with pytest.raises(UserInputError, match="cannot create .*a-file/sub: Not a directory; choose a writable --dest"):
        download(b32, cache_dir=tmp_path / "cache", dest=a_file / "sub", endpoint=hub.url)
    with pytest.raises(UserInputError, match="choose a writable --cache-dir"):
        download(b32, cache_dir=a_file / "cache", endpoint=hub.url)


def _cli(args, hub, tmp_path, prelude=""):
    env = dict(os.environ, HF_ENDPOINT=hub.url, HF_HOME=str(tmp_path / "hf"), HF_HUB_DISABLE_PROGRESS_BARS="1")
    code = f"import sys\n{prelude}\nfrom clipscale.cli import main\nsys.exit(main({args!r}))"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)


def test_cli_download_prints_paths(hub, b32, tmp_path):
    out = _cli(["zoo", "download", "--model", "ViT-B-32", "--data", "80M", "--samples-seen", "3B", "--epoch", "2",
                "--cache-dir", str(tmp_path / "c")], hub, tmp_path)
    assert out.returncode == 0, out.stderr
    path = Path(out.stdout.strip())
    assert path.is_file() and path.read_bytes().endswith(b"epoch-2")


def test_cli_full_disk_one_line_no_partial_file(hub, b32, tmp_path):
    """A file-size limit stands in for a full disk: the write fails part way through."""
    prelude = ("import resource, signal\nsignal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
               "resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))")
    cache = tmp_path / "c"
    out = _cli(["zoo", "download", "--model", "ViT-B-32", "--data", "80M", "--samples-seen", "3B",
                "--cache-dir", str(cache)], hub, tmp_path, prelude)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "no space left" in out.stderr, out.stderr
    assert not list(cache.rglob(b32.filename)) and not _blobs(cache) and not list(cache.rglob("*.incomplete"))


@pytest.mark.slow
def test_cli_transfer_that_never_completes(hub, b32, tmp_path):
    """The server drops every attempt: huggingface_hub retries 5 times, then one line and no file."""
    class Always(dict):
        def pop(self, key, default=None):
            return 0 if key == b32.filename else default

    hub.drop_after = Always()
    cache = tmp_path / "c"
    out = _cli(["zoo", "download", "--model", "ViT-B-32", "--data", "80M", "--samples-seen", "3B",
                "--cache-dir", str(cache)], hub, tmp_path)
    assert out.returncode == 2, out.stderr
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("clipscale: error:") and "interrupted" in last
    assert not list(cache.rglob(b32.filename)) and not _blobs(cache)


def test_cli_offline_error(hub, tmp_path):
    out = _cli(["zoo", "download", "--model", "ViT-g-14", "--cache-dir", str(tmp_path / "c")], hub, tmp_path,
               prelude="import os; os.environ['HF_HUB_OFFLINE'] = '1'")
    assert out.returncode == 2
    assert out.stderr.startswith("clipscale: error: ") and out.stderr.count("\n") == 1, out.stderr
    assert "HF_HUB_OFFLINE=1 forbids" in out.stderr and "HF_ENDPOINT" in out.stderr and not hub.requests


def test_cli_no_network_fails_at_once_or_serves_the_cache(hub, b32, tmp_path):
    """A hub host that does not resolve (no network): one line naming both ways to work offline, without
    huggingface_hub's retries with backoff; a file already in the cache is used as it is."""
    import time

    cache = tmp_path / "c"
    select = ["zoo", "download", "--model", "ViT-B-32", "--data", "80M", "--samples-seen", "3B", "--cache-dir", str(cache)]
    assert _cli(select, hub, tmp_path).returncode == 0  # now in the cache
    offline = "import os; os.environ['HF_ENDPOINT'] = 'http://hub.invalid'"  # .invalid never resolves (RFC 2606)
    start = time.perf_counter()
    out = _cli(["zoo", "download", "--model", "ViT-H-14", "--cache-dir", str(cache)], hub, tmp_path, prelude=offline)
    took = time.perf_counter() - start
    assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
    assert "cannot reach http://hub.invalid" in out.stderr and "HF_HUB_OFFLINE=1" in out.stderr
    assert "HF_ENDPOINT" in out.stderr and "Retrying" not in out.stderr
    assert took < 20, took  # huggingface_hub alone spends about 25 s in retries; ours: the process start
    cached = _cli(select, hub, tmp_path, prelude=offline)
    assert cached.returncode == 0 and Path(cached.stdout.strip()).read_bytes() == hub.files[(b32.repo_id, b32.filename)]


def test_cli_all_epochs_skips_unpublished_ones(hub, b32, tmp_path):
    dest = tmp_path / "d"
    out = _cli(["zoo", "download", "--model", "ViT-B-32", "--data", "80M", "--samples-seen", "3B", "--all-epochs",
                "--cache-dir", str(tmp_path / "c"), "--dest", str(dest)], hub, tmp_path)
    assert out.returncode == 1  # 31 of its 32 epochs are not on this hub
    assert out.stdout.splitlines() == [str(dest / b32.hub_file(2).filename)]
    assert "31 checkpoint(s) are not published" in out.stderr and f"{b32.name} epoch 1," in out.stderr


def test_cli_download_needs_a_selection(tmp_path, hub):
    out = _cli(["zoo", "download"], hub, tmp_path)
    assert out.returncode == 2 and "no checkpoint selected" in out.stderr
