"""The paper's benchmarks in CLIP_benchmark's webdataset format (`clip-benchmark/wds_*` on the HF hub).

Layout of one dataset (CLIP_benchmark's `build_wds_dataset`): `classnames.txt` (one class a line),
`zeroshot_classification_templates.txt` (one '{c}' template a line), optional `dataset_type.txt`
(`classification`, `multilabel` or `retrieval`), and per split `<split>/nshards.txt` plus shards
`<split>/0.tar ... <split>/{n-1}.tar`. A sample is an image (`webp`, `png`, `jpg` or `jpeg`) and a
label: `cls` (class index) for classification, `npy` (multi-hot vector) for multilabel, `txt` (one
caption a line) for retrieval. The hub repository of dataset `vtab/cifar10` is
`clip-benchmark/wds_vtab-cifar10` ('/' becomes '-').
"""
from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

from clipscale.errors import DataError
from clipscale.evaluate.datasets import TaskData, spread_rows
from clipscale.evaluate.features import ImageSource

HUB_OWNER = "clip-benchmark"
IMAGE_EXTS = ("webp", "png", "jpg", "jpeg")
CLASSNAMES, TEMPLATES, DATASET_TYPE = "classnames.txt", "zeroshot_classification_templates.txt", "dataset_type.txt"


def cleaned(name: str) -> str:
    """The dataset's name in folder and repository names: 'vtab/cifar10' -> 'vtab-cifar10'."""
    return name.replace("/", "-")


def repo_id(name: str) -> str:
    """The hub dataset repository of a benchmark: 'clip-benchmark/wds_<cleaned name>'."""
    return f"{HUB_OWNER}/wds_{cleaned(name)}"


def local_copy(name: str, dataset_root: str | os.PathLike, split: str = "test") -> Path:
    """DATASET_ROOT/wds_<name> or DATASET_ROOT/<name> (cleaned) holding `<split>/nshards.txt`."""
    root = Path(dataset_root).expanduser()
    tried = [root / f"wds_{cleaned(name)}", root / cleaned(name)]
    for folder in tried:
        if (folder / split / "nshards.txt").is_file():
            return folder
    raise DataError(f"no local copy: none of {', '.join(map(str, tried))} holds {split}/nshards.txt")


def _hub_reason(exc: Exception, repo: str) -> str:
    """A short reason for a failed hub download."""
    from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError

    if isinstance(exc, RepositoryNotFoundError):
        return f"repository {repo} not found on the hub"
    if isinstance(exc, (EntryNotFoundError, RevisionNotFoundError)):
        return f"repository {repo} lacks a file ({type(exc).__name__})"
    return f"download from {repo} failed ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"


def fetch(name: str, *, split: str = "test", endpoint: str | None = None, cache_dir=None) -> Path:
    """Download one benchmark's metadata and `split` shards into huggingface_hub's cache; its folder."""
    from huggingface_hub import hf_hub_download

    repo = repo_id(name)

    def get(filename: str, required: bool = True) -> Path | None:
        try:
            return Path(hf_hub_download(repo, filename, repo_type="dataset", endpoint=endpoint,
                                        cache_dir=cache_dir))
        except Exception as exc:  # noqa: BLE001 - every hub failure becomes one reason for this dataset
            from huggingface_hub.errors import EntryNotFoundError

            if not required and isinstance(exc, EntryNotFoundError):
                return None
            raise DataError(_hub_reason(exc, repo)) from exc

    nshards = get(f"{split}/nshards.txt")
    root = nshards.parent.parent
    for optional in (DATASET_TYPE, CLASSNAMES, TEMPLATES):
        get(optional, required=False)
    for i in range(_nshards(root, split)):
        get(f"{split}/{i}.tar")
    return root


def _nshards(root: Path, split: str) -> int:
    text = (root / split / "nshards.txt").read_text().strip()
    try:
        n = int(text)
    except ValueError:
        raise DataError(f"{root / split / 'nshards.txt'} holds {text!r}, not a shard count") from None
    if n < 1:
        raise DataError(f"{root / split / 'nshards.txt'} says {n} shards")
    return n


def _lines(path: Path) -> list[str] | None:
    return [line.strip() for line in path.read_text().splitlines() if line.strip()] if path.is_file() else None


def _samples(root: Path, split: str) -> list[dict[str, bytes]]:
    """Every sample of a split's shards, in shard order: {extension: bytes}."""
    out: list[dict[str, bytes]] = []
    for i in range(_nshards(root, split)):
        shard = root / split / f"{i}.tar"
        if not shard.is_file():
            raise DataError(f"shard {shard} is missing (nshards.txt says {_nshards(root, split)})")
        try:
            with tarfile.open(shard) as tar:
                current: dict[str, dict[str, bytes]] = {}
                for member in tar:
                    if not member.isfile() or "." not in Path(member.name).name:
                        continue
                    folder, base = os.path.split(member.name)
                    stem, ext = base.split(".", 1)  # webdataset: the key is the path up to the first dot
                    key = os.path.join(folder, stem)
                    current.setdefault(key, {})[ext.lower()] = tar.extractfile(member).read()
                out.extend(current.values())
        except tarfile.TarError as exc:
            raise DataError(f"shard {shard} is not a readable tar ({exc})") from exc
    return out


def _decode_label(sample: dict[str, bytes], kind: str):
    if kind == "retrieval":
        return sample["txt"].decode("utf-8").splitlines()
    if kind == "multilabel":
        return np.load(io.BytesIO(sample["npy"])).astype(np.float32)
    return int(sample["cls"].decode().strip())


def read(root: Path, name: str, *, split: str = "test", limit: int | None = None) -> TaskData:
    """A webdataset benchmark folder as TaskData (images decoded lazily; `limit` images at most)."""
    kind = (_lines(root / DATASET_TYPE) or ["classification"])[0].lower()
    label_ext = {"retrieval": "txt", "multilabel": "npy"}.get(kind, "cls")
    samples = [s for s in _samples(root, split) if label_ext in s and any(e in s for e in IMAGE_EXTS)]
    if not samples:
        raise DataError(f"{name}: no sample in {root / split} has an image and a {label_ext!r} label")
    rows = spread_rows(len(samples), limit)
    classnames, templates = _lines(root / CLASSNAMES) or [], _lines(root / TEMPLATES)
    if kind != "retrieval" and (not classnames or not templates):
        raise DataError(f"{name}: {root} lacks {CLASSNAMES} or {TEMPLATES}")

    def load(j: int):
        s = samples[int(rows[j])]
        data = next(s[e] for e in IMAGE_EXTS if e in s)
        return Image.open(io.BytesIO(data)).convert("RGB"), _decode_label(s, kind)

    source = ImageSource(f"wds/{name}/{split}/{root.resolve()}/n={len(rows)}", len(rows), load,
                         lambda j: f"{name}[{split}][{int(rows[j])}]")
    label = (lambda t: np.asarray(t, dtype=np.float32)) if kind == "multilabel" else (
        (lambda t: t) if kind == "retrieval" else int)
    return TaskData(source, classnames, templates, label, None, None, kind == "multilabel")
