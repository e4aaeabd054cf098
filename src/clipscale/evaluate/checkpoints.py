"""Loading a checkpoint into its architecture, with the facts a results row records about it."""
from __future__ import annotations

import contextlib
import json
import logging
import pickle
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from clipscale._io import sha256_file
from clipscale.errors import NotFoundError, UnsafeCheckpointError, UserInputError

_EPOCH_FILE = re.compile(r"^epoch_(\d+)\.pt$")


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
    ckdir = Path(run_dir) / "checkpoints"
    found = []
    for p in ckdir.glob("epoch_*.pt") if ckdir.is_dir() else ():
        m = _EPOCH_FILE.match(p.name)
        if m:
            found.append((int(m.group(1)), p))
    if not found:
        raise NotFoundError(f"no checkpoints/epoch_N.pt under {run_dir}; pass a training run folder "
                            "(clipscale train writes RUN/checkpoints/epoch_N.pt)")
    return sorted(found)


def read_checkpoint(path: str | Path) -> tuple[dict, dict]:
    """(state_dict, header) of an OpenCLIP .pt or .safetensors file, read without running code.

    header: the non-tensor entries (epoch, samples_seen, name). torch.load(weights_only=True) only;
    never a full unpickle (open_clip's loader falls back to one on TypeError).
    """
    import torch

    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            obj = load_file(str(path), device="cpu")
        except Exception as exc:  # noqa: BLE001 - safetensors raises untyped errors
            raise UserInputError(f"cannot read checkpoint {path} ({exc}); is it a complete safetensors file?") from exc
    else:
        try:
            obj = torch.load(str(path), map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as exc:
            raise UnsafeCheckpointError(f"{path} holds pickled objects beyond tensors, so loading it could run "
                                        "code; re-save it as a plain state_dict (or safetensors)") from exc
        except (RuntimeError, EOFError, OSError, ValueError) as exc:
            raise UserInputError(f"cannot read checkpoint {path} ({type(exc).__name__}: {str(exc)[:120]}); "
                                 "is it a complete OpenCLIP .pt file?") from exc
    if not isinstance(obj, dict):
        raise UserInputError(f"{path} holds a {type(obj).__name__}, not a state dict; expected an OpenCLIP checkpoint")
    state = obj.get("state_dict", obj)
    header = {k: v for k, v in obj.items() if k not in ("state_dict", "optimizer", "scaler")} if "state_dict" in obj else {}
    if state and all(isinstance(k, str) and k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state, header


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


def load_model(arch: str, checkpoint: str | Path | None, *, device: str = "cpu"):
    """(model, preprocess, tokenizer, CheckpointInfo) for an architecture and its weights.

    `checkpoint` is a local OpenCLIP .pt/.safetensors path, an OpenCLIP pretrained tag of `arch`,
    or None (random weights: the untrained baseline).
    """
    from clipscale import models

    path = Path(checkpoint) if checkpoint is not None else None
    if path is not None and not path.exists():
        if _is_pretrained_tag(arch, str(checkpoint)):
            model, preprocess, tokenizer = models.create(arch, pretrained=str(checkpoint), device=device)
            return model, preprocess, tokenizer, CheckpointInfo(str(checkpoint), None, None, None)
        raise NotFoundError(f"checkpoint {checkpoint} not found; pass a path to an OpenCLIP .pt file "
                            f"or a pretrained tag of {arch}")
    with _quiet_root_warnings():  # open_clip warns "no pretrained weights": ours are loaded just below
        model, preprocess, tokenizer = models.create(arch, pretrained=None, device="cpu")
    if path is None:
        return model.to(device), preprocess, tokenizer, CheckpointInfo(None, None, None, None)
    state, header = read_checkpoint(path)
    if "logit_scale" in state and state["logit_scale"].ndim != model.logit_scale.ndim:
        state["logit_scale"] = state["logit_scale"].reshape(model.logit_scale.shape)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise UserInputError(f"checkpoint {path} does not match architecture {arch!r}: {_summarise_mismatch(exc)}; "
                             "pass the --arch it was trained with (its run's spec.json names it)") from None
    model.to(device).eval()
    epoch, samples = header.get("epoch"), header.get("samples_seen")
    info = CheckpointInfo(str(path), sha256_of(path), int(epoch) if epoch is not None else None,
                          float(samples) if samples is not None else None)
    return model, preprocess, tokenizer, info


@contextlib.contextmanager
def _quiet_root_warnings():
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(previous)


def _is_pretrained_tag(arch: str, tag: str) -> bool:
    import open_clip

    return tag in set(open_clip.list_pretrained_tags_by_model(arch))


def run_spec(run_dir: str | Path) -> dict:
    """A training run's spec.json as a dict (empty when absent)."""
    p = Path(run_dir) / "spec.json"
    if not p.exists():
        return {}
    try:
        return json.loads(p.read_text())
    except json.JSONDecodeError as exc:
        raise UserInputError(f"{p} is not valid JSON ({exc}); the run folder is damaged") from exc
