"""`clipscale classify IMAGE...`: zero-shot labels of images with a zoo checkpoint or a local one."""
from __future__ import annotations

import json

from clipscale.cli.zoo import add_filter_options, add_hub_options


def register(sub) -> None:
    """Add this stage's subcommands to the top-level parser."""
    p = sub.add_parser(
        "classify",
        help="zero-shot classify images with a zoo checkpoint or a local one",
        description="Zero-shot classification: each image against prompts built from the labels "
                    "(ImageNet's 1,000 classes and CLIP's 80 templates by default). Select a zoo "
                    "checkpoint with --model/--data/--samples-seen [--epoch], or give --arch and --pretrained.",
    )
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files")
    add_filter_options(p, several=False)
    p.add_argument("--epoch", type=int, default=None, help="use the zoo run's checkpoint after epoch N")
    p.add_argument("--arch", default=None, help="OpenCLIP architecture of a local checkpoint (with --pretrained)")
    p.add_argument("--pretrained", default=None, help="local checkpoint file (.pt or .safetensors)")
    p.add_argument("--labels", default="imagenet", help="'imagenet' (default) or a text file, one label per line")
    p.add_argument("--templates", default="openai", choices=("openai", "simple", "none"),
                   help="prompt templates: CLIP's 80 (openai, default), simple, or none (the label alone)")
    p.add_argument("--top", type=int, default=5, help="how many labels to show per image (default 5)")
    p.add_argument("--json", action="store_true", help="print JSON (probabilities as fractions) instead of text")
    add_hub_options(p)
    p.set_defaults(func=_run)


def _run(args) -> int:
    from clipscale.zoo.classify import classify, read_labels

    from pathlib import Path

    from clipscale.errors import UserInputError

    missing = [i for i in args.images if not Path(i).is_file()]
    if missing:  # before any download
        raise UserInputError(f"image(s) not found: {', '.join(missing[:5])}; give paths of image files")
    labels = read_labels(args.labels)
    model, preprocess, tokenizer = _model(args)
    predictions = classify(model, preprocess, tokenizer, args.images, labels, template_set=args.templates, top=args.top)
    if args.json:
        print(json.dumps([p.to_dict() for p in predictions], indent=2))
        return 0
    for p in predictions:
        print(p.image)
        for label, prob in zip(p.labels, p.probs):
            print(f"  {100 * prob:6.2f}%  {label}")
    return 0


def _model(args):
    from clipscale.errors import UserInputError
    from clipscale.zoo import load
    from clipscale.zoo.loading import load_pretrained

    zoo_given = bool(args.model or args.data or args.samples_seen or args.epoch is not None)
    if args.pretrained or args.arch:
        if zoo_given or not (args.pretrained and args.arch):
            raise UserInputError("give either --arch A --pretrained PATH (both) or zoo filters "
                                 "(--model/--data/--samples-seen), not a mix")
        return load_pretrained(args.arch, args.pretrained)
    if not zoo_given:
        raise UserInputError("no model given; select a zoo checkpoint with --model, --data and --samples-seen "
                             "(see `clipscale zoo list`) or give --arch and --pretrained")
    return load(model=args.model, data=args.data, samples_seen=args.samples_seen, epoch=args.epoch,
                revision=args.revision, cache_dir=args.cache_dir)
