"""The results-table schema shared by evaluate, laws, study and report.

It is the paper's: the columns of zeroshot_results.csv in github.com/LAION-AI/scaling-laws-openclip.
"""
from __future__ import annotations

# Columns of the paper's zeroshot_results.csv (Cherti et al. 2023, public repository).
RESULT_COLUMNS: tuple[str, ...] = (
    "arch", "samples_seen", "gmacs_total", "gmacs", "upstream_dataset", "downstream_dataset",
    "acc1", "acc5", "mean_per_class_recall", "image_retrieval_recall@5", "text_retrieval_recall@5",
    "mean_average_precision", "task", "samples_seen_pretty", "name",
)
# The column that holds a row's evaluation kind (zeroshot_classification, zeroshot_retrieval,
# linear_probe, finetune: clipscale.evaluate.tasks.KINDS and evaluate.finetune.FINETUNE). The paper
# named it `task`, and results tables keep that name; code calls the concept `eval_kind`. (A row's
# evaluation task, the registry name such as 'embedded/objects', is the `eval_task` column.)
EVAL_KIND_COL = "task"
# The number of test images a row's metric was measured on (its binomial noise: clipscale.laws.calibrate);
# tables written before this column hold the same number in `n_images` (clipscale.evaluate), read instead.
N_TEST_COL = "n_test"
N_TEST_LEGACY_COL = "n_images"
# A row's chance error: the error of guessing (1 - 1/classes for single-label classification; a fraction),
# written by clipscale.evaluate from its task registry; absent where unknown (retrieval, multi-label).
CHANCE_COL = "chance_error"
# The seed of a row's training run: runs that differ only in it are replicates (a study's [axes] seed).
SEED_COL = "seed"
# Metric columns: fractions in [0, 1] (error = 1 - metric; percent only in figures and reports).
METRIC_COLUMNS: tuple[str, ...] = (
    "acc1", "acc5", "mean_per_class_recall", "image_retrieval_recall@5", "text_retrieval_recall@5",
    "mean_average_precision",
)
# Traits of downstream datasets, by name (never by a suffix): the paper's benchmarks, then clipscale's
# embedded suite. The evaluation task registry (clipscale.evaluate.tasks) reads its entries' kind,
# `multilabel` and `metric` fields from here; laws and report read results tables with them.
RETRIEVAL_DATASETS = frozenset({"mscoco_captions", "flickr30k", "embedded/retrieval"})
MULTILABEL_DATASETS = frozenset({"voc2007_multilabel", "embedded/multilabel"})
RETRIEVAL_METRIC = "image_retrieval_recall@5"
MULTILABEL_METRIC = "mean_average_precision"

# Classes of the paper's single-label classification datasets (and scikit-learn's digits), as
# clip_benchmark defines them (github.com/LAION-AI/CLIP_benchmark, its dataset builders): chance error
# 1 - 1/classes (clipscale.evaluate.tasks.Task.chance_error). The embedded tasks' classes depend on the
# world and come from clipscale.evaluate; retrieval and multi-label datasets have no such chance.
N_CLASSES: dict[str, int] = {
    "imagenet1k": 1000, "imagenetv2": 1000, "imagenet_sketch": 1000, "imagenet-a": 200, "imagenet-r": 200,
    "objectnet": 113, "cars": 196, "country211": 211, "fer2013": 7, "fgvc_aircraft": 100, "gtsrb": 43,
    "mnist": 10, "renderedsst2": 2, "stl10": 10, "sun397": 397, "voc2007": 20, "digits": 10,
    "vtab/caltech101": 102, "vtab/cifar10": 10, "vtab/cifar100": 100, "vtab/clevr_closest_object_distance": 6,
    "vtab/clevr_count_all": 8, "vtab/diabetic_retinopathy": 5, "vtab/dmlab": 6,
    "vtab/dsprites_label_orientation": 16, "vtab/dsprites_label_x_position": 16, "vtab/dtd": 47,
    "vtab/eurosat": 10, "vtab/flowers": 102, "vtab/kitti_closest_vehicle_distance": 4, "vtab/pcam": 2,
    "vtab/pets": 37, "vtab/resisc45": 45, "vtab/smallnorb_label_azimuth": 18, "vtab/smallnorb_label_elevation": 9,
    "vtab/svhn": 10,
}

# The paper's groups: OpenCLIP models trained on LAION, and OpenAI's CLIP trained on WIT.
GROUP_OPENCLIP = "openclip"
GROUP_OPENAI = "openai"


def default_metric(downstream_dataset: str) -> str:
    """The metric the paper fits for a downstream dataset (a fraction; error = 1 - metric)."""
    if downstream_dataset in RETRIEVAL_DATASETS:
        return RETRIEVAL_METRIC
    if downstream_dataset in MULTILABEL_DATASETS:
        return MULTILABEL_METRIC
    return "acc1"


def paper_group(upstream_dataset: str) -> str:
    """'openai' for CLIP-WIT rows, 'openclip' for everything else (LAION and our own runs)."""
    return GROUP_OPENAI if str(upstream_dataset).upper().startswith("CLIP-WIT") else GROUP_OPENCLIP


def run_upstream_dataset(train_data: str | None, data_size: float | None) -> str:
    """The `upstream_dataset` of one of clipscale's own training runs: its webdataset shards
    (`train_data`), or 'embedded-<size>' for the first `data_size` pairs of the embedded data
    (5000 -> 'embedded-5K'); 'embedded' when neither is known."""
    if train_data:
        return str(train_data)
    return f"embedded-{pretty_samples(data_size)}" if data_size else "embedded"


def pretty_samples(n: float) -> str:
    """13e9 -> '13B', 2e5 -> '200K' (the paper's samples_seen_pretty style)."""
    n = float(n)
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if n >= div:
            v = n / div
            return f"{v:.0f}{suffix}" if abs(v - round(v)) < 0.05 or v >= 10 else f"{v:.1f}{suffix}"
    return f"{n:.0f}"
