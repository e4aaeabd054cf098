"""Loading a checkpoint into its architecture, with the facts a results row records about it."""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from clipscale._io import sha256_file
from clipscale._logs import quiet_openclip
from clipscale.errors import DataError, NotFoundError, UserInputError


@dataclass(frozen=True)
class CheckpointInfo:
    """What a results row says about the weights: path, sha256, epoch and samples seen (None if unknown)."""

    path: str | None
    sha256: str | None
    epoch: int | None
    samples_seen: float | None


@lru_cache(maxsize=256)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    return sha256_file(path, 1 << 22)  # size and mtime_ns only key the cache


def sha256_of(path: str | Path) -> str:
    """Hex sha256 of a file (cached by path, size and modification time)."""
    st = Path(path).stat()
    return _sha256(str(Path(path).resolve()), st.st_size, st.st_mtime_ns)


def epoch_files(run_dir: str | Path) -> list[tuple[int, Path]]:
    """(epoch, path) of every checkpoints/epoch_N.pt of a run folder, by epoch."""
    from clipscale.train.run import RunFolder

    found = RunFolder(run_dir).numbered_checkpoints()
    if not found:
        raise NotFoundError(f"no checkpoints/epoch_N.pt under {run_dir}; pass a training run folder "
                            "(clipscale train writes RUN/checkpoints/epoch_N.pt)")
    return sorted(found)


def load_model(arch: str, checkpoint: str | Path | None, *, device: str = "cpu"):
    """(model, preprocess, tokenizer, CheckpointInfo) for an architecture and its weights.

    `checkpoint` is a local OpenCLIP .pt/.safetensors path, an OpenCLIP pretrained tag of `arch`,
    or None (random weights: the untrained baseline). Files are read by clipscale.zoo (safely, with
    the same errors as `zoo.load`).
    """
    from clipscale import models
    from clipscale.zoo.loading import load_into_architecture

    path = Path(checkpoint) if checkpoint is not None else None
    if path is not None and not path.exists():
        if _is_pretrained_tag(arch, str(checkpoint)):
            model, preprocess, tokenizer = models.create(arch, pretrained=str(checkpoint), device=device)
            return model, preprocess, tokenizer, CheckpointInfo(str(checkpoint), None, None, None)
        raise NotFoundError(f"checkpoint {checkpoint} not found; pass a path to an OpenCLIP .pt file "
                            f"or a pretrained tag of {arch}")
    if path is None:
        with quiet_openclip():  # random weights are the point here
            model, preprocess, tokenizer = models.create(arch, pretrained=None, device="cpu")
        return model.to(device), preprocess, tokenizer, CheckpointInfo(None, None, None, None)
    model, preprocess, tokenizer, header = load_into_architecture(arch, path, device=device)
    epoch, samples = header.get("epoch"), header.get("samples_seen")
    info = CheckpointInfo(str(path), sha256_of(path), int(epoch) if epoch is not None else None,
                          float(samples) if samples is not None else None)
    return model, preprocess, tokenizer, info


def _is_pretrained_tag(arch: str, tag: str) -> bool:
    import open_clip

    return tag in set(open_clip.list_pretrained_tags_by_model(arch))


def run_arch(run_dir: str | Path, spec: dict, arch: str | None = None) -> str:
    """`arch` if given, else the architecture a training run's spec.json names (`model`, or `arch`)."""
    arch = arch or spec.get("model") or spec.get("arch")
    if not arch:
        raise DataError(f"{run_dir}/spec.json names no model; pass --arch")
    return arch


def run_meta(run_dir: str | Path, spec: dict) -> dict:
    """Row facts of a training run from its spec.json: upstream data (schema.run_upstream_dataset), name."""
    from clipscale.schema import run_upstream_dataset

    return {"upstream_dataset": run_upstream_dataset(spec.get("train_data"), spec.get("data_size")),
            "name": spec.get("name") or Path(run_dir).name}


def run_spec(run_dir: str | Path) -> dict:
    """A training run's spec.json as a dict (empty when absent)."""
    from clipscale.train.run import RunFolder

    p = RunFolder(run_dir).spec_path
    if not p.exists():
        return {}
    try:
        return json.loads(p.read_text())
    except json.JSONDecodeError as exc:
        raise UserInputError(f"{p} is not valid JSON ({exc}); the run folder is damaged") from exc
