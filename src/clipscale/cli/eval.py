"""`clipscale eval`: evaluate checkpoints (ours, a run's epochs, or the zoo's) with the paper's protocol."""
from __future__ import annotations

import sys

_EPILOG = """examples:
  clipscale eval --arch ladder-xs --pretrained runs/xs/checkpoints/epoch_4.pt --out results.csv
  clipscale eval --run runs/xs --tasks embedded/objects,digits --out curves.csv      (every epoch_N.pt)
  clipscale eval --model ViT-B-32 --data 2B --samples-seen 34B --tasks imagenet1k --data-root ~/datasets
  clipscale eval --list-tasks 'embedded/*'
metrics are fractions in [0, 1]; rows follow the paper's results schema (docs/evaluate.md)."""


def register(sub) -> None:
    """Add `clipscale eval` to the top-level parser."""
    from clipscale.cli.zoo import add_filter_options

    p = sub.add_parser("eval", help="zero-shot classification, retrieval and linear probes of checkpoints",
                       description="Evaluate checkpoints like CLIP_benchmark: zero-shot classification (acc1, acc5, "
                                   "mean per-class recall, mAP), retrieval (recall@1/5/10) and linear probes, on the "
                                   "embedded suite, scikit-learn's digits and the paper's benchmarks.",
                       epilog=_EPILOG, formatter_class=_formatter())
    what = p.add_argument_group("what to evaluate (one of: --arch [--pretrained], --run, zoo filters)")
    what.add_argument("--arch", help="architecture (ladder-xs ... ladder-xl or any OpenCLIP name)")
    what.add_argument("--pretrained", nargs="+", metavar="PATH",
                      help="checkpoint file(s) (OpenCLIP .pt/.safetensors) or an OpenCLIP pretrained tag; "
                           "omitted: random weights (the untrained baseline)")
    what.add_argument("--run", metavar="RUN_DIR", help="a training run folder: evaluate every checkpoints/epoch_N.pt")
    add_filter_options(what)
    what.add_argument("--epoch", type=int, default=None, help="zoo: the intermediate checkpoint after epoch N")
    what.add_argument("--all-epochs", action="store_true", help="zoo: every intermediate checkpoint (learning curve)")
    p.add_argument("--tasks", default=None, help="comma-separated task names or patterns "
                                                 "(default: the embedded suite and digits; see --list-tasks)")
    p.add_argument("--suite", default=None, help="a named suite ('paper': the paper's 38 datasets) read in "
                                                 "CLIP_benchmark's webdataset format from the HF hub (clip-benchmark/wds_*)")
    p.add_argument("--datasets", default=None, help="with --suite: only these datasets (comma-separated)")
    p.add_argument("--dataset-root", default=None, help="with --suite: local copies (DIR/wds_<name>, '/' as '-') "
                                                        "instead of the hub")
    p.add_argument("--list-tasks", nargs="?", const="*", metavar="PATTERN", help="list the tasks and exit")
    p.add_argument("--data-root", default=None, help="folder holding the benchmark datasets in clip_benchmark's "
                                                     "layout (DIR/<dataset>), needed for the paper's benchmarks")
    p.add_argument("--out", default=None, help="results CSV to append to (created if absent; rows are never lost)")
    p.add_argument("--limit", type=int, default=None, help="at most N images per task split (quick checks)")
    p.add_argument("--batch-size", type=int, default=256, help="images per forward pass (default: 256)")
    p.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    p.add_argument("--upstream-dataset", default=None, help="the training data, for the upstream_dataset column")
    p.add_argument("--name", default=None, help="the name column (default: the checkpoint's file name)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_eval)


def _formatter():
    import argparse

    return argparse.RawDescriptionHelpFormatter


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
    """[(arch, checkpoint, meta)] from --arch/--pretrained or the zoo filters."""
    from clipscale.errors import UserInputError

    if args.arch:
        meta = {k: v for k, v in (("upstream_dataset", args.upstream_dataset), ("name", args.name)) if v}
        return [(args.arch, path, meta) for path in (args.pretrained or [None])]
    if not (args.model or args.data or args.samples_seen):
        raise UserInputError("nothing to evaluate; give --arch [--pretrained PATH], --run RUN_DIR, or zoo filters "
                             "(--model/--data/--samples-seen); see `clipscale eval --help`")
    from clipscale.zoo import CATALOG, download

    out = []
    for entry in CATALOG.filter(model=args.model, data=args.data, samples_seen=args.samples_seen):
        epochs = range(1, entry.epochs + 1) if args.all_epochs else [args.epoch]
        per_epoch = entry.epochs_samples_per_epoch or entry.samples_per_epoch
        for epoch in epochs:
            seen = entry.samples_seen if epoch is None else epoch * per_epoch
            meta = {"upstream_dataset": args.upstream_dataset or f"LAION-{entry.data}", "name": args.name or entry.name,
                    "samples_seen": seen, "epoch": epoch if epoch is not None else entry.epochs}
            out.append((entry.arch, download(entry, epoch), meta))
    return out


def _eval(args) -> int:
    from clipscale.errors import UserInputError

    if args.list_tasks is not None:
        return _list(args.list_tasks)
    if args.limit is not None and args.limit < 1:
        raise UserInputError(f"--limit must be a positive number of images, got {args.limit}")
    if args.batch_size < 1:
        raise UserInputError(f"--batch-size must be positive, got {args.batch_size}")
    import pandas as pd
    import torch

    from clipscale import evaluate as ev
    from clipscale.evaluate.features import DecodedImages

    ev.resolve_tasks(args.tasks)  # unknown task names fail before any model is built
    if args.device == "cpu" and torch.get_num_threads() > 4:
        torch.set_num_threads(4)  # tiny models: more threads only contend
    common = dict(data_root=args.data_root, device=args.device, batch_size=args.batch_size, limit=args.limit,
                  progress=not args.quiet)
    if args.run and (args.pretrained or args.model or args.data or args.samples_seen):
        raise UserInputError("--run evaluates a run folder's own checkpoints; drop --pretrained and the zoo filters "
                             "(or drop --run)")
    if args.suite:
        return _suite(args)
    if args.run:
        meta = {k: v for k, v in (("upstream_dataset", args.upstream_dataset), ("name", args.name)) if v}
        df = ev.evaluate_run(args.run, args.tasks, arch=args.arch, meta=meta, **common)
    else:
        decoded = DecodedImages()  # several checkpoints: images rendered or read once
        df = pd.concat([ev.evaluate(arch, ck, args.tasks, meta=meta, decoded=decoded, **common)
                        for arch, ck, meta in _targets(args)], ignore_index=True)
    _print(df)
    if args.out:
        ev.append_results(df, args.out)
        print(f"appended {len(df)} row(s) to {args.out}", file=sys.stderr)
    return 0


def _suite(args) -> int:
    """--suite: every target on the suite's datasets; the missing ones named with their reason."""
    import pandas as pd

    from clipscale import evaluate as ev
    from clipscale.evaluate.suite import evaluate_suite, suite_datasets

    suite_datasets(args.suite, args.datasets)  # unknown names fail before any model is built
    frames, missing = [], []
    for arch, ck, meta in _targets(args):
        df, miss = evaluate_suite(arch, ck, args.suite, args.datasets, dataset_root=args.dataset_root,
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
    cols = ["name", "epoch", "eval_task", "acc1", "acc5", "mean_per_class_recall", "mean_average_precision",
            "image_retrieval_recall@5", "text_retrieval_recall@5", "n_images"]
    show = df[[c for c in cols if c in df.columns]].dropna(axis=1, how="all")
    print(show.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
