"""`clipscale finetune`: fine-tune a checkpoint's image tower on a classification task (eval_type finetune)."""
from __future__ import annotations

import sys

from clipscale.cli._parsing import RawFormatter, positive_float, positive_int

_EPILOG = """examples:
  clipscale finetune runs/xs --task embedded/shape --out ft/xs --epochs 1 --limit 256    (a run folder: its last epoch)
  clipscale finetune runs/xs/checkpoints/epoch_1.pt --task digits --out ft/xs1 --epochs 1 --limit 256
  clipscale finetune runs/cool --task digits --out ft/cool --train-images 100 --epochs 1 --limit 256
      (a cool-down run: its largest level's branch; --level L for another)
  clipscale finetune Model-B-32_Data-80M_Samples-3B_lr-5e-4_bs-32k --task digits --out ft/b32 --epochs 1 --limit 128
      (a zoo name, see `clipscale zoo list`)
  clipscale finetune runs/xs --task digits --out ft/xs-zs --head-init zeroshot --wise-alpha 0.5 --epochs 1 --limit 256
The head starts as a linear probe of the training images (LP-FT, the default: it measured best,
docs/evaluate.md), or as the zero-shot classifier (--head-init zeroshot). An embedded task is the one
of the world the checkpoint's run was trained in. A kill (even SIGKILL) loses at most one epoch:
rerun the same command to continue with the same numbers. Writes OUT/results.csv (one row, the
paper's schema, task = eval_type = finetune), OUT/finetuned.pt (OpenCLIP format plus the head) and
OUT/checkpoints/epoch_N.pt; accuracies are fractions in [0, 1]."""


def register(sub) -> None:
    """Add `clipscale finetune` to the top-level parser; the recipe's defaults are Recipe's."""
    from clipscale.evaluate.recipe import HEAD_INITS, Recipe

    d = Recipe()
    p = sub.add_parser("finetune", help="fine-tune a checkpoint on a task and report its top-1 (4th task family)",
                       description="End-to-end fine-tuning of the image tower with a head initialised from a "
                                   "linear probe (LP-FT) or the zero-shot classifier; AdamW, linear warmup then "
                                   "cosine; optional WiSE-FT.",
                       epilog=_EPILOG, formatter_class=RawFormatter)
    p.add_argument("checkpoint", help="a checkpoint file (OpenCLIP .pt/.safetensors), a run folder (plain: its last "
                                      "epoch; cool-down: its largest level), a zoo name, or ARCH/TAG (an OpenCLIP "
                                      "pretrained tag)")
    p.add_argument("--arch", default=None, help="architecture (default: the run's spec.json or the zoo entry's)")
    p.add_argument("--level", type=positive_int, default=None, metavar="SAMPLES",
                   help="a cool-down run: the branch of this samples-seen level (default: the largest)")
    p.add_argument("--task", required=True, help="classification task with a train split (embedded/objects, digits...)")
    p.add_argument("--out", required=True, help="output folder (results.csv, finetuned.pt, checkpoints/)")
    r = p.add_argument_group("recipe")
    r.add_argument("--epochs", type=positive_int, default=d.epochs, help="passes over the train split")
    r.add_argument("--samples", type=positive_int, default=d.samples, help="total training images instead of --epochs")
    r.add_argument("--lr", type=positive_float, default=d.lr, help="peak AdamW learning rate")
    r.add_argument("--weight-decay", type=float, default=d.weight_decay, help="AdamW weight decay")
    r.add_argument("--warmup", type=float, default=d.warmup, help="warmup as a fraction of all steps, then cosine to 0")
    r.add_argument("--batch-size", type=positive_int, default=d.batch_size, help="images per step")
    r.add_argument("--precision", default=d.precision, choices=("fp32", "bf16"), help="fp32 or bf16 autocast")
    r.add_argument("--label-smoothing", type=float, default=d.label_smoothing,
                   help="cross-entropy label smoothing in [0, 1)")
    r.add_argument("--wise-alpha", type=float, default=d.wise_alpha,
                   help="WiSE-FT: 0 = the weights at step 0, 1 = the fine-tuned weights")
    r.add_argument("--head-init", default=d.head_init, choices=HEAD_INITS,
                   help="the head at step 0: probe (a linear probe on the training images, then fine-tune: LP-FT, "
                        "Kumar et al. 2022; measured best) or zeroshot (the text classifier)")
    r.add_argument("--seed", type=int, default=d.seed, help="seed of the data order")
    r.add_argument("--limit", type=positive_int, default=d.limit, help="at most N images per split (quick runs)")
    r.add_argument("--train-images", type=positive_int, default=d.train_images,
                   help="at most N training images, the first of the train split (limited downstream data)")
    p.add_argument("--device", default="cpu", help="torch device")
    p.add_argument("--upstream-dataset", default=None, help="the pre-training data, for upstream_dataset")
    p.add_argument("--name", default=None, help="the name column")
    p.add_argument("--probe", action="store_true",
                   help="also a linear probe of the pre-trained features on the same images (linear_probe_acc1)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_finetune)


def resolve_checkpoint(checkpoint: str, arch: str | None, level: int | None = None) -> tuple[str, object, dict]:
    """(arch, weights, meta) of a file, run folder, zoo name or ARCH/TAG; files, names and folders are
    checked here (no torch), the zoo file downloaded."""
    from pathlib import Path

    from clipscale.compute.configs import check_architecture
    from clipscale.errors import UserInputError
    from clipscale.evaluate.run_folders import checkpoint_point, final_point

    path = Path(checkpoint).expanduser()
    if path.is_dir() or path.is_file():
        point = final_point(path, level=level, arch=arch) if path.is_dir() else checkpoint_point(path, arch)
        if level is not None and path.is_file():
            raise UserInputError("--level picks a branch of a cool-down run folder; drop it for a checkpoint file")
        if not point.arch:
            raise UserInputError(f"{path} is a checkpoint file outside a run folder; pass the --arch it was trained with")
        return check_architecture(point.arch), point.checkpoint, point.meta
    if level is not None:
        raise UserInputError(f"--level picks a branch of a cool-down run folder; {checkpoint} is none")
    from clipscale.zoo import CATALOG, download

    entry = next((e for e in CATALOG.filter() if e.name == checkpoint), None)
    if entry is not None:
        return arch or entry.arch, download(entry, None), {"upstream_dataset": f"LAION-{entry.data}",
                                                           "samples_seen": entry.samples_seen}
    if checkpoint.endswith((".pt", ".pth", ".bin", ".safetensors")) or checkpoint.startswith(("/", ".", "~")):
        from clipscale.errors import NotFoundError

        raise NotFoundError(f"checkpoint {checkpoint} not found; pass a checkpoint file or a run folder")
    if "/" in checkpoint and not arch:
        arch, checkpoint = checkpoint.split("/", 1)
    if not arch:
        from clipscale.errors import unknown

        raise unknown("checkpoint", checkpoint, [e.name for e in CATALOG.filter()],
                      fix="pass a checkpoint file, a run folder, a name from `clipscale zoo list`, or ARCH/TAG")
    return check_architecture(arch), checkpoint, {}


def _finetune(args) -> int:
    from clipscale.evaluate.recipe import Recipe

    recipe = Recipe(epochs=args.epochs, samples=args.samples, lr=args.lr, weight_decay=args.weight_decay,
                    warmup=args.warmup, batch_size=args.batch_size, precision=args.precision,
                    label_smoothing=args.label_smoothing, wise_alpha=args.wise_alpha, seed=args.seed,
                    limit=args.limit, train_images=args.train_images, head_init=args.head_init)
    recipe.check()
    from clipscale.evaluate.tasks import resolve_tasks

    resolve_tasks(args.task)  # a wrong task name fails before anything heavy is imported
    arch, weights, meta = resolve_checkpoint(args.checkpoint, args.arch, args.level)
    from clipscale.evaluate.finetune import finetune_task

    finetune_task(args.task)  # a task without a train split fails before any model is built
    meta.update({k: v for k, v in (("upstream_dataset", args.upstream_dataset), ("name", args.name)) if v})
    from clipscale.evaluate.transfer import finetune_checkpoint, write_results

    df = finetune_checkpoint(arch, weights, args.task, args.out, recipe, device=args.device, meta=meta,
                             probe=args.probe, progress=not args.quiet)
    path = write_results(df, args.out)
    r = df.iloc[0]
    probe = f"  linear-probe acc1 {r['linear_probe_acc1']:.4f}" if args.probe else ""
    print(f"{r['name']}  {args.task}  zero-shot acc1 {r['zeroshot_acc1']:.4f}{probe}  fine-tuned acc1 {r['acc1']:.4f}  "
          f"(head init {recipe.head_init}; n_test={int(r['n_images'])}, n_train={int(r['train_images'])})")
    print(f"wrote {path}", file=sys.stderr)
    return 0
