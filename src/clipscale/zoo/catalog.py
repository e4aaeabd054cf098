"""The paper's 29 trained OpenCLIP checkpoints, as typed frozen entries with filters.

Facts from Cherti et al. (CVPR 2023), file trained_models_info.csv of
github.com/LAION-AI/scaling-laws-openclip (commit 652b1e7): one row per run, the run's file on the
Hugging Face repo laion/scaling-laws-openclip, its hyper-parameters and its epochs. Intermediate
checkpoints live in the same repo under full_checkpoints/<run>/epoch_N.pt, except ViT-H/14, whose
folder holds only a README: its 256 epochs were published as the dataset repo
laion/CLIP-ViT-H-14-laion2B-s32B-b79K-all-checkpoints (files epoch_N.pt).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

from clipscale.errors import NotFoundError, UserInputError, unknown

PAPER_REPO = "laion/scaling-laws-openclip"
H14_EPOCHS_REPO = "laion/CLIP-ViT-H-14-laion2B-s32B-b79K-all-checkpoints"
# That repository's name gives 32B samples over its 256 epoch files ("s32B").
H14_EPOCHS_SAMPLES_PER_EPOCH = 32_000_000_000 // 256


@dataclass(frozen=True)
class HubFile:
    """One file on the Hugging Face Hub and what it holds (samples seen at that point of training)."""

    repo_id: str
    filename: str
    repo_type: str  # "model" or "dataset"
    epoch: int | None  # None for the final checkpoint
    samples_seen: int

    @property
    def url(self) -> str:
        prefix = "datasets/" if self.repo_type == "dataset" else ""
        return f"https://huggingface.co/{prefix}{self.repo_id}/resolve/main/{self.filename}"


@dataclass(frozen=True)
class Checkpoint:
    """One training run of the paper and where its checkpoints are.

    `samples_seen` is exact (epochs x samples_per_epoch); `samples_seen_bucket` is the paper's label
    (3B, 13B or 34B). Learning rate is the peak value; warmup is in optimizer steps.
    """

    name: str  # the run name: file name on the hub without ".pt"
    arch: str  # OpenCLIP architecture
    data: str  # LAION-80M, LAION-400M or LAION-2B, as "80M", "400M", "2B"
    samples_seen_bucket: str
    lr: float
    warmup_steps: int
    epochs: int
    samples_per_epoch: int
    gpus: int
    local_batch_size: int
    samples_per_second: float  # training throughput reported by the paper (all GPUs)
    released_as: str = ""  # the Hugging Face model repo where this run was also released, if any
    repo_id: str = PAPER_REPO
    epochs_repo_id: str = PAPER_REPO
    epochs_repo_type: str = "model"
    epochs_file_pattern: str = "full_checkpoints/{run}/epoch_{epoch}.pt"
    epochs_samples_per_epoch: int = 0  # 0: the same as samples_per_epoch

    @property
    def filename(self) -> str:
        return f"{self.name}.pt"

    @property
    def samples_seen(self) -> int:
        return self.epochs * self.samples_per_epoch

    @property
    def global_batch_size(self) -> int:
        return self.gpus * self.local_batch_size

    @property
    def gmacs(self) -> float:
        """GMACs per sample (one image and one text forward), as the paper reports for the architecture."""
        return PAPER_GMACS[self.arch]

    def hub_file(self, epoch: int | None = None) -> HubFile:
        """The final checkpoint (epoch None) or the checkpoint saved after `epoch` (1 ... epochs)."""
        if epoch is None:
            return HubFile(self.repo_id, self.filename, "model", None, self.samples_seen)
        if not isinstance(epoch, int) or isinstance(epoch, bool) or not 1 <= epoch <= self.epochs:
            raise UserInputError(f"epoch {epoch!r} is out of range for {self.name}: it has epochs 1 ... {self.epochs}; "
                                 f"pick one in that range or omit the epoch for the final checkpoint")
        per_epoch = self.epochs_samples_per_epoch or self.samples_per_epoch
        filename = self.epochs_file_pattern.format(run=self.name, epoch=epoch)
        return HubFile(self.epochs_repo_id, filename, self.epochs_repo_type, epoch, epoch * per_epoch)

    def row(self) -> dict:
        """A flat record for tables: the fields plus derived samples seen, batch size and GMACs
        (`gmacs` per sample, `gmacs_total` = gmacs x samples_seen, as in the results table)."""
        return {"name": self.name, "arch": self.arch, "data": self.data, "samples_seen": self.samples_seen,
                "samples_seen_bucket": self.samples_seen_bucket, "epochs": self.epochs,
                "samples_per_epoch": self.samples_per_epoch, "lr": self.lr, "warmup_steps": self.warmup_steps,
                "global_batch_size": self.global_batch_size, "gpus": self.gpus,
                "local_batch_size": self.local_batch_size, "gmacs": self.gmacs,
                "gmacs_total": self.gmacs * self.samples_seen, "filename": self.filename, "repo_id": self.repo_id,
                "released_as": self.released_as}


def _run(name, arch, data, bucket, lr, warmup, epochs, per_epoch, gpus, local_bs, throughput, **extra) -> Checkpoint:
    return Checkpoint(name, arch, data, bucket, lr, warmup, epochs, per_epoch, gpus, local_bs, throughput, **extra)


# GMACs per sample (image + text forward) of the paper's architectures: arch_info.csv of the paper's
# repository. clipscale.compute.count reproduces them within 1% (tests/compute).
PAPER_GMACS: dict[str, float] = {"ViT-B-32": 7.40, "ViT-B-16": 20.57, "ViT-L-14": 87.73, "ViT-H-14": 190.97,
                                 "ViT-g-14": 290.74}

_H14_EPOCHS = dict(epochs_repo_id=H14_EPOCHS_REPO, epochs_repo_type="dataset", epochs_file_pattern="epoch_{epoch}.pt",
                   epochs_samples_per_epoch=H14_EPOCHS_SAMPLES_PER_EPOCH)

# Source: trained_models_info.csv of the paper's repository (see module docstring).
# name, arch, data, samples seen bucket, lr, warmup steps, epochs, samples/epoch, GPUs, local batch, samples/s
PAPER_CHECKPOINTS: tuple[Checkpoint, ...] = (
    _run("Model-B-32_Data-80M_Samples-3B_lr-5e-4_bs-32k", "ViT-B-32", "80M", "3B", 0.0005, 2000, 32, 80000415, 128, 256, 108844.5704),
    _run("Model-B-32_Data-80M_Samples-13B_lr-5e-4_bs-32k", "ViT-B-32", "80M", "13B", 0.0005, 2000, 160, 80000415, 128, 256, 108844.5704),
    _run("Model-B-32_Data-80M_Samples-34B_lr-1e-3_bs-88k", "ViT-B-32", "80M", "34B", 0.001, 10000, 428, 80000415, 344, 256, 99289.44575),
    _run("Model-B-32_Data-400M_Samples-3B_lr-1e-3_bs-88k", "ViT-B-32", "400M", "3B", 0.001, 10000, 6, 407332084, 344, 256, 219759.0125),
    _run("Model-B-32_Data-400M_Samples-13B_lr-1e-3_bs-86k", "ViT-B-32", "400M", "13B", 0.001, 2000, 32, 413000000, 128, 672, 52724.00881),
    _run("Model-B-32_Data-400M_Samples-34B_lr-5e-4_bs-32k", "ViT-B-32", "400M", "34B", 0.0005, 2000, 84, 407332084, 128, 256, 108844.5704),
    _run("Model-B-32_Data-2B_Samples-3B_lr-1e-3_bs-88k", "ViT-B-32", "2B", "3B", 0.001, 10000, 12, 213334440, 344, 256, 218174.3316),
    _run("Model-B-32_Data-2B_Samples-13B_lr-5e-4_bs-32k", "ViT-B-32", "2B", "13B", 0.0005, 2000, 65, 200000000, 128, 256, 93294.30008),
    _run("Model-B-32_Data-2B_Samples-34B_lr-1e-3_bs-79k", "ViT-B-32", "2B", "34B", 0.001, 2000, 256, 135646078, 824, 96, 187872.0),
    _run("Model-B-16_Data-80M_Samples-3B_lr-1e-3_bs-88k", "ViT-B-16", "80M", "3B", 0.001, 10000, 32, 80000415, 344, 256, 128758.0639),
    _run("Model-B-16_Data-80M_Samples-13B_lr-1e-3_bs-88k", "ViT-B-16", "80M", "13B", 0.001, 10000, 163, 80000415, 176, 512, 50927.5668),
    _run("Model-B-16_Data-80M_Samples-34B_lr-1e-3_bs-88k", "ViT-B-16", "80M", "34B", 0.001, 10000, 428, 80000415, 344, 256, 136146.6806),
    _run("Model-B-16_Data-400M_Samples-3B_lr-1e-3_bs-88k", "ViT-B-16", "400M", "3B", 0.001, 10000, 6, 407332084, 344, 256, 136370.9084),
    _run("Model-B-16_Data-400M_Samples-13B_lr-5e-4_bs-33k", "ViT-B-16", "400M", "13B", 0.0005, 10000, 32, 407332084, 176, 192, 59356.0),
    _run("Model-B-16_Data-400M_Samples-34B_lr-1e-3_bs-88k", "ViT-B-16", "400M", "34B", 0.001, 10000, 84, 407332084, 176, 512, 64314.37834),
    _run("Model-B-16_Data-2B_Samples-3B_lr-1e-3_bs-88k", "ViT-B-16", "2B", "3B", 0.001, 10000, 12, 213334440, 344, 256, 134239.8261),
    _run("Model-B-16_Data-2B_Samples-13B_lr-1e-3_bs-88k", "ViT-B-16", "2B", "13B", 0.001, 10000, 65, 200532718, 176, 512, 54580.6237),
    _run("Model-B-16_Data-2B_Samples-34B_lr-1e-3_bs-88k", "ViT-B-16", "2B", "34B", 0.001, 10000, 171, 200092953, 344, 256, 78356.07648),
    _run("Model-L-14_Data-80M_Samples-3B_lr-1e-3_bs-88k", "ViT-L-14", "80M", "3B", 0.001, 10000, 32, 80000415, 396, 224, 38878.74478),
    _run("Model-L-14_Data-80M_Samples-13B_lr-1e-3_bs-88k", "ViT-L-14", "80M", "13B", 0.001, 10000, 163, 80000415, 200, 448, 35524.82252),
    _run("Model-L-14_Data-80M_Samples-34B_lr-1e-3_bs-88k", "ViT-L-14", "80M", "34B", 0.001, 10000, 428, 80000415, 400, 224, 41970.05536),
    _run("Model-L-14_Data-400M_Samples-3B_lr-1e-3_bs-88k", "ViT-L-14", "400M", "3B", 0.001, 10000, 6, 407332084, 396, 224, 40026.59493),
    _run("Model-L-14_Data-400M_Samples-13B_lr-1e-3_bs-86k", "ViT-L-14", "400M", "13B", 0.001, 2000, 32, 413000000, 768, 112, 60327.90558),
    _run("Model-L-14_Data-400M_Samples-34B_lr-1e-3_bs-86k", "ViT-L-14", "400M", "34B", 0.001, 10000, 84, 413000000, 1024, 84, 79116.28421),
    _run("Model-L-14_Data-2B_Samples-3B_lr-1e-3_bs-88k", "ViT-L-14", "2B", "3B", 0.001, 10000, 12, 213334440, 396, 224, 39913.2071),
    _run("Model-L-14_Data-2B_Samples-13B_lr-1e-3_bs-86k", "ViT-L-14", "2B", "13B", 0.001, 10000, 64, 200000000, 1024, 84, 67928.46915),
    _run("Model-L-14_Data-2B_Samples-34B_lr-1e-3_bs-86k", "ViT-L-14", "2B", "34B", 0.001, 10000, 160, 200000000, 384, 224, 27861.91926,
         released_as="laion/CLIP-ViT-L-14-laion2B-s32B-b82K"),
    _run("Model-H-14_Data-2B_Samples-34B_lr-5e-4_bs-79k", "ViT-H-14", "2B", "34B", 0.0005, 2000, 256, 135646078, 824, 96, 34608.0,
         released_as="laion/CLIP-ViT-H-14-laion2B-s32B-b79K", **_H14_EPOCHS),
    _run("Model-g-14_Data-2B_Samples-13B_lr-5e-4_bs-64k", "ViT-g-14", "2B", "13B", 0.0005, 2000, 90, 135646078, 800, 80, 24800.0,
         released_as="laion/CLIP-ViT-g-14-laion2B-s12B-b42K"),
)


class Catalog:
    """A registry of checkpoints with filters; lookups that fail list what exists."""

    def __init__(self, entries: Iterable[Checkpoint]):
        self._entries = tuple(entries)
        names = [e.name for e in self._entries]
        if len(set(names)) != len(names):
            raise UserInputError("a catalog cannot hold two checkpoints with the same name")

    def __iter__(self) -> Iterator[Checkpoint]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        return [e.name for e in self._entries]

    def values(self, field: str) -> list[str]:
        """The distinct values of `arch`, `data` or `samples_seen_bucket`, in catalog order."""
        return list(dict.fromkeys(getattr(e, field) for e in self._entries))

    def filter(self, model=None, data=None, samples_seen=None, name=None) -> list[Checkpoint]:
        """Entries matching every filter given; each filter is one value or several (any of them).

        model: an architecture ("ViT-B-32", also "ViT-B/32"); data: "80M", "400M" or "2B" (a "LAION-"
        prefix is allowed); samples_seen: "3B", "13B" or "34B"; name: a run name. An unknown value
        raises NotFoundError listing the valid ones; known values that match nothing raise it too.
        """
        wanted = {"arch": _values(model, self.values("arch"), "model", _norm_arch),
                  "data": _values(data, self.values("data"), "data", _norm_data),
                  "samples_seen_bucket": _values(samples_seen, self.values("samples_seen_bucket"), "samples seen",
                                                 str.upper),
                  "name": _values(name, self.names(), "checkpoint", _norm_name)}
        found = [e for e in self._entries if all(w is None or getattr(e, f) in w for f, w in wanted.items())]
        if not found:
            given = ", ".join(f"{k}={sorted(v)}" for k, v in wanted.items() if v is not None)
            combos = "; ".join(f"{e.arch} {e.data} {e.samples_seen_bucket}" for e in self._entries
                               if wanted["arch"] is None or e.arch in wanted["arch"])
            raise NotFoundError(f"no checkpoint matches {given}; the catalog has: {combos}")
        return found

    def get(self, model=None, data=None, samples_seen=None, name=None) -> Checkpoint:
        """Exactly one entry; several matches raise UserInputError naming them and how to narrow down."""
        found = self.filter(model=model, data=data, samples_seen=samples_seen, name=name)
        if len(found) > 1:
            listed = ", ".join(f"{e.arch}/{e.data}/{e.samples_seen_bucket}" for e in found[:12])
            more = f" and {len(found) - 12} more" if len(found) > 12 else ""
            raise UserInputError(f"{len(found)} checkpoints match ({listed}{more}); one is needed: "
                                 f"give --model, --data and --samples-seen")
        return found[0]


def _norm_arch(value: str) -> str:
    return value.replace("/", "-")


def _norm_data(value: str) -> str:
    value = value.upper()
    return value[len("LAION-"):] if value.startswith("LAION-") else value


def _norm_name(value: str) -> str:
    return value[:-3] if value.endswith(".pt") else value


def _values(given, valid: Sequence[str], kind: str, norm) -> set[str] | None:
    """None (no filter) or the set of normalised values, each checked against `valid`."""
    if given is None:
        return None
    items = [given] if isinstance(given, str) else list(given)
    if not items:
        return None
    out = set()
    for item in items:
        value = norm(str(item))
        if value not in valid:
            raise unknown(kind, str(item), valid, fix="see `clipscale zoo list`")
        out.add(value)
    return out


CATALOG = Catalog(PAPER_CHECKPOINTS)


def list_checkpoints(model=None, data=None, samples_seen=None) -> list[Checkpoint]:
    """Entries of the paper's catalog matching the filters (see Catalog.filter)."""
    return CATALOG.filter(model=model, data=data, samples_seen=samples_seen)


def get(model=None, data=None, samples_seen=None) -> Checkpoint:
    """The one entry of the paper's catalog matching the filters (see Catalog.get)."""
    return CATALOG.get(model=model, data=data, samples_seen=samples_seen)
