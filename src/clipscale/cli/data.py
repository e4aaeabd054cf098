"""`clipscale data prepare URL_LIST --out DIR`: download a URL list into webdataset shards."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="prepare training data (URL list -> webdataset shards)")
    dsub = p.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True)
    q = dsub.add_parser("prepare", help="download a LAION/Re-LAION URL list with img2dataset")
    q.add_argument("url_list", metavar="URL_LIST", help="parquet, csv, tsv or txt file of URLs")
    q.add_argument("--out", required=True, help="output folder for NNNNN.tar shards and stats.json")
    q.add_argument("--url-col", default=None, help="url column (default: URL, else url: LAION, Re-LAION)")
    q.add_argument("--caption-col", default=None, help="caption column (default: TEXT, else caption, else text)")
    q.add_argument("--image-size", type=int, default=256, help="side in pixels (default 256)")
    q.add_argument("--processes", type=int, default=1, help="img2dataset worker processes (default 1)")
    q.add_argument("--threads", type=int, default=16, help="download threads per process (default 16)")
    q.add_argument("--samples-per-shard", type=int, default=10_000, help="URLs per shard (default 10000)")
    q.add_argument("--timeout", type=float, default=10.0, help="per-URL timeout in seconds, rounded up to whole seconds (default 10)")
    q.add_argument("--no-progress", action="store_true", help="no progress bar")
    q.set_defaults(func=_prepare)


def _prepare(args: argparse.Namespace) -> int:
    from clipscale.data.prepare import prepare, summary_line
    stats = prepare(args.url_list, args.out, image_size=args.image_size, processes=args.processes,
                    threads=args.threads, samples_per_shard=args.samples_per_shard,
                    url_col=args.url_col, caption_col=args.caption_col, timeout_s=args.timeout, progress=not args.no_progress)
    print(summary_line(stats))
    return 0
