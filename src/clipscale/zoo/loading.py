"""Load checkpoints without running code from them, and build ready models from the catalog.

A checkpoint from the hub is a pickle. It is read with torch.load(weights_only=True), which only
rebuilds tensors, numbers, strings and containers (what OpenCLIP training checkpoints hold), or with
safetensors. Anything else is refused with UnsafeCheckpointError. open_clip.load_checkpoint is not
used for the reading: when its weights-only load raises TypeError it retries with a full, unsafe
unpickle (open_clip/factory.py, load_state_dict).
"""
from __future__ import annotations

import logging
import os
import pickle
from pathlib import Path
from typing import Any

from clipscale.errors import DataError, UnsafeCheckpointError, UserInputError
from clipscale.zoo.catalog import CATALOG, Catalog
from clipscale.zoo.hub import download


def load_state_dict(path: str | os.PathLike) -> dict[str, Any]:
    """The model weights in a checkpoint file (.pt OpenCLIP format or .safetensors), read safely.

    Accepts {'state_dict': ...} (training checkpoints) or a bare state dict; strips DDP's 'module.'.
    """
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"checkpoint {path} does not exist; give the path of a .pt or .safetensors file")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            obj: Any = load_file(str(path), device="cpu")
        except Exception as exc:  # noqa: BLE001 - safetensors raises its own untyped errors
            raise DataError(f"{path} is not a readable safetensors file ({exc}); download it again") from exc
    else:
        obj = _torch_load_weights_only(path)
    state = obj.get("state_dict", obj) if isinstance(obj, dict) else None
    if not isinstance(state, dict) or not state:
        raise DataError(f"{path} holds no state dict (found {type(obj).__name__}); expected an OpenCLIP checkpoint")
    if all(isinstance(k, str) and k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


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
            raise DataError(f"{path} is not a readable PyTorch checkpoint ({lines[-1].strip() if lines else exc!r}); "
                            f"download it again") from None
        raise UnsafeCheckpointError(f"refused to load {path}: it needs more than tensors to unpickle ({detail}); "
                                    f"only load it unsafely if you trust its source") from None
    except Exception as exc:  # noqa: BLE001 - a damaged file raises RuntimeError, EOFError, struct.error, ...
        raise DataError(f"{path} is not a readable PyTorch checkpoint ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0] if str(exc) else ''}); download it again") from None


def load_pretrained(arch: str, checkpoint: str | os.PathLike, device: str = "cpu"):
    """(model, preprocess, tokenizer) of OpenCLIP architecture `arch` with weights from `checkpoint`, in eval mode."""
    from clipscale import models

    state = load_state_dict(checkpoint)
    root = logging.getLogger()
    level, _ = root.level, root.setLevel(logging.ERROR)  # not "No pretrained weights loaded": they are, below
    try:
        model, preprocess, tokenizer = models.create(arch, pretrained=None, device="cpu")
    finally:
        root.setLevel(level)
    if "logit_scale" in state and state["logit_scale"].ndim != model.logit_scale.ndim:
        state["logit_scale"] = state["logit_scale"].reshape(model.logit_scale.shape)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        lines = str(exc).splitlines()
        raise DataError(f"{checkpoint} does not fit architecture {arch}: {lines[1].strip() if len(lines) > 1 else lines[0]}; "
                        f"pick the architecture the checkpoint was trained with") from None
    return model.to(device).eval(), preprocess, tokenizer


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
