"""`clipscale compute ARCH...`: parameters (millions) and GMACs per sample of architectures."""
from __future__ import annotations

import json
from pathlib import Path

from clipscale.cli._parsing import RawFormatter

_COLUMNS = ("arch", "params_m", "image_params_m", "text_params_m", "image_gmacs", "text_gmacs", "gmacs")


def register(sub) -> None:
    """Add this stage's subcommands to the top-level parser."""
    p = sub.add_parser(
        "compute",
        help="parameters and GMACs per sample of an architecture",
        description="Count parameters (millions) and GMACs per sample (giga multiply-accumulates, "
                    "1 MAC = 2 FLOPs) of one image forward, one text forward and their sum. "
                    "The model is built on the meta device: no weights are allocated. A count is kept "
                    "in the cache folder ($CLIPSCALE_CACHE, else $XDG_CACHE_HOME/clipscale), keyed by "
                    "the model config and the open_clip and torch versions, so asking again is instant.",
        epilog="examples:\n  clipscale compute ViT-B-32 ladder-e-s\n  clipscale compute --list 'ladder-*'\n"
               "  clipscale compute ladder-xs --json",
        formatter_class=RawFormatter,
    )
    p.add_argument("models", nargs="*", metavar="ARCH",
                   help="OpenCLIP architecture name (ViT-B-32, ladder-xs, ...) or a JSON config file")
    p.add_argument("--list", nargs="?", const="*", metavar="PATTERN",
                   help="list the architecture names (matching a shell pattern, e.g. 'ViT-B-*') and exit")
    p.add_argument("--json", action="store_true",
                   help="print JSON (an object for one ARCH, a list for several) instead of a table")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from clipscale.compute.configs import architecture_names, check_architecture
    from clipscale.compute.counter import PAPER_ALIASES
    from clipscale.errors import UserInputError

    if args.list is not None:
        import fnmatch

        print("\n".join(n for n in architecture_names() if fnmatch.fnmatch(n, args.list)))
        return 0
    if not args.models:
        raise UserInputError("no architecture given; e.g. clipscale compute ViT-B-32 (see `clipscale compute --list`)")
    models = [_model_arg(m) for m in args.models]  # every name and file checked before any count
    for m in models:
        if isinstance(m, str):
            check_architecture(m, aliases=tuple(PAPER_ALIASES))
    from clipscale.compute import count

    rows = [count(m).to_dict() | {"arch": name} for m, name in zip(models, args.models)]
    if args.json:
        print(json.dumps(rows[0] if len(rows) == 1 else rows, indent=2))
        return 0
    print(f"{'arch':<22} {'params (M)':>11} {'image (M)':>10} {'text (M)':>9} "
          f"{'image GMACs':>12} {'text GMACs':>11} {'GMACs/sample':>13}")
    for r in rows:
        print(f"{r['arch']:<22} {r['params_m']:>11.2f} {r['image_params_m']:>10.2f} {r['text_params_m']:>9.2f} "
              f"{r['image_gmacs']:>12.4g} {r['text_gmacs']:>11.4g} {r['gmacs']:>13.4g}")
    return 0


def _model_arg(model: str):
    """A name stays a name; a path to a .json file is read as an OpenCLIP config."""
    from clipscale.errors import UserInputError

    if not model.endswith(".json"):
        return model
    path = Path(model)
    try:
        cfg = json.loads(path.read_text())
    except OSError as exc:
        raise UserInputError(f"cannot read model config {path}: {exc.strerror}; give an existing JSON file") from exc
    except json.JSONDecodeError as exc:
        raise UserInputError(f"model config {path} is not valid JSON ({exc}); fix the file") from exc
    if not isinstance(cfg, dict):
        raise UserInputError(f"model config {path} holds a JSON {type(cfg).__name__}, not an object; give an "
                             "OpenCLIP config (embed_dim, vision_cfg, text_cfg)")
    return cfg.get("model_cfg", cfg)
