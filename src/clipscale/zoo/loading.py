"""Load checkpoints without running code from them, and build ready models from the catalog.

A checkpoint from the hub is a pickle. It is read with torch.load(weights_only=True), which only
rebuilds tensors, numbers, strings and containers (what OpenCLIP training checkpoints hold), or with
safetensors. Anything else is refused with UnsafeCheckpointError. open_clip.load_checkpoint is not
used for the reading: when its weights-only load raises TypeError it retries with a full, unsafe
unpickle (open_clip/factory.py, load_state_dict).
"""
from __future__ import annotations

import os
import pickle
import re
from pathlib import Path
from typing import Any

from clipscale._logs import quiet_openclip
from clipscale.errors import DataError, NotFoundError, UnsafeCheckpointError
from clipscale.zoo.catalog import CATALOG, Catalog
from clipscale.zoo.hub import download


def read_checkpoint(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, Any]]:
    """(state_dict, header) of a checkpoint file (.pt OpenCLIP format or .safetensors), read safely.

    Accepts {'state_dict': ...} (training checkpoints) or a bare state dict; strips DDP's 'module.'.
    header: the other entries of a training checkpoint (epoch, samples_seen, name), without the
    optimizer and scaler states; empty for a bare state dict or a safetensors file.
    Raises NotFoundError (no such file), DataError (unreadable or not a state dict) or
    UnsafeCheckpointError (it would need a full unpickle): the same fault, the same error, everywhere.
    """
    path = Path(path)
    if not path.is_file():
        raise NotFoundError(f"checkpoint {path} not found; give the path of a .pt or .safetensors file")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            obj: Any = load_file(str(path), device="cpu")
        except Exception as exc:  # noqa: BLE001 - safetensors raises its own untyped errors
            raise DataError(f"cannot read checkpoint {path}: not a readable safetensors file ({exc}); "
                            f"download it again") from exc
    else:
        obj = _torch_load_weights_only(path)
    state = obj.get("state_dict", obj) if isinstance(obj, dict) else None
    if not isinstance(state, dict) or not state:
        raise DataError(f"{path} holds no state dict (found {type(obj).__name__}); expected an OpenCLIP checkpoint")
    header = {k: v for k, v in obj.items() if k not in _NOT_HEADER} if "state_dict" in obj else {}
    if all(isinstance(k, str) and k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state, header


_NOT_HEADER = ("state_dict", "optimizer", "scaler")


def load_state_dict(path: str | os.PathLike) -> dict[str, Any]:
    """The model weights of a checkpoint file, read safely (see read_checkpoint)."""
    return read_checkpoint(path)[0]


def _torch_load_weights_only(path: Path) -> Any:
    import torch

    try:
        try:  # memory-mapped: an intermediate checkpoint's optimizer state is never read into memory
            return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as exc:
            if "mmap" not in str(exc):  # only the legacy (non-zip) format cannot be mapped
                raise
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        lines = str(exc).strip().splitlines()
        detail = next((line.strip() for line in lines if "GLOBAL" in line), "")
        if not detail:  # not a forbidden object: a damaged or foreign file
            raise _unreadable(path, lines[-1].strip() if lines else repr(exc)) from None
        raise UnsafeCheckpointError(f"refused to load {path}: it needs more than tensors to unpickle ({detail}); "
                                    f"only load it unsafely if you trust its source") from None
    except Exception as exc:  # noqa: BLE001 - a damaged file raises RuntimeError, EOFError, struct.error, ...
        raise _unreadable(path, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None


def _unreadable(path: Path, detail: str) -> DataError:
    return DataError(f"cannot read checkpoint {path}: not a readable PyTorch checkpoint ({detail}); "
                     f"download it again, or give a complete OpenCLIP .pt file")


def load_into_architecture(arch: str, checkpoint: str | os.PathLike, device: str = "cpu"):
    """(model, preprocess, tokenizer, header) of OpenCLIP architecture `arch` with the weights of a
    checkpoint file, in eval mode; `header` as in read_checkpoint.

    DataError when the weights do not fit `arch` (names the first mismatch and the fix).
    """
    from clipscale import models

    state, header = read_checkpoint(checkpoint)
    with quiet_openclip():  # not "No pretrained weights loaded": they are, below
        model, preprocess, tokenizer = models.create(arch, pretrained=None, device="cpu")
    if "logit_scale" in state and state["logit_scale"].ndim != model.logit_scale.ndim:
        state["logit_scale"] = state["logit_scale"].reshape(model.logit_scale.shape)  # older OpenCLIP: shape []
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise DataError(f"checkpoint {checkpoint} does not match architecture {arch!r}: {_summarise_mismatch(exc)}; "
                        "pass the architecture it was trained with (--arch; its run's spec.json names it)") from None
    return model.to(device).eval(), preprocess, tokenizer, header


def _summarise_mismatch(exc: Exception) -> str:
    text = str(exc)
    shapes = re.findall(r"size mismatch for ([\w.]+)", text)
    missing = re.search(r"Missing key\(s\) in state_dict: ([^\n]*)", text)
    unexpected = re.search(r"Unexpected key\(s\) in state_dict: ([^\n]*)", text)
    parts = []
    if shapes:
        parts.append(f"{len(shapes)} tensor(s) of another shape (first: {shapes[0]})")
    if missing:
        parts.append(f"missing keys {missing.group(1)[:80]}")
    if unexpected:
        parts.append(f"unexpected keys {unexpected.group(1)[:80]}")
    return "; ".join(parts) or text.splitlines()[0][:200]


def load_pretrained(arch: str, checkpoint: str | os.PathLike, device: str = "cpu"):
    """(model, preprocess, tokenizer) of OpenCLIP architecture `arch` with weights from `checkpoint`, in eval mode."""
    return load_into_architecture(arch, checkpoint, device=device)[:3]


def load(model: str | None = None, data: str | None = None, samples_seen: str | None = None,
         epoch: int | None = None, *, name: str | None = None, revision: str | None = None,
         cache_dir: str | os.PathLike | None = None, endpoint: str | None = None, device: str = "cpu",
         catalog: Catalog = CATALOG):
    """(model, preprocess, tokenizer) of one catalog checkpoint, downloaded and verified, in eval mode.

    The filters must select exactly one entry, e.g. model="ViT-B-32", data="2B", samples_seen="34B".
    `epoch` picks an intermediate checkpoint (1 ... entry.epochs); None is the final one.
    """
    entry = catalog.get(model=model, data=data, samples_seen=samples_seen, name=name)
    path = download(entry, epoch, revision=revision, cache_dir=cache_dir, endpoint=endpoint)
    return load_pretrained(entry.arch, path, device=device)
