"""Architecture names and configs read from the config files themselves, without importing open_clip.

`import open_clip` takes 8-13 s on a small CPU, so the command line checks a model name against the
files OpenCLIP would load (open_clip/model_configs/*.json, then clipscale's model_configs/*.json,
which it registers on top) before any heavy import: a typo fails at once, with the nearest names.
The same files key the persistent cache of compute counts (clipscale.compute.counter).
Names OpenCLIP learns at run time (open_clip.add_model_config, hf-hub:) are not here: callers
treat "not found here" as "ask open_clip", never as final, except where the CLI names a model.
"""
from __future__ import annotations

import importlib.util
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from clipscale.errors import unknown

_OURS = Path(__file__).resolve().parent.parent / "model_configs"
_CONFIG_KEYS = ("embed_dim", "vision_cfg", "text_cfg")  # what open_clip requires of a config file
# Names that build without a config file of that name.
REMOTE_PREFIXES = ("hf-hub:", "local-dir:")


def _openclip_dir() -> Path | None:
    spec = importlib.util.find_spec("open_clip")  # finds the package without running it
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "model_configs"


@lru_cache(maxsize=1)
def config_files() -> dict[str, Path]:
    """Architecture name -> its config file, as open_clip registers them (clipscale's last, so they win)."""
    out: dict[str, Path] = {}
    for folder in (_openclip_dir(), _OURS):
        if folder is None or not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.json")):
            out[path.stem] = path
    return out


def architecture_names() -> list[str]:
    """Every architecture name with a config file (OpenCLIP's and the ladder), sorted."""
    return sorted(config_files())


@lru_cache(maxsize=None)
def config_of(name: str) -> dict[str, Any] | None:
    """The config dict of an architecture with a config file (`ViT-B/32` read as `ViT-B-32`); None if none."""
    files = config_files()
    path = files.get(name) or files.get(name.replace("/", "-"))
    if path is None:
        return None
    cfg = json.loads(path.read_text())
    return cfg if all(k in cfg for k in _CONFIG_KEYS) else None


def check_architecture(name: str, aliases: tuple[str, ...] = ()) -> str:
    """`name` when a config file (or one of `aliases`) knows it; NotFoundError with the nearest names
    otherwise. Remote names (hf-hub:...) pass: only open_clip can tell."""
    if name in aliases or name.startswith(REMOTE_PREFIXES) or config_of(name) is not None:
        return name
    raise unknown("architecture", name, [*architecture_names(), *aliases],
                  fix="see `clipscale compute --list` (OpenCLIP names, ladder-xs ... ladder-xl, ladder-e-xxs ... "
                      "ladder-e-l)")
