"""`clipscale classify IMAGE...`: zero-shot labels of images with a zoo checkpoint or a local one."""
from __future__ import annotations

import json
from pathlib import Path

from clipscale.cli._parsing import RawFormatter, positive_int
from clipscale.cli.zoo import add_filter_options, add_hub_options

_EPILOG = """examples:
  clipscale classify photo.png --model ViT-B-32 --data 80M --samples-seen 3B --templates simple --top 3
  clipscale classify a.png b.png --pretrained runs/xs --labels "red circle,blue square"  (a run: its last checkpoint)
  clipscale classify a.png --pretrained runs/cool --labels embedded/colour --templates simple
  clipscale classify a.png --pretrained runs/xs/checkpoints/epoch_1.pt --labels labels.txt --json
The first is a zoo checkpoint on ImageNet's 1,000 classes with 7 prompts per class (CLIP's 80, the
default, take 11 times longer on a CPU). --labels takes 'imagenet', a text file (one label per
line), labels separated by commas, or an embedded task (embedded/objects, embedded/shape, ...: its
classes, in the world the run was trained in). A run's architecture is read from its run folder."""


def register(sub) -> None:
    """Add this stage's subcommands to the top-level parser."""
    p = sub.add_parser(
        "classify",
        help="zero-shot classify images with a zoo checkpoint or a local one",
        description="Zero-shot classification: each image against prompts built from the labels "
                    "(ImageNet's 1,000 classes and CLIP's 80 templates by default). Select a zoo "
                    "checkpoint with --model/--data/--samples-seen [--epoch], or give --pretrained "
                    "(a checkpoint file or a run folder; --arch when its run folder does not name it).",
        epilog=_EPILOG, formatter_class=RawFormatter,
    )
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files")
    add_filter_options(p, several=False)
    p.add_argument("--epoch", type=positive_int, default=None, help="use the zoo run's checkpoint after epoch N")
    p.add_argument("--pretrained", default=None, help="local checkpoint file (.pt or .safetensors) or a run folder")
    p.add_argument("--arch", default=None, help="OpenCLIP architecture of --pretrained (default: its run folder's)")
    p.add_argument("--labels", default="imagenet",
                   help="'imagenet', a text file (one label per line), labels separated by commas, or an embedded "
                        "task's classes (embedded/objects ...)")
    p.add_argument("--templates", default="openai", choices=("openai", "simple", "none"),
                   help="prompt templates: CLIP's 80 (openai), simple, or none (the label alone)")
    p.add_argument("--top", type=positive_int, default=5, help="how many labels to show per image")
    p.add_argument("--json", action="store_true", help="print JSON (probabilities as fractions) instead of text")
    add_hub_options(p)
    p.set_defaults(func=_run)


def _run(args) -> int:
    from clipscale.errors import UserInputError

    missing = [i for i in args.images if not Path(i).is_file()]
    if missing:  # before any download or import
        raise UserInputError(f"image(s) not found: {', '.join(missing[:5])}; give paths of image files")
    source = _source(args)
    labels = _labels(args.labels, source)
    from clipscale.zoo.classify import classify

    model, preprocess, tokenizer = _model(args, source)
    predictions = classify(model, preprocess, tokenizer, args.images, labels, template_set=args.templates, top=args.top)
    if args.json:
        print(json.dumps([p.to_dict() for p in predictions], indent=2))
        return 0
    for p in predictions:
        print(p.image)
        for label, prob in zip(p.labels, p.probs):
            print(f"  {100 * prob:6.2f}%  {label}")
    return 0


def _source(args):
    """A run_folders.Point for --pretrained (its arch and world from its run folder), or the zoo entry."""
    from clipscale.compute.configs import check_architecture
    from clipscale.errors import NotFoundError, UserInputError
    from clipscale.evaluate.run_folders import checkpoint_point, final_point

    zoo_given = bool(args.model or args.data or args.samples_seen or args.epoch is not None)
    if args.pretrained or args.arch:
        if zoo_given or not args.pretrained:
            raise UserInputError("give either --pretrained PATH [--arch A] or zoo filters (--model/--data/"
                                 "--samples-seen), not a mix")
        path = Path(args.pretrained).expanduser()
        if not path.exists():
            raise NotFoundError(f"checkpoint {path} not found; pass a checkpoint file or a run folder")
        point = final_point(path, arch=args.arch) if path.is_dir() else checkpoint_point(path, args.arch)
        if not point.arch:
            raise UserInputError(f"{path} lies in no run folder that names its architecture; pass --arch")
        check_architecture(point.arch)
        return point
    if not zoo_given:
        raise UserInputError("no model given; select a zoo checkpoint with --model, --data and --samples-seen "
                             "(see `clipscale zoo list`) or give --pretrained (a checkpoint file or a run folder)")
    from clipscale.zoo import CATALOG

    return CATALOG.get(model=args.model, data=args.data, samples_seen=args.samples_seen)


def _labels(spec: str, source) -> list[str]:
    """--labels: an embedded task's classes (in the checkpoint's world), or what read_labels takes."""
    from clipscale.evaluate.tasks import SOURCE_EMBEDDED, get_task, list_tasks

    if not list_tasks(spec):
        from clipscale.zoo.classify import read_labels

        return read_labels(spec)
    task = get_task(spec)
    from clipscale.errors import UserInputError

    if task.source != SOURCE_EMBEDDED:
        raise UserInputError(f"--labels {spec}: only the embedded tasks' classes are built in; give a text file "
                             "or labels separated by commas")
    from clipscale.evaluate.checkpoint_eval import checkpoint_world, in_world
    from clipscale.evaluate.embedded import embedded_tasks

    from clipscale.evaluate.run_folders import Point

    with in_world(checkpoint_world(source.checkpoint if isinstance(source, Point) else None)):
        names = list(embedded_tasks()[task.dataset].classnames)
    if len(names) < 2:
        raise UserInputError(f"--labels {spec}: this task has no fixed classes (each image has its own prompts); "
                             "use embedded/objects, shape, colour, size, texture, count or words")
    return names


def _model(args, source):
    from clipscale.evaluate.run_folders import Point
    from clipscale.zoo import download
    from clipscale.zoo.loading import load_pretrained

    if isinstance(source, Point):  # a local checkpoint
        return load_pretrained(source.arch, source.checkpoint)
    path = download(source, args.epoch, revision=args.revision, cache_dir=args.cache_dir)
    return load_pretrained(source.arch, path)
