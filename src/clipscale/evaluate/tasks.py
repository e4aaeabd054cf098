"""The evaluation task registry: one frozen dataclass per task, looked up by name.

A task names *what* is measured (kind: zero-shot classification, zero-shot retrieval or linear
probe) on *which* images (source + dataset). Tasks whose images are the same (same `images` key)
share one feature pass per checkpoint.

Names:
- ``embedded/<task>``: zero-shot on held-out procedural scenes of `clipscale.data` (never trained on).
- ``digits``: scikit-learn's handwritten digits (real scans), a distribution shift for every model here.
- ``<benchmark>``: the paper's downstream datasets under clip_benchmark's names (need ``--data-root``).
- ``linear_probe/<dataset>`` and ``linear_probe_<k>shot/<dataset>``: logistic regression on frozen
  image features of a dataset above (full training split, or k images per class).
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, replace

from clipscale.errors import unknown
from clipscale.schema import MULTILABEL_DATASETS, N_CLASSES, RETRIEVAL_DATASETS, default_metric

ZEROSHOT_CLASSIFICATION = "zeroshot_classification"
ZEROSHOT_RETRIEVAL = "zeroshot_retrieval"
LINEAR_PROBE = "linear_probe"
KINDS = (ZEROSHOT_CLASSIFICATION, ZEROSHOT_RETRIEVAL, LINEAR_PROBE)

SOURCE_EMBEDDED = "embedded"
SOURCE_DIGITS = "digits"
SOURCE_CLIP_BENCHMARK = "clip_benchmark"


@dataclass(frozen=True)
class Task:
    """One evaluation task.

    name: registry name (also the `downstream_dataset` column, linear-probe prefix aside).
    kind: one of KINDS (the `task` column of the results table).
    source: where images come from (embedded, digits, clip_benchmark).
    dataset: the dataset name inside the source (a clip_benchmark name, an embedded label field).
    version: bumped whenever the task's images, labels, prompts or metric change (`task_version`).
    fewshot_k: images per class for a linear probe; None = the whole training split.
    multilabel: each image has a 0/1 row over the classes (scored by mean average precision).
    metric: the metric column the laws fit for this task (a fraction; error = 1 - metric).
    """

    name: str
    kind: str
    source: str
    dataset: str
    version: str = "1"
    description: str = ""
    fewshot_k: int | None = None
    multilabel: bool = False
    metric: str = "acc1"

    @property
    def chance_error(self) -> float | None:
        """The error of guessing uniformly, 1 - 1/classes (a fraction), for single-label classification
        and linear probes; None for retrieval, multi-label or unknown class counts. Embedded tasks count
        their classes in the active world (clipscale.data.worlds), the others in schema.N_CLASSES."""
        if self.kind == ZEROSHOT_RETRIEVAL or self.multilabel:
            return None
        if self.source == SOURCE_EMBEDDED:
            from clipscale.evaluate.embedded import embedded_tasks

            n = len(embedded_tasks()[self.dataset].classnames)
        else:
            n = N_CLASSES.get(self.downstream_dataset, 0)
        return 1.0 - 1.0 / n if n > 1 else None

    @property
    def downstream_dataset(self) -> str:
        """The `downstream_dataset` column: the dataset's name, without the linear-probe prefix."""
        return self.name.split("/", 1)[1] if self.kind == LINEAR_PROBE else self.name


# The embedded suite (labels are fields of the held-out scenes of clipscale.data; see embedded.py).
# "embedded/objects" plays ImageNet's role: many fine-grained classes (colour x shape of the main
# object), the task the paper's headline ImageNet laws are fitted on.
IMAGENET_ROLE_TASK = "embedded/objects"
_EMBEDDED = (
    ("objects", "many-class fine-grained: colour and shape of the main object (ImageNet's role)"),
    ("shape", "shape of the main object"),
    ("colour", "colour of the main object (an attribute)"),
    ("size", "size of the main object (an attribute)"),
    ("texture", "texture of the main object (an attribute)"),
    ("count", "how many objects the scene holds (counting)"),
    ("relation", "where the first object lies relative to the second (relation)"),
    ("words", "which three-letter word is written in the image"),
    ("multilabel", "which of the 16 shapes appear in a two-object scene (multi-label: mean average precision)"),
    ("retrieval", "image and text retrieval on held-out scenes, several captions per image"),
)
# Task versions other than "1" (the grammar version is appended): the single-object family went from
# 10 to 50 test images per class (embedded.TEST_IMAGES_PER_CLASS) in version 2.
_EMBEDDED_VERSIONS = {"objects": "2", "shape": "2", "colour": "2", "size": "2", "texture": "2"}
# embedded/multilabel is left out of the defaults (its metric is mean average precision, not accuracy).
DEFAULT_EMBEDDED_TASKS: tuple[str, ...] = tuple(f"embedded/{n}" for n, _ in _EMBEDDED if n != "multilabel") + ("digits",)

# The paper's downstream datasets (Cherti et al. 2023, zeroshot_results.csv), clip_benchmark names.
# Aggregates of the paper (imagenet_robustness, vtab, vtab+) are averages of these, not datasets.
PAPER_BENCHMARKS: tuple[str, ...] = (
    "imagenet1k", "imagenetv2", "imagenet_sketch", "imagenet-a", "imagenet-r", "objectnet",
    "mscoco_captions", "flickr30k", "cars", "country211", "fer2013", "fgvc_aircraft", "gtsrb", "mnist",
    "renderedsst2", "stl10", "sun397", "voc2007", "voc2007_multilabel",
    "vtab/caltech101", "vtab/cifar10", "vtab/cifar100", "vtab/clevr_closest_object_distance",
    "vtab/clevr_count_all", "vtab/diabetic_retinopathy", "vtab/dmlab", "vtab/dsprites_label_orientation",
    "vtab/dsprites_label_x_position", "vtab/dtd", "vtab/eurosat", "vtab/flowers",
    "vtab/kitti_closest_vehicle_distance", "vtab/pcam", "vtab/pets", "vtab/resisc45",
    "vtab/smallnorb_label_azimuth", "vtab/smallnorb_label_elevation", "vtab/svhn",
)
# Few-shot sizes of the linear probes registered for every classification dataset (k images per
# class). Chosen here for CPU cost, not taken from the paper; any k runs through linear_probe.probe.
FEWSHOT_KS: tuple[int, ...] = (1, 10)


def _zeroshot_task(name: str, source: str, dataset: str, **fields) -> Task:
    """A zero-shot task whose kind, multilabel and metric fields come from its dataset's traits (schema)."""
    kind = ZEROSHOT_RETRIEVAL if name in RETRIEVAL_DATASETS else ZEROSHOT_CLASSIFICATION
    return Task(name, kind, source, dataset, multilabel=name in MULTILABEL_DATASETS, metric=default_metric(name),
                **fields)


def _build_registry() -> dict[str, Task]:
    """Every task; an embedded task's version here lacks its data version, which `_in_world` adds."""
    tasks: list[Task] = []
    for name, desc in _EMBEDDED:
        version = _EMBEDDED_VERSIONS.get(name, "1")
        tasks.append(_zeroshot_task(f"embedded/{name}", SOURCE_EMBEDDED, name, version=version, description=desc))
    tasks.append(_zeroshot_task("digits", SOURCE_DIGITS, "digits",
                                description="scikit-learn's handwritten digits (real scans), 'a photo of the number {c}.'"))
    for name in PAPER_BENCHMARKS:
        tasks.append(_zeroshot_task(name, SOURCE_CLIP_BENCHMARK, name,
                                    description=f"clip_benchmark dataset {name!r} (needs --data-root)"))
    probes = []
    for t in tasks:
        if t.kind != ZEROSHOT_CLASSIFICATION or t.multilabel:
            continue
        probes.append(replace(t, name=f"{LINEAR_PROBE}/{t.name}", kind=LINEAR_PROBE,
                              description=f"linear probe, full training split: {t.description}"))
        for k in FEWSHOT_KS:
            probes.append(replace(t, name=f"{LINEAR_PROBE}_{k}shot/{t.name}", kind=LINEAR_PROBE, fewshot_k=k,
                                  description=f"linear probe, {k} image(s) per class: {t.description}"))
    return {t.name: t for t in tasks + probes}


_REGISTRY: dict[str, Task] = _build_registry()


def _in_world(task: Task) -> Task:
    """An embedded task as the active world draws it: its images change with the grammar and the
    world (clipscale.data.worlds), so their data version is part of the task's version."""
    if task.source != SOURCE_EMBEDDED:
        return task
    from clipscale.data.worlds import data_version

    return replace(task, version=f"{task.version}.g{data_version()}")


def list_tasks(pattern: str = "*", kind: str | None = None) -> list[str]:
    """Registered task names matching a shell pattern (``'embedded/*'``), optionally of one kind."""
    return [n for n, t in _REGISTRY.items() if fnmatch.fnmatch(n, pattern) and (kind is None or t.kind == kind)]


def get_task(name: str) -> Task:
    """The task registered under `name`; NotFoundError lists the valid names."""
    try:
        return _in_world(_REGISTRY[name])
    except KeyError:
        raise unknown("task", name, _REGISTRY, fix="see `clipscale eval --list-tasks`") from None


def resolve_tasks(tasks: str | Task | list | tuple | None) -> list[Task]:
    """Tasks from names, patterns, Task objects or a comma-separated string; None = the embedded defaults."""
    given = tasks
    if tasks is None:
        tasks = DEFAULT_EMBEDDED_TASKS
    if isinstance(tasks, (str, Task)):
        tasks = [tasks]
    out: list[Task] = []
    for item in tasks:
        if isinstance(item, Task):
            out.append(item)
            continue
        for part in filter(None, (p.strip() for p in str(item).split(","))):
            if any(ch in part for ch in "*?["):
                names = list_tasks(part)
                if not names:
                    raise unknown("task pattern", part, _REGISTRY, fix="see `clipscale eval --list-tasks`")
                out.extend(get_task(n) for n in names)
            else:
                out.append(get_task(part))
    if not out:
        from clipscale.errors import UserInputError

        raise UserInputError(f"no task given ({given!r}); name at least one, e.g. embedded/objects,digits "
                             "(see `clipscale eval --list-tasks`), or leave the option out for the default suite")
    seen: dict[str, Task] = {}
    for t in out:
        seen.setdefault(t.name, t)
    return list(seen.values())
