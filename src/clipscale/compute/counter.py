"""Count parameters and per-sample GMACs of an OpenCLIP model without allocating its weights.

How the count is made, and why:
- The model is built under `torch.device("meta")`: tensors have shapes but no storage, so the
  largest models of the paper (ViT-e-14, 4.6 B parameters) cost milliseconds and no memory.
- torch.utils.flop_counter.FlopCounterMode counts matrix products and convolutions (FLOPs = 2 x
  MACs). It leaves out element-wise work (norms, activations, softmax), as did the paper's fvcore
  counts (Cherti et al. 2023, ../shared/paper/arch_info.csv); the two agree within 1%.
- Two traps of the counter on CPU are closed here: nn.MultiheadAttention's inference fast path
  (taken in eval mode under no_grad) calls one fused kernel the counter does not see, so the
  towers run in train mode with autograd on (dropout is 0 in every OpenCLIP config, so the
  arithmetic is the same); and `aten._scaled_dot_product_flash_attention_for_cpu`, which the
  counter has no formula for, gets one (QK^T and AV, as for the CUDA kernels).
"""
from __future__ import annotations

import copy
import hashlib
import json
import math
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from clipscale._io import atomic_write_json, cache_root
from clipscale._logs import quiet_openclip
from clipscale.errors import ClipscaleError, ComputeError, NotFoundError, UserInputError, unknown

_CONFIG_KEYS = ("embed_dim", "vision_cfg", "text_cfg")

# Names the paper's arch_info.csv uses (OpenCLIP of late 2022) that OpenCLIP has since renamed or
# never shipped as configs: name -> (OpenCLIP architecture, image size override in pixels).
PAPER_ALIASES: dict[str, tuple[str, int | None]] = {
    "ViT-G-14": ("ViT-bigG-14", None),
    "ViT-G-14-336": ("ViT-bigG-14", 336),
    "ViT-H-14-336": ("ViT-H-14", 336),
    "ViT-g-14-336": ("ViT-g-14", 336),
    "ViT-e-14-336": ("ViT-e-14", 336),
}


@dataclass(frozen=True)
class Compute:
    """Size and cost of one CLIP architecture.

    Parameters are in millions. GMACs are giga multiply-accumulates for ONE sample: one image
    through the image tower (`image_gmacs`), one text through the text tower (`text_gmacs`), and
    their sum (`gmacs`). Multiply by samples seen for the total compute of a run.
    """

    params_m: float
    image_params_m: float
    text_params_m: float
    image_gmacs: float
    text_gmacs: float
    gmacs: float
    arch: str = ""
    image_size: int = 0
    context_length: int = 0

    @property
    def gflops(self) -> float:
        """GFLOPs per sample (1 MAC = 2 FLOPs)."""
        return 2.0 * self.gmacs

    def total_gmacs(self, samples_seen: float) -> float:
        """Total GMACs of a run that saw `samples_seen` image-text pairs."""
        return self.gmacs * float(samples_seen)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def count(arch_or_config: str | Mapping[str, Any]) -> Compute:
    """Parameters (millions) and GMACs per sample of an architecture.

    `arch_or_config` is an OpenCLIP architecture name ('ViT-B-32', 'ladder-xs', 'ViT-B/32' is
    read as 'ViT-B-32') or an OpenCLIP config dict with embed_dim, vision_cfg and text_cfg.
    Results are cached per architecture. Raises NotFoundError for an unknown name and
    UserInputError for a config that does not build.
    """
    known = _from_disk(arch_or_config)
    if known is not None:
        return known
    found = _count(arch_or_config)
    _to_disk(arch_or_config, found)
    return found


def _count(arch_or_config: str | Mapping[str, Any]) -> Compute:
    if isinstance(arch_or_config, str):
        if arch_or_config in PAPER_ALIASES:
            base, image_size = PAPER_ALIASES[arch_or_config]
            return _count_name(base, image_size, arch_or_config)
        name = _canonical_name(arch_or_config)
        return _count_name(name, None, name)
    if isinstance(arch_or_config, Mapping):
        missing = [k for k in _CONFIG_KEYS if k not in arch_or_config]
        if missing:
            raise UserInputError(f"model config lacks {', '.join(missing)}; an OpenCLIP config needs "
                                 f"{', '.join(_CONFIG_KEYS)} (see open_clip/model_configs/*.json)")
        return _count_config(json.dumps(arch_or_config, sort_keys=True))
    raise UserInputError(f"count() takes an architecture name or a config dict, not {type(arch_or_config).__name__}")


# The counting rule's version: bump it when _measure changes what it counts (a cache key part).
_RULE_VERSION = 1


def _disk_path(arch_or_config) -> Path | None:
    """The cache file of a count: keyed by the model config (read from its file, no open_clip import),
    the open_clip and torch versions and the counting rule; None when the config is not on disk."""
    from importlib import metadata

    from clipscale.compute.configs import config_of

    size, built_from = None, "name" if isinstance(arch_or_config, str) else "config"  # two ways to build
    if isinstance(arch_or_config, str):
        name, size = PAPER_ALIASES.get(arch_or_config, (arch_or_config, None))
        cfg = config_of(name)
    else:
        cfg = dict(arch_or_config) if isinstance(arch_or_config, Mapping) else None
    if cfg is None:
        return None
    try:
        versions = {p: metadata.version(p) for p in ("open_clip_torch", "torch")}
    except metadata.PackageNotFoundError:
        return None
    blob = json.dumps({"config": cfg, "image_size": size, "rule": _RULE_VERSION, "from": built_from, **versions}, sort_keys=True,
                      default=str)
    return cache_root() / "compute" / f"{hashlib.sha256(blob.encode()).hexdigest()[:20]}.json"


def _from_disk(arch_or_config) -> Compute | None:
    """A count made before, by any process, for the same config and versions (None if there is none)."""
    path = _disk_path(arch_or_config)
    if path is None or not path.is_file():
        return None
    try:
        found = Compute(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):  # a damaged cache file is counted again and replaced
        return None
    label = _label(arch_or_config)
    return found if label is None else Compute(**{**found.to_dict(), "arch": label})


def _to_disk(arch_or_config, found: Compute) -> None:
    path = _disk_path(arch_or_config)
    if path is None:
        return
    try:
        atomic_write_json(path, found.to_dict())
    except (OSError, UserInputError):  # a read-only cache costs speed, never the count
        pass


def _label(arch_or_config) -> str | None:
    """The `arch` a count of a name carries (ViT-B/32 -> ViT-B-32); None for a config dict."""
    if not isinstance(arch_or_config, str):
        return None
    if arch_or_config in PAPER_ALIASES:
        return arch_or_config
    from clipscale.compute.configs import config_files

    return arch_or_config if arch_or_config in config_files() else arch_or_config.replace("/", "-")


def gmacs_per_sample(arch: str) -> float:
    """GMACs of one sample (one image and one text forward) of architecture `arch`; > 0 and finite.

    The one place every stage asks for it (training records, results rows, study cost ordering).
    Raises NotFoundError for an unknown name, UserInputError for one that does not build, and
    ComputeError naming `arch` when the count itself fails or is not a positive number: never NaN.
    """
    try:
        gmacs = float(count(arch).gmacs)
    except ClipscaleError:
        raise
    except Exception as exc:  # noqa: BLE001 - the flop counter's failures, named after the architecture
        raise ComputeError(f"cannot count the GMACs of architecture {arch!r} ({type(exc).__name__}: {exc}); "
                           f"check that open_clip.create_model builds it, or give its GMACs per sample where the "
                           f"caller takes them (evaluate's meta['gmacs'])") from exc
    if not math.isfinite(gmacs) or gmacs <= 0:
        raise ComputeError(f"the GMACs per sample of architecture {arch!r} came out as {gmacs}, not a positive "
                           f"number; give its GMACs per sample where the caller takes them (evaluate's meta['gmacs'])")
    return gmacs


def _canonical_name(name: str) -> str:
    import open_clip

    import clipscale.models  # registers the ladder configs into open_clip

    if open_clip.get_model_config(name) is None and open_clip.get_model_config(name.replace("/", "-")):
        return name.replace("/", "-")
    try:
        clipscale.models.model_config(name)
    except NotFoundError as exc:  # the same message, with the paper's aliases among the choices
        raise unknown("architecture", name, [*open_clip.list_models(), *PAPER_ALIASES],
                      fix="use an OpenCLIP name (open_clip.list_models()), a ladder model (ladder-xs ... "
                          "ladder-xl) or a config dict") from exc
    return name


@lru_cache(maxsize=None)
def _count_name(name: str, image_size: int | None, label: str) -> Compute:
    import open_clip
    import torch

    try:
        with torch.device("meta"), quiet_openclip():  # "No pretrained weights loaded" is expected here
            model = open_clip.create_model(name, device="meta", force_custom_text=True, force_image_size=image_size,
                                           pretrained_image=False, pretrained_text=False)
    except Exception as exc:  # noqa: BLE001 - any failure to build is reported as the user's input
        raise UserInputError(f"cannot build architecture {name!r} to count it: {exc}") from exc
    return _measure(model, label)


@lru_cache(maxsize=None)
def _count_config(config_json: str) -> Compute:
    import open_clip
    import torch

    cfg = copy.deepcopy(json.loads(config_json))
    cfg.pop("custom_text", None)
    if "multimodal_cfg" in cfg:
        raise UserInputError("CoCa configs (multimodal_cfg) are not counted; pass a CLIP config or a name")
    try:
        with torch.device("meta"):
            model = open_clip.CustomTextCLIP(**cfg)
    except Exception as exc:  # noqa: BLE001
        raise UserInputError(f"cannot build the model config to count it: {exc}; "
                             f"compare with open_clip/model_configs/ViT-B-32.json") from exc
    return _measure(model, "")


def _measure(model, arch: str) -> Compute:
    """Count one image forward and one text forward of a meta-device CustomTextCLIP."""
    import torch

    visual = model.visual
    size = visual.image_size if isinstance(visual.image_size, (tuple, list)) else (visual.image_size,) * 2
    size = tuple(int(s) for s in size[-2:])
    context = int(model.context_length)
    image = torch.zeros((1, 3, *size), device="meta")
    text = torch.zeros((1, context), dtype=torch.long, device="meta")
    model.train()  # no MHA fast path (see module docstring); dropout is 0 so the work is the same
    with torch.enable_grad():
        image_macs = _macs(visual, image)
        text_macs = _macs(model.text, text)
    total = _params(model)
    return Compute(
        params_m=total / 1e6,
        image_params_m=_params(visual) / 1e6,
        text_params_m=_params(model.text) / 1e6,
        image_gmacs=image_macs / 1e9,
        text_gmacs=text_macs / 1e9,
        gmacs=(image_macs + text_macs) / 1e9,
        arch=arch,
        image_size=size[0],
        context_length=context,
    )


def _macs(module, inputs) -> float:
    """Multiply-accumulates of module(inputs), from FlopCounterMode's FLOPs / 2."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False, custom_mapping=_extra_formulas())
    with counter:
        module(inputs)
    return counter.get_total_flops() / 2.0


def _params(module) -> int:
    return sum(p.numel() for p in module.parameters())


@lru_cache(maxsize=1)
def _extra_formulas() -> dict:
    """FLOP formulas FlopCounterMode lacks: the CPU flash-attention kernel (QK^T and AV)."""
    import torch
    from torch.utils.flop_counter import sdpa_flop_count

    def cpu_flash_attention(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
        return sdpa_flop_count(query_shape, key_shape, value_shape)

    return {torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: cpu_flash_attention}
