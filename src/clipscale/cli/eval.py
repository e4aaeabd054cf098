"""`clipscale eval`: evaluate checkpoints (ours, a run's epochs, or the zoo's) with the paper's protocol."""
from __future__ import annotations

import sys
from pathlib import Path

from clipscale.cli._parsing import RawFormatter, positive_int, renamed

_EPILOG = """examples:
  clipscale eval --pretrained runs/xs/checkpoints/epoch_2.pt --tasks embedded/colour,digits --limit 200 --out results.csv
  clipscale eval --run runs/xs --tasks embedded/objects,digits --limit 200 --out curves.csv      (every epoch_N.pt)
  clipscale eval --run runs/cool --tasks embedded/objects --limit 200   (a cool-down run: each branch's last checkpoint)
  clipscale eval --run runs/cool --level 4000 --tasks embedded/objects --limit 200                 (one branch)
  clipscale eval --arch ladder-e-s --tasks embedded/shape --limit 200     (random weights: the untrained baseline)
  clipscale eval --model ViT-B-32 --data 80M --samples-seen 3B --tasks digits --limit 200           (a zoo checkpoint)
  clipscale eval --list-tasks 'embedded/*'
A checkpoint of a clipscale run is evaluated in the embedded world its run's spec records (its
embedded/* tasks are that world's; CLIPSCALE_WORLD naming another is an error). Metrics are fractions
in [0, 1]; rows follow the paper's results schema (docs/evaluate.md)."""


def register(sub) -> None:
    """Add `clipscale eval` to the top-level parser."""
    from clipscale.cli.zoo import add_filter_options

    p = sub.add_parser("eval", help="zero-shot classification, retrieval and linear probes of checkpoints",
                       description="Evaluate checkpoints like CLIP_benchmark: zero-shot classification (acc1, acc5, "
                                   "mean per-class recall, mAP), retrieval (recall@1/5/10) and linear probes, on the "
                                   "embedded suite, scikit-learn's digits and the paper's benchmarks.",
                       epilog=_EPILOG, formatter_class=RawFormatter)
    what = p.add_argument_group("what to evaluate (one of: --pretrained/--arch, --run, zoo filters)")
    what.add_argument("--arch", help="architecture (ladder-xs ... ladder-xl or any OpenCLIP name); default: the "
                                     "one the checkpoint's run folder names")
    what.add_argument("--pretrained", nargs="+", metavar="PATH",
                      help="checkpoint file(s) (OpenCLIP .pt/.safetensors) or run folders (their last checkpoint), "
                           "or an OpenCLIP pretrained tag of --arch; omitted: random weights (the untrained baseline)")
    what.add_argument("--run", metavar="RUN_DIR", help="a training run folder: every checkpoints/epoch_N.pt, or for a "
                                                       "cool-down run every branch's last checkpoint")
    what.add_argument("--level", type=positive_int, metavar="SAMPLES",
                      help="with --run of a cool-down run: only the branch of this samples-seen level")
    add_filter_options(what)
    what.add_argument("--epoch", type=positive_int, default=None, help="zoo: the intermediate checkpoint after epoch N")
    what.add_argument("--all-epochs", action="store_true", help="zoo: every intermediate checkpoint (learning curve)")
    p.add_argument("--tasks", default=None, help="comma-separated task names or patterns "
                                                 "(default: the embedded suite and digits; see --list-tasks)")
    p.add_argument("--suite", default=None, help="a named suite ('paper': the paper's 38 datasets) read in "
                                                 "CLIP_benchmark's webdataset format from the HF hub (clip-benchmark/wds_*)")
    p.add_argument("--datasets", default=None, help="with --suite: only these datasets (comma-separated)")
    p.add_argument("--list-tasks", nargs="?", const="*", metavar="PATTERN", help="list the tasks and exit")
    p.add_argument("--data-root", default=None, help="folder holding the benchmark datasets: clip_benchmark's "
                                                     "layout (DIR/<dataset>) for --tasks, local webdataset copies "
                                                     "(DIR/wds_<name>, '/' as '-') for --suite (default: the hub)")
    renamed(p, "--dataset-root", "--data-root", "data_root")
    p.add_argument("--out", default=None, help="results CSV to append to (created if absent; rows are never lost)")
    p.add_argument("--limit", type=positive_int, default=None, help="at most N images per task split (quick checks)")
    p.add_argument("--batch-size", type=positive_int, default=256, help="images per forward pass")
    p.add_argument("--device", default="cpu", help="torch device")
    p.add_argument("--upstream-dataset", default=None, help="the training data, for the upstream_dataset column")
    p.add_argument("--name", default=None, help="the name column (default: the checkpoint's file name)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_eval)


def _list(pattern: str) -> int:
    from clipscale.evaluate import get_task, list_tasks

    from clipscale.errors import unknown

    names = list_tasks(pattern)
    if not names:
        raise unknown("task pattern", pattern, list_tasks(), fix="try 'embedded/*', 'linear_probe*' or 'vtab/*'")
    for n in names:
        t = get_task(n)
        print(f"{n:<48} {t.kind:<24} {t.description}")
    return 0


def _targets(args):
    """[(arch, checkpoint, meta)] from --pretrained/--arch or the zoo filters, checked before any heavy import."""
    from clipscale.errors import UserInputError

    meta = {k: v for k, v in (("upstream_dataset", args.upstream_dataset), ("name", args.name)) if v}
    if args.arch or args.pretrained:
        return [_local_target(args.arch, path, meta) for path in (args.pretrained or [None])]
    if not (args.model or args.data or args.samples_seen):
        raise UserInputError("nothing to evaluate; give --pretrained PATH, --run RUN_DIR, --arch (random weights), "
                             "or zoo filters (--model/--data/--samples-seen); see `clipscale eval --help`")
    from clipscale.zoo import CATALOG, download

    out = []
    for entry in CATALOG.filter(model=args.model, data=args.data, samples_seen=args.samples_seen):
        epochs = range(1, entry.epochs + 1) if args.all_epochs else [args.epoch]
        per_epoch = entry.epochs_samples_per_epoch or entry.samples_per_epoch
        for epoch in epochs:
            seen = entry.samples_seen if epoch is None else epoch * per_epoch
            row = {"upstream_dataset": args.upstream_dataset or f"LAION-{entry.data}", "name": args.name or entry.name,
                   "samples_seen": seen, "epoch": epoch if epoch is not None else entry.epochs}
            out.append((entry.arch, download(entry, epoch), row))
    return out


def _local_target(arch: str | None, path: str | None, meta: dict):
    """(arch, checkpoint, meta) of --pretrained PATH: a run folder stands for its last checkpoint and
    names the architecture, as does the run folder a checkpoint file lies in."""
    from clipscale.compute.configs import check_architecture
    from clipscale.errors import NotFoundError, UserInputError
    from clipscale.evaluate.run_folders import checkpoint_point, final_point

    if path is None:  # random weights
        return check_architecture(arch), None, meta
    p = Path(path).expanduser()
    if p.is_dir():
        point = final_point(p, arch=arch)
    elif p.is_file():
        point = checkpoint_point(p, arch)
    elif arch and not _looks_like_a_path(path):
        return check_architecture(arch), path, meta  # an OpenCLIP pretrained tag, checked when loaded
    else:
        raise NotFoundError(f"checkpoint {path} not found; pass a checkpoint file, a run folder, or an OpenCLIP "
                            "pretrained tag with --arch")
    if not point.arch:
        raise UserInputError(f"{p} lies in no run folder that names its architecture; pass --arch")
    return check_architecture(point.arch), str(point.checkpoint), {**point.meta, **meta}


def _looks_like_a_path(text: str) -> bool:
    return any(sep in text for sep in ("/", "\\")) or text.endswith((".pt", ".pth", ".bin", ".safetensors"))


def _check(args) -> None:
    """What to evaluate: one source, its options, its task names (before torch is imported)."""
    from clipscale.errors import UserInputError

    zoo = bool(args.model or args.data or args.samples_seen)
    if args.run and (args.pretrained or zoo):
        raise UserInputError("--run evaluates a run folder's own checkpoints; drop --pretrained and the zoo filters "
                             "(or drop --run)")
    if (args.pretrained or args.arch) and zoo:
        raise UserInputError("give either --pretrained/--arch or zoo filters (--model/--data/--samples-seen), not both")
    if args.level is not None and not args.run:
        raise UserInputError("--level picks a branch of a cool-down run: use it with --run RUN_DIR")
    if (args.epoch is not None or args.all_epochs) and not zoo:
        raise UserInputError("--epoch and --all-epochs pick a zoo run's intermediate checkpoints; for a run folder "
                             "use --run (every epoch) or --pretrained RUN/checkpoints/epoch_N.pt")
    if args.suite:
        from clipscale.evaluate.suite import suite_datasets

        suite_datasets(args.suite, args.datasets)  # unknown names fail before any model is built
    else:
        from clipscale.evaluate.tasks import resolve_tasks

        resolve_tasks(args.tasks)  # unknown task names too


def _eval(args) -> int:
    if args.list_tasks is not None:
        return _list(args.list_tasks)
    _check(args)
    points = None
    if args.run:
        from clipscale.evaluate.run_folders import study_points

        points = study_points(args.run, level=args.level, arch=args.arch)  # folder and names checked
        from clipscale.compute.configs import check_architecture

        check_architecture(points[0].arch)
    targets = None if args.run or args.suite else _targets(args)
    import pandas as pd
    import torch

    from clipscale import evaluate as ev
    from clipscale.evaluate.features import DecodedImages

    if args.device == "cpu" and torch.get_num_threads() > 4:
        torch.set_num_threads(4)  # tiny models: more threads only contend
    common = dict(data_root=args.data_root, device=args.device, batch_size=args.batch_size, limit=args.limit,
                  progress=not args.quiet)
    if args.suite:
        return _suite(args)
    if args.run:
        meta = {k: v for k, v in (("upstream_dataset", args.upstream_dataset), ("name", args.name)) if v}
        df = ev.evaluate_run(args.run, args.tasks, arch=args.arch, meta=meta, level=args.level, **common)
    else:
        decoded = DecodedImages()  # several checkpoints: images rendered or read once
        df = pd.concat([ev.evaluate(arch, ck, args.tasks, meta=meta, decoded=decoded, **common)
                        for arch, ck, meta in targets], ignore_index=True)
    _print(df)
    if args.out:
        ev.append_results(df, args.out)
        print(f"appended {len(df)} row(s) to {args.out}", file=sys.stderr)
    return 0


def _suite(args) -> int:
    """--suite: every target on the suite's datasets; the missing ones named with their reason."""
    import pandas as pd

    from clipscale import evaluate as ev
    from clipscale.evaluate.suite import evaluate_suite

    frames, missing = [], []
    for arch, ck, meta in _targets(args):
        df, miss = evaluate_suite(arch, ck, args.suite, args.datasets, dataset_root=args.data_root,
                                  device=args.device, batch_size=args.batch_size, meta=meta, limit=args.limit,
                                  progress=not args.quiet)
        frames.append(df)
        missing.extend(miss)
    df = pd.concat(frames, ignore_index=True)
    _print(df)
    for m in missing:
        print(f"clipscale: missing {m.dataset}: {m.reason}", file=sys.stderr)
    if args.out and len(df):
        ev.append_results(df, args.out)
        print(f"appended {len(df)} row(s) to {args.out}", file=sys.stderr)
    return 0


def _print(df) -> None:
    cols = ["name", "epoch", "level", "eval_task", "acc1", "acc5", "mean_per_class_recall", "mean_average_precision",
            "image_retrieval_recall@5", "text_retrieval_recall@5", "n_images"]
    show = df[[c for c in cols if c in df.columns]].dropna(axis=1, how="all")
    if "level" in show:
        show = show.astype({"level": "Int64"})  # samples seen, a count
    print(show.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
