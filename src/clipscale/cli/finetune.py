"""`clipscale finetune`: fine-tune a checkpoint's image tower on a classification task (eval_type finetune)."""
from __future__ import annotations

import sys

_EPILOG = """examples:
  clipscale finetune runs/xs/checkpoints/epoch_4.pt --arch ladder-xs --task embedded/objects --out ft/xs
  clipscale finetune RN50/openai --task embedded/shape --out ft/rn50 --epochs 1 --limit 256
  clipscale finetune ladder-s-2M --task digits --out ft/s --wise-alpha 0.5         (a zoo name)
  clipscale finetune runs/xs --task digits --out ft/xs-run        (a run folder: its last epoch_N.pt)
  clipscale finetune runs/xs --task digits --out ft/xs-300 --train-images 300 --epochs 10 --lr 1e-3 --probe
  clipscale finetune runs/xs --task digits --out ft/xs-lpft --train-images 300 --head-init probe   (LP-FT)
a kill (even SIGKILL) loses at most one epoch: rerun the same command to continue with the same numbers.
writes OUT/results.csv (one row, the paper's schema, task = eval_type = finetune), OUT/finetuned.pt
(OpenCLIP format plus the head) and OUT/checkpoints/epoch_N.pt; accuracies are fractions in [0, 1]."""


def register(sub) -> None:
    """Add `clipscale finetune` to the top-level parser."""
    import argparse

    p = sub.add_parser("finetune", help="fine-tune a checkpoint on a task and report its top-1 (4th task family)",
                       description="End-to-end fine-tuning of the image tower with a head initialised from the "
                                   "zero-shot classifier or a linear probe (LP-FT); AdamW, linear warmup then "
                                   "cosine; optional WiSE-FT.",
                       epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", help="a checkpoint file (OpenCLIP .pt/.safetensors), a run folder (its last "
                                      "epoch), a zoo name, or ARCH/TAG (an OpenCLIP pretrained tag)")
    p.add_argument("--arch", default=None, help="architecture (default: the run's spec.json or the zoo entry's)")
    p.add_argument("--task", required=True, help="classification task with a train split (embedded/objects, digits...)")
    p.add_argument("--out", required=True, help="output folder (results.csv, finetuned.pt, checkpoints/)")
    r = p.add_argument_group("recipe")
    r.add_argument("--epochs", type=int, default=2, help="passes over the train split (default: 2)")
    r.add_argument("--samples", type=int, default=None, help="total training images instead of --epochs")
    r.add_argument("--lr", type=float, default=1e-4, help="peak AdamW learning rate (default: 1e-4)")
    r.add_argument("--weight-decay", type=float, default=0.1, help="AdamW weight decay (default: 0.1)")
    r.add_argument("--warmup", type=float, default=0.1, help="warmup as a fraction of all steps, then cosine to 0")
    r.add_argument("--batch-size", type=int, default=64, help="images per step (default: 64)")
    r.add_argument("--precision", default="fp32", choices=("fp32", "bf16"), help="fp32 or bf16 autocast")
    r.add_argument("--label-smoothing", type=float, default=0.0, help="cross-entropy label smoothing in [0, 1)")
    r.add_argument("--wise-alpha", type=float, default=1.0, help="WiSE-FT: 0 = zero-shot, 1 = fine-tuned weights")
    r.add_argument("--head-init", default="zeroshot",
                   help="the head at step 0: zeroshot (the text classifier, default) or probe (a linear probe "
                        "on the training images, then fine-tune: LP-FT, Kumar et al. 2022)")
    r.add_argument("--seed", type=int, default=0, help="seed of the data order (default: 0)")
    r.add_argument("--limit", type=int, default=None, help="at most N images per split (quick runs)")
    r.add_argument("--train-images", type=int, default=None,
                   help="at most N training images, the first of the train split (limited downstream data)")
    p.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    p.add_argument("--upstream-dataset", default=None, help="the pre-training data, for upstream_dataset")
    p.add_argument("--name", default=None, help="the name column")
    p.add_argument("--probe", action="store_true",
                   help="also a linear probe of the pre-trained features on the same images (linear_probe_acc1)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_finetune)


def resolve_checkpoint(checkpoint: str, arch: str | None) -> tuple[str, object, dict]:
    """(arch, weights, meta) of a file, run folder, zoo name or ARCH/TAG, via the existing loaders."""
    from pathlib import Path

    from clipscale.errors import UserInputError

    path = Path(checkpoint)
    if path.is_dir():
        from clipscale.evaluate.checkpoints import epoch_files, run_arch, run_meta, run_spec

        spec = run_spec(path)
        return run_arch(path, spec, arch), epoch_files(path)[-1][1], run_meta(path, spec)
    if path.exists():
        if not arch:
            raise UserInputError(f"{path} is a checkpoint file; pass the --arch it was trained with")
        return arch, path, {}
    from clipscale.zoo import CATALOG, download

    entry = next((e for e in CATALOG.filter() if e.name == checkpoint), None)
    if entry is not None:
        return arch or entry.arch, download(entry, None), {"upstream_dataset": f"LAION-{entry.data}",
                                                           "samples_seen": entry.samples_seen}
    if "/" in checkpoint and not arch:
        arch, checkpoint = checkpoint.split("/", 1)
    if not arch:
        raise UserInputError(f"checkpoint {checkpoint!r} is no file, run folder or zoo name; pass a path, "
                             "a run folder, a name from `clipscale zoo list`, or ARCH/TAG")
    return arch, checkpoint, {}


def _finetune(args) -> int:
    from clipscale.evaluate.finetune import Recipe

    recipe = Recipe(epochs=args.epochs, samples=args.samples, lr=args.lr, weight_decay=args.weight_decay,
                    warmup=args.warmup, batch_size=args.batch_size, precision=args.precision,
                    label_smoothing=args.label_smoothing, wise_alpha=args.wise_alpha, seed=args.seed,
                    limit=args.limit, train_images=args.train_images, head_init=args.head_init)
    recipe.check()
    from clipscale.evaluate.finetune import finetune_task

    finetune_task(args.task)  # a wrong task fails before any model is built
    arch, weights, meta = resolve_checkpoint(args.checkpoint, args.arch)
    meta.update({k: v for k, v in (("upstream_dataset", args.upstream_dataset), ("name", args.name)) if v})
    from clipscale.evaluate.transfer import finetune_checkpoint, write_results

    df = finetune_checkpoint(arch, weights, args.task, args.out, recipe, device=args.device, meta=meta,
                             probe=args.probe, progress=not args.quiet)
    path = write_results(df, args.out)
    r = df.iloc[0]
    probe = f"  linear-probe acc1 {r['linear_probe_acc1']:.4f}" if args.probe else ""
    print(f"{r['name']}  {args.task}  zero-shot acc1 {r['zeroshot_acc1']:.4f}{probe}  fine-tuned acc1 {r['acc1']:.4f}  "
          f"(n_test={int(r['n_images'])}, n_train={int(r['train_images'])})")
    print(f"wrote {path}", file=sys.stderr)
    return 0
