"""Model factory: any OpenCLIP architecture name, plus the small ladder configs of clipscale.

The ladder (model_configs/ladder-*.json) is data, not code: OpenCLIP configs of 32 px images,
patch 8 (17 image tokens) and a short text context, registered into OpenCLIP's registry at import
so that `open_clip.create_model_and_transforms('ladder-s', pretrained=path)` works too.
`ladder-*` use OpenCLIP's own BPE tokenizer, so every OpenCLIP tool (open_clip_train,
clip_benchmark) works on them unchanged: use them on real shards. `ladder-e-*` are the same shapes
(plus a smaller rung, ladder-e-xxs) with the compact tokenizer of the embedded captions
(`clipscale.data.tokenizer`: OpenCLIP's BPE pruned to 899 tokens), whose token embedding no longer
dwarfs the model: use them on the embedded data.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import open_clip

from clipscale.errors import UserInputError, unknown

_CONFIG_DIR = Path(__file__).resolve().parent / "model_configs"
# OpenCLIP's weight precisions (open_clip.factory); it silently treats any other string as fp32.
PRECISIONS = ("fp32", "bf16", "fp16", "pure_bf16", "pure_fp16")
open_clip.add_model_config(_CONFIG_DIR)


def _resolve_tokenizer_paths() -> None:
    """Configs name their tokenizer file relative to model_configs/; OpenCLIP opens it relative to
    the working directory, so register the absolute path."""
    from open_clip.factory import _MODEL_CONFIGS

    for path in _CONFIG_DIR.glob("ladder-*.json"):
        kwargs = (_MODEL_CONFIGS.get(path.stem, {}).get("text_cfg", {}).get("tokenizer_kwargs") or {})
        if "bpe_path" in kwargs and not Path(kwargs["bpe_path"]).is_absolute():
            kwargs["bpe_path"] = str(_CONFIG_DIR / kwargs["bpe_path"])


_resolve_tokenizer_paths()


@dataclass(frozen=True)
class LadderModel:
    """One rung of the ladder: its OpenCLIP name and shape."""

    name: str
    width: int
    layers: int
    image_size: int
    patch_size: int
    context_length: int


@lru_cache(maxsize=None)
def ladder(family: str = "bpe") -> dict[str, LadderModel]:
    """A ladder, smallest first, read from the packaged configs: family "bpe" (ladder-xs ... xl,
    OpenCLIP's tokenizer) or "e" (ladder-e-xxs ... l, the compact embedded tokenizer)."""
    if family not in ("bpe", "e"):
        raise unknown("ladder family", family, ("bpe", "e"), fix="use 'bpe' for real shards, 'e' for embedded data")
    out = {}
    for path in sorted(_CONFIG_DIR.glob("ladder-*.json")):
        cfg = json.loads(path.read_text())
        v, t = cfg["vision_cfg"], cfg["text_cfg"]
        if _family(t) != family:
            continue
        out[path.stem] = LadderModel(path.stem, v["width"], v["layers"], v["image_size"], v["patch_size"],
                                     t["context_length"])
    return dict(sorted(out.items(), key=lambda kv: (kv[1].width, kv[1].layers)))


#: the compact tokenizer of the embedded captions: the text config that names it is the "e" family's
EMBEDDED_BPE = "embedded_bpe.txt.gz"


def _family(text_cfg: dict[str, Any]) -> str:
    """A ladder config's family, from the tokenizer its text tower is built for (a typed trait of the
    config): "e" for the compact embedded tokenizer, "bpe" for OpenCLIP's."""
    bpe = (text_cfg.get("tokenizer_kwargs") or {}).get("bpe_path")
    return "e" if bpe is not None and Path(bpe).name == EMBEDDED_BPE else "bpe"


def list_architectures() -> list[str]:
    """Every architecture name OpenCLIP knows (ladder included)."""
    return list(open_clip.list_models())


def model_config(name: str) -> dict[str, Any]:
    """The OpenCLIP config dict of an architecture; NotFoundError lists valid names."""
    cfg = open_clip.get_model_config(name)
    if cfg is None:
        raise unknown("architecture", name, list_architectures(),
                      fix="use an OpenCLIP name (open_clip.list_models()) or a ladder model (ladder-xs ... ladder-xl)")
    return cfg


def create(name: str, pretrained: str | None = None, device: str = "cpu", precision: str = "fp32"):
    """(model, preprocess, tokenizer) for an architecture; model in eval mode.

    `pretrained` is a local checkpoint path (OpenCLIP format) or an OpenCLIP pretrained tag.
    `precision` is OpenCLIP's weight precision (one of PRECISIONS); 'bf16' casts weights as OpenAI
    did, it is not autocast.
    """
    model_config(name)  # raises NotFoundError with the valid names
    if precision not in PRECISIONS:
        raise UserInputError(f"unknown precision {precision!r}; valid choices: {', '.join(PRECISIONS)}; "
                             "use fp32 on CPU, or bf16 for OpenCLIP's mixed-precision weights")
    model, _, preprocess = open_clip.create_model_and_transforms(name, pretrained=pretrained, device=device,
                                                                 precision=precision)
    model.eval()
    return model, preprocess, open_clip.get_tokenizer(name)
