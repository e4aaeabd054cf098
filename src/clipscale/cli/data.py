"""`clipscale data prepare URL_LIST --out DIR`: download a URL list into webdataset shards."""
from __future__ import annotations

import argparse

from clipscale.cli._parsing import RawFormatter, actions, positive_float, positive_int, renamed

_EPILOG = """example (a LAION or Re-LAION list: columns URL and TEXT, or url and caption; others: --url-col, --caption-col):
  clipscale data prepare urls.parquet --out shards
then: clipscale train --arch ladder-s --data-size N --samples-seen S --train-data 'shards/{00000..0000K}.tar'
(the exact pattern and N are printed at the end, and kept in shards/stats.json)."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="prepare training data (URL list -> webdataset shards)",
                       description="Prepare real training data: a LAION-style URL + caption list downloaded into "
                                   "webdataset tar shards with img2dataset (docs/data.md).")
    dsub = actions(p, "data_command")
    q = dsub.add_parser("prepare", help="download a LAION/Re-LAION URL list with img2dataset",
                        description="Download the images of a URL list into NNNNN.tar webdataset shards "
                                    "(img2dataset as a library) and write stats.json: fetched, failed and the "
                                    "shard pattern for `clipscale train --train-data`.",
                        epilog=_EPILOG, formatter_class=RawFormatter)
    q.add_argument("url_list", metavar="URL_LIST", help="parquet, csv, tsv or txt file of URLs")
    q.add_argument("--out", required=True, help="output folder for NNNNN.tar shards and stats.json")
    q.add_argument("--url-col", default=None, help="url column (default: URL, else url: LAION, Re-LAION)")
    q.add_argument("--caption-col", default=None, help="caption column (default: TEXT, else caption, else text)")
    q.add_argument("--image-size", type=positive_int, default=256, help="side in pixels")
    q.add_argument("--processes", type=positive_int, default=1, help="img2dataset worker processes")
    q.add_argument("--download-threads", dest="threads", type=positive_int, default=16,
                   help="download threads per process")
    renamed(q, "--threads", "--download-threads", "threads", type=positive_int)
    q.add_argument("--samples-per-shard", type=positive_int, default=10_000, help="URLs per shard")
    q.add_argument("--timeout", type=positive_float, default=10.0,
                   help="per-URL timeout in seconds, rounded up to whole seconds")
    q.add_argument("--quiet", action="store_true", help="no progress bar")
    renamed(q, "--no-progress", "--quiet", "quiet", flag=True)
    q.set_defaults(func=_prepare)


def _prepare(args: argparse.Namespace) -> int:
    from pathlib import Path

    from clipscale.errors import UserInputError

    if not Path(args.url_list).is_file():
        raise UserInputError(f"URL list {args.url_list} not found; give a parquet, csv, tsv or txt file of URLs")
    from clipscale.data.prepare import prepare, summary_line

    stats = prepare(args.url_list, args.out, image_size=args.image_size, processes=args.processes,
                    threads=args.threads, samples_per_shard=args.samples_per_shard,
                    url_col=args.url_col, caption_col=args.caption_col, timeout_s=args.timeout,
                    progress=not args.quiet)
    print(summary_line(stats))
    return 0
