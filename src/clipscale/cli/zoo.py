"""`clipscale zoo list|download`: the paper's checkpoints, listed and fetched (verified) from the hub."""
from __future__ import annotations

import csv
import io
import json
import sys

from clipscale.cli._parsing import RawFormatter, actions, positive_int

_LIST_COLUMNS = ("name", "arch", "data", "samples_seen", "samples_seen_bucket", "epochs", "lr", "warmup_steps",
                 "global_batch_size", "gmacs", "gmacs_total", "filename")


def add_filter_options(p, several: bool = True) -> None:
    """--model/--data/--samples-seen; with `several`, each takes one value or more (any of them)."""
    nargs = "+" if several else None
    p.add_argument("--model", nargs=nargs, metavar="ARCH", help="architecture: ViT-B-32 ViT-B-16 ViT-L-14 ViT-H-14 ViT-g-14")
    p.add_argument("--data", nargs=nargs, metavar="DATA", help="LAION subset: 80M 400M 2B")
    p.add_argument("--samples-seen", nargs=nargs, metavar="N", help="samples seen bucket: 3B 13B 34B")


def add_hub_options(p) -> None:
    p.add_argument("--revision", default=None, help="branch, tag or commit of the hub repo to pin (default: main)")
    p.add_argument("--cache-dir", default=None, help="huggingface_hub cache folder (default: HF_HUB_CACHE)")


def register(sub) -> None:
    """Add this stage's subcommands to the top-level parser."""
    zoo = sub.add_parser("zoo", help="list and download the paper's 29 checkpoints",
                         description="The paper's trained checkpoints (Cherti et al. 2023) on the Hugging Face Hub. "
                                     "Offline: HF_HUB_OFFLINE=1 uses the cache only; HF_ENDPOINT names a mirror.")
    zsub = actions(zoo, "zoo_command")

    ls = zsub.add_parser("list", help="list checkpoints (filters combine; each takes several values)",
                         description="List the catalog. gmacs is per sample (one image + one text forward), "
                                     "samples_seen is exact (epochs x samples per epoch).",
                         epilog="examples:\n  clipscale zoo list --model ViT-B-32 --samples-seen 34B\n"
                                "  clipscale zoo list --data 2B --format csv", formatter_class=RawFormatter)
    add_filter_options(ls)
    ls.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format")
    ls.set_defaults(func=_list)

    dl = zsub.add_parser("download", help="download checkpoints, verified against the hub's sha256",
                         description="Download the selected checkpoints through huggingface_hub (progress bar, "
                                     "cache, resume of a dropped connection) and verify each against the hub's "
                                     "sha256. Prints one local path per line. Offline: HF_HUB_OFFLINE=1 uses "
                                     "the cache only; HF_ENDPOINT names a mirror.",
                         epilog="examples:\n  clipscale zoo download --model ViT-B-32 --data 80M --samples-seen 3B\n"
                                "  clipscale zoo download --model ViT-B-32 --data 80M --samples-seen 3B --epoch 1 "
                                "--dest ckpts", formatter_class=RawFormatter)
    add_filter_options(dl)
    dl.add_argument("--all", action="store_true", help="select all 29 checkpoints when no filter is given")
    which = dl.add_mutually_exclusive_group()
    which.add_argument("--epoch", type=positive_int, default=None, help="the intermediate checkpoint after epoch N")
    which.add_argument("--all-epochs", action="store_true", help="every intermediate checkpoint (1 ... epochs)")
    dl.add_argument("--dest", default=None, help="also place each file under this folder (hub layout kept)")
    add_hub_options(dl)
    dl.set_defaults(func=_download)


def _selected(args):
    from clipscale.errors import UserInputError
    from clipscale.zoo import CATALOG

    if not (args.model or args.data or args.samples_seen or getattr(args, "all", True)):
        raise UserInputError("no checkpoint selected; give --model, --data and/or --samples-seen "
                             "(or --all for all 29, several hundred GB)")
    return CATALOG.filter(model=args.model, data=args.data, samples_seen=args.samples_seen)


def _list(args) -> int:
    rows = [_list_row(e) for e in _selected(args)]
    if args.format == "json":
        print(json.dumps(rows, indent=2))
    elif args.format == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=_LIST_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        sys.stdout.write(out.getvalue())
    else:
        print(f"{'arch':<9} {'data':>5} {'samples':>7} {'samples_seen':>14} {'epochs':>6} {'lr':>7} {'batch':>6} "
              f"{'GMACs/sample':>12}  name")
        for r in rows:
            print(f"{r['arch']:<9} {r['data']:>5} {r['samples_seen_bucket']:>7} {r['samples_seen']:>14,d} "
                  f"{r['epochs']:>6} {r['lr']:>7g} {r['global_batch_size']:>6} {r['gmacs']:>12.2f}  {r['name']}")
    return 0


def _list_row(entry) -> dict:
    row = entry.row()
    return {k: row[k] for k in _LIST_COLUMNS}


def _download(args) -> int:
    from clipscale.errors import NotFoundError
    from clipscale.zoo import download

    missing = []
    for entry in _selected(args):
        epochs = range(1, entry.epochs + 1) if args.all_epochs else [args.epoch]
        for epoch in epochs:
            try:
                path = download(entry, epoch, revision=args.revision, cache_dir=args.cache_dir, dest=args.dest)
            except NotFoundError:
                if not args.all_epochs:
                    raise
                missing.append(f"{entry.name} epoch {epoch}")
                continue
            print(path, flush=True)
    if missing:
        print(f"clipscale: {len(missing)} checkpoint(s) are not published on the hub and were skipped: "
              f"{', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}", file=sys.stderr)
        return 1
    return 0
