"""`clipscale train`: one training run of a spec into a run folder (also under torchrun)."""
from __future__ import annotations

import json
import os
import sys

from clipscale.cli._parsing import RawFormatter, positive_int, renamed

_EPILOG = """\
examples:
  clipscale train --arch ladder-xs --data-size 1000 --samples-seen 2000 --out runs/xs
  clipscale train --arch ladder-e-s --world medium-v1 --data-size 1000 --samples-seen 2000 --checkpoints 2 --out runs/es
  clipscale train --arch ladder-e-xs --world medium-v1 --data-size 1000 --schedule const-cooldown \\
      --levels 1000,2000 --out runs/cool
  clipscale train --arch ladder-s --data-size 256 --samples-seen 512 --out runs/s \\
      --train-data 'shards/{000000..000001}.tar'
  torchrun --nproc_per_node 2 -m clipscale train --arch ladder-xs --data-size 256 --samples-seen 256 \\
      --batch-size 32 --checkpoints 2 --out runs/ddp

The run folder holds spec.json (the run's whole input, its world included), meta.json,
metrics.jsonl, checkpoints/epoch_N.pt (OpenCLIP format) and done.json once finished; with --levels,
trunk/ and one branch_s<level>/ folder per level. Rerunning on a finished folder returns at once;
--resume continues a partial one from its last checkpoint. See docs/train.md.
"""


def register(sub) -> None:
    """Add `clipscale train` to the top-level parser. Defaults and choices are TrainSpec's (train/spec.py)."""
    from clipscale.data.worlds import WORLDS
    from clipscale.train.spec import PRECISIONS, default

    p = sub.add_parser("train", help="train one CLIP model (native engine or open_clip_train)",
                       description="Train one CLIP model on the embedded procedural data (or webdataset "
                                   "shards) with OpenCLIP's model, loss and recipe. Deterministic: the same "
                                   "spec and seed give the same weights.",
                       epilog=_EPILOG, formatter_class=RawFormatter)
    p.add_argument("--arch", dest="model", default=None, metavar="ARCH",
                   help="(required) architecture: a ladder model (ladder-xs ... ladder-xl, ladder-e-xxs ... ladder-e-l) "
                        "or any OpenCLIP name (`clipscale compute --list`)")
    renamed(p, "--model", "--arch", "model", required=True)
    p.add_argument("--data-size", type=positive_int, required=True, metavar="N",
                   help="unique image-text pairs of the embedded data")
    p.add_argument("--samples-seen", type=positive_int, default=None, metavar="S",
                   help="samples shown in total (all processes); with --levels, the largest level")
    p.add_argument("--world", choices=tuple(WORLDS), default=default("world"),
                   help="the embedded data's world (docs/data.md): recorded in the run's spec; its checkpoints "
                        "are evaluated in it (default %(default)s)")
    p.add_argument("--out", required=True, metavar="DIR", help="run folder")
    p.add_argument("--batch-size", type=positive_int, default=default("batch_size"), metavar="B",
                   help="global batch (all processes together; default %(default)s)")
    p.add_argument("--lr", type=float, default=default("lr"), metavar="LR", help="peak learning rate (default %(default)s)")
    p.add_argument("--warmup", type=float, default=default("warmup"), metavar="FRAC",
                   help="warmup as a fraction of the steps, in [0, 1) (default %(default)s)")
    p.add_argument("--weight-decay", type=float, default=default("weight_decay"), metavar="WD",
                   help="AdamW weight decay on matrices (default %(default)s)")
    p.add_argument("--precision", choices=PRECISIONS, default=default("precision"),
                   help="fp32, or bf16 autocast (default %(default)s)")
    p.add_argument("--seed", type=int, default=default("seed"), metavar="N",
                   help="initialisation and data order seed (default %(default)s)")
    p.add_argument("--checkpoints", dest="epochs", type=positive_int, default=default("epochs"), metavar="N",
                   help="checkpoints to write, evenly spaced in samples (OpenCLIP's 'epochs'; default %(default)s)")
    renamed(p, "--epochs", "--checkpoints", "epochs", type=positive_int)
    p.add_argument("--train-data", default=default("train_data"), metavar="PATTERN",
                   help="webdataset shards instead of the embedded data, e.g. 'shards/{000000..000099}.tar'")
    p.add_argument("--threads", dest="num_threads", type=positive_int, default=default("num_threads"), metavar="N",
                   help="torch threads per process (default: torch's choice)")
    _schedule_options(p)
    p.add_argument("--resume", action="store_true", help="continue a partial run in --out from its last checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    renamed(p, "--no-progress", "--quiet", "quiet", flag=True)
    p.set_defaults(func=_run)


def _schedule_options(p) -> None:
    """--engine, --schedule and the cool-down options (defaults and choices: TrainSpec's)."""
    from clipscale.train.spec import COOLDOWN_SHAPES, ENGINES, RUN_SCHEDULES, default

    p.add_argument("--engine", choices=ENGINES, default=default("engine"),
                   help="native (deterministic) or open_clip (open_clip_train.main) (default %(default)s)")
    p.add_argument("--schedule", choices=RUN_SCHEDULES, default=default("schedule"),
                   help="cosine, or warmup + constant + cool-down (Hägele et al. 2024) (default %(default)s)")
    p.add_argument("--cooldown", type=float, default=default("cooldown"), metavar="FRAC",
                   help="const-cooldown: cool-down as a fraction of the steps, in (0, 1) (default %(default)s)")
    p.add_argument("--cooldown-shape", choices=COOLDOWN_SHAPES, default=default("cooldown_shape"),
                   help="const-cooldown: shape of the decay (default %(default)s)")
    p.add_argument("--final-lr", type=float, default=default("final_lr"), metavar="LR",
                   help="const-cooldown: lr at the end (default %(default)s)")
    p.add_argument("--levels", default=None, metavar="S1,S2,...",
                   help="const-cooldown: one constant-lr trunk and one cool-down branch per samples-seen level "
                        "(--out DIR/trunk, DIR/branch_s<level>)")


def spec_of(args) -> "TrainSpec":
    """The TrainSpec of parsed `clipscale train` arguments: every option named after a TrainSpec field
    sets that field (--threads sets num_threads), so no field is listed twice."""
    import dataclasses

    from clipscale.errors import UserInputError
    from clipscale.train import TrainSpec

    levels = _levels(args.levels)
    samples = args.samples_seen if args.samples_seen is not None else (levels[-1] if levels else None)
    if samples is None:
        raise UserInputError("--samples-seen is required (or --levels with --schedule const-cooldown)")
    fields = {f.name for f in dataclasses.fields(TrainSpec)}
    return TrainSpec(**{k: v for k, v in vars(args).items() if k in fields} | {"samples_seen": samples})


def _run(args) -> int:
    from clipscale.compute.configs import check_architecture
    from clipscale.errors import UserInputError

    spec, levels = spec_of(args), _levels(args.levels)  # every value checked before torch is imported
    check_architecture(spec.model)
    if levels:
        from clipscale.train.branches import plan, train_branches

        if spec.samples_seen != levels[-1]:
            raise UserInputError(f"--samples-seen {spec.samples_seen} is not the largest level {levels[-1]}; "
                                 "omit it with --levels")
        if spec.engine != "native":
            raise UserInputError("cool-down branches need the native engine; use --engine native")
        plan(spec, levels)  # levels increasing, each past the warmup
    if spec.precision == "bf16":
        from clipscale.train.precision import bf16_warning, detect_bf16

        warning = bf16_warning(detect_bf16())
        if warning and int(os.environ.get("RANK", "0")) == 0:
            print(warning, file=sys.stderr)
    if levels:
        summary = train_branches(spec, levels, args.out, resume=args.resume, progress=not args.quiet)
        if int(os.environ.get("RANK", "0")) == 0:
            print(json.dumps(summary, sort_keys=True))
        return 0
    from clipscale.train import train

    result = train(spec, args.out, resume=args.resume, progress=not args.quiet)
    if int(os.environ.get("RANK", "0")) == 0:  # under torchrun, one summary line, not one per rank
        print(json.dumps(result.to_dict(), sort_keys=True))
    return 0


def _levels(text: str | None) -> list[int] | None:
    """'12000,48000' -> [12000, 48000]; UserInputError on anything else."""
    from clipscale.errors import UserInputError

    if text is None:
        return None
    try:
        levels = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        levels = []
    if not levels or min(levels) < 1:
        raise UserInputError(f"--levels must be comma-separated positive sample counts, e.g. 12000,48000; "
                             f"got {text!r}")
    return levels
