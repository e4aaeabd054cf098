"""The run folder: spec.json, meta.json, metrics.jsonl, checkpoints/epoch_N.pt, done.json (last).

Every file goes through clipscale._io (temporary file, then rename), so a killed or disk-full run
never leaves a truncated file under a final name; done.json exists only for a finished run.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from clipscale._io import atomic_write_json, atomic_write_text, atomic_write_with, run_metadata
from clipscale.errors import DataError, UserInputError
from clipscale.train.spec import TrainSpec

# The run folder's names, one home each (the study, the evaluator and the progress display read them here).
SPEC_FILE = "spec.json"          # the TrainSpec, written first
META_FILE = "meta.json"          # run_metadata: versions, git commit, host
METRICS_FILE = "metrics.jsonl"   # one row per logged step, rewritten with each checkpoint
PROGRESS_FILE = "progress.json"  # how far a running run is between checkpoints (step, samples seen)
DONE_FILE = "done.json"          # written last: the run finished
CHECKPOINT_DIR = "checkpoints"   # epoch_N.pt, OpenCLIP's format
_EPOCH_RE = re.compile(r"^epoch_(\d+)\.pt$")


def checkpoint_name(epoch: int) -> str:
    """A checkpoint's path inside its run folder, e.g. 'checkpoints/epoch_4.pt' (done.json's study_point)."""
    return f"{CHECKPOINT_DIR}/epoch_{epoch}.pt"


@dataclass(frozen=True)
class TrainResult:
    """What a finished run produced. Units: samples (pairs, all ranks), seconds, samples per second."""

    out_dir: Path
    checkpoints: list[Path]
    final_checkpoint: Path
    samples_seen: int
    steps: int
    wall_s: float
    samples_per_s: float
    engine: str = "native"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["out_dir"] = str(self.out_dir)
        d["checkpoints"] = [str(p.relative_to(self.out_dir)) for p in self.checkpoints]
        d["final_checkpoint"] = str(self.final_checkpoint.relative_to(self.out_dir))
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], out_dir: str | Path) -> "TrainResult":
        """Paths in done.json are relative to the run folder, so a moved folder still reads back."""
        out = Path(out_dir)
        return cls(out_dir=out, checkpoints=[out / p for p in d["checkpoints"]],
                   final_checkpoint=out / d["final_checkpoint"], samples_seen=d["samples_seen"], steps=d["steps"],
                   wall_s=d["wall_s"], samples_per_s=d["samples_per_s"], engine=d.get("engine", "native"),
                   extra=d.get("extra", {}))


def compute_record(model: str, samples_seen: int) -> dict[str, Any]:
    """GMACs per sample (image + text forward, clipscale.compute) and in total (x samples seen)."""
    from clipscale.compute import gmacs_per_sample

    gmacs = gmacs_per_sample(model)
    return {"gmacs": gmacs, "gmacs_total": gmacs * samples_seen}


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"cannot read {path} ({exc}); the run folder is damaged: remove it or choose a new --out") from exc


class RunFolder:
    """Paths and reads/writes of one run folder."""

    def __init__(self, out_dir: str | Path):
        self.root = Path(out_dir)
        self.checkpoint_dir = self.root / CHECKPOINT_DIR
        self.spec_path = self.root / SPEC_FILE
        self.done_path = self.root / DONE_FILE
        self.metrics_path = self.root / METRICS_FILE
        self.progress_path = self.root / PROGRESS_FILE

    def checkpoint(self, epoch: int) -> Path:
        return self.root / checkpoint_name(epoch)

    def checkpoints(self) -> list[Path]:
        """Checkpoints present, by epoch (temporary files of interrupted writes are ignored)."""
        return [p for _, p in self.numbered_checkpoints()]

    def numbered_checkpoints(self) -> list[tuple[int, Path]]:
        """(epoch, path) of every checkpoint present, by epoch."""
        if not self.checkpoint_dir.is_dir():
            return []
        return sorted((int(m.group(1)), p) for p in self.checkpoint_dir.iterdir() if (m := _EPOCH_RE.match(p.name)))

    def finished(self, spec: TrainSpec) -> TrainResult | None:
        """The result of a finished run of `spec` in this folder; None if unfinished."""
        if not self.done_path.exists():
            return None
        self.check_spec(spec)
        return TrainResult.from_dict(_read_json(self.done_path), self.root)

    def claim(self, spec: TrainSpec, resume: bool) -> None:
        """Write spec.json and meta.json, or check that the folder holds this same spec."""
        if self.spec_path.exists():
            self.check_spec(spec)
            if not resume and self.checkpoints():
                raise UserInputError(f"{self.root} already holds checkpoints of this run; pass --resume to "
                                     f"continue it or choose a new --out")
            return
        self.root.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.spec_path, spec.to_dict())
        atomic_write_json(self.root / META_FILE, run_metadata(spec.to_dict()))

    def check_spec(self, spec: TrainSpec) -> None:
        """The folder's spec must be `spec`, except the thread count: a run may resume on another
        machine or worker count (its bits may then differ from an uninterrupted run's)."""
        old, new = _read_json(self.spec_path), spec.to_dict()
        old.pop("num_threads", None)
        new.pop("num_threads", None)
        if old != new:
            diff = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
            raise UserInputError(f"{self.root} holds a run of a different spec (differs in {diff}); "
                                 f"choose a new --out or remove that folder")

    def read_metrics(self, up_to_step: int) -> list[dict]:
        """Rows logged up to a step (a resumed run drops rows logged after its checkpoint)."""
        if not self.metrics_path.exists():
            return []
        rows = [json.loads(line) for line in self.metrics_path.read_text().splitlines() if line.strip()]
        return [r for r in rows if r.get("step", 0) <= up_to_step]

    def write_metrics(self, rows: list[dict]) -> None:
        atomic_write_text(self.metrics_path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))

    def save_checkpoint(self, epoch: int, payload: dict) -> Path:
        import torch

        return atomic_write_with(self.checkpoint(epoch), lambda tmp: torch.save(payload, tmp))

    def finish(self, result: TrainResult) -> TrainResult:
        atomic_write_json(self.done_path, result.to_dict())
        return result
