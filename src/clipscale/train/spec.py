"""The spec of one training run and the step arithmetic every engine shares.

A spec is the whole input of a run: the same spec and seed give bit-identical weights (native
engine, same thread count and device). Units: `data_size` in unique image-text pairs,
`samples_seen` in samples (pairs shown to the model, all ranks together), `batch_size` global
(all ranks together), `warmup` a fraction of the optimizer steps.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from clipscale.errors import UserInputError, choices_hint

PRECISIONS = ("fp32", "bf16")
ENGINES = ("native", "open_clip")
# The schedules a run asks for (`clipscale train --schedule`); "const" (warmup, then constant) is the
# schedule of a cool-down trunk, which clipscale.train.branches sets itself.
RUN_SCHEDULES = ("cosine", "const-cooldown")
SCHEDULES = (*RUN_SCHEDULES, "const")
COOLDOWN_SHAPES = ("linear", "1-sqrt")
# Fields added after the first release: left out of to_dict() at their defaults, so the spec.json
# and the study hash of every cosine run stay what they were.
_NEW_FIELDS = {"schedule": "cosine", "cooldown": 0.2, "cooldown_shape": "1-sqrt", "final_lr": 0.0,
               "warmup_samples": None, "epoch_ends": None, "world": "full"}


@dataclass(frozen=True)
class TrainSpec:
    """One training run. Defaults follow the OpenCLIP recipe scaled to tiny models.

    lr 2e-3 and batch 128 beat the alternatives measured in ../shared/notes/cpu-scaling-feasibility.md;
    weight decay 0.2 is the paper's (Cherti et al. 2023, Appendix Table 17 and following).
    `epochs` is the number of checkpoint chunks: an "epoch" is samples_seen / epochs samples, as the
    paper checkpoints at a fixed number of samples per epoch, not at passes over the data.
    `warmup` is a fraction of the optimizer steps (linear warmup, then cosine decay to 0), so the
    schedule keeps its shape across samples-seen levels of a grid.

    `schedule = "const-cooldown"` (Hägele et al. 2024, "Scaling Laws and Compute-Optimal Training
    Beyond Fixed Training Durations"): warmup, constant lr, then a cool-down over the last `cooldown`
    fraction of the steps (default 0.2, theirs) of shape `linear` or `1-sqrt` (their recommended one)
    to `final_lr`. `warmup_samples` (samples, optional) fixes the warmup length independently of
    samples_seen, so runs of several lengths share one trunk. `epoch_ends` (samples, optional) puts
    the checkpoints at given sample counts instead of equal chunks (a trunk's branch points).

    `world` is the embedded data's difficulty preset (clipscale.data.worlds) the run trains in, and
    in which its checkpoints are evaluated: part of the spec (spec.json, every checkpoint) so that a
    run folder says what it learned. Webdataset runs (`train_data`) keep the default.
    """

    model: str
    data_size: int
    samples_seen: int
    batch_size: int = 128
    lr: float = 2e-3
    warmup: float = 0.1
    weight_decay: float = 0.2
    precision: str = "fp32"
    seed: int = 0
    epochs: int = 1
    train_data: str | None = None
    num_threads: int | None = None
    engine: str = "native"
    schedule: str = "cosine"
    cooldown: float = 0.2
    cooldown_shape: str = "1-sqrt"
    final_lr: float = 0.0
    warmup_samples: int | None = None
    epoch_ends: tuple[int, ...] | None = None
    world: str = "full"

    def __post_init__(self) -> None:
        if isinstance(self.epoch_ends, list):  # from JSON
            object.__setattr__(self, "epoch_ends", tuple(self.epoch_ends))
        self.validate()

    def validate(self) -> None:
        """Raise UserInputError naming the bad field, its valid range and the fix."""
        if not isinstance(self.model, str) or not self.model:
            raise UserInputError("model must be an architecture name, e.g. ladder-xs; see `clipscale compute --list`")
        for name in ("data_size", "samples_seen", "batch_size", "epochs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UserInputError(f"{name} must be a positive integer, got {value!r}")
        if self.batch_size > self.data_size:
            raise UserInputError(f"batch size {self.batch_size} is larger than the data ({self.data_size} pairs); "
                                 f"a contrastive batch needs distinct pairs: lower --batch-size or raise --data-size")
        if self.samples_seen < self.batch_size * self.epochs:
            raise UserInputError(f"samples seen {self.samples_seen} give fewer than one step per epoch "
                                 f"(batch {self.batch_size} x {self.epochs} epochs); "
                                 f"raise --samples-seen or lower --epochs")
        for name in ("lr", "warmup", "weight_decay"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise UserInputError(f"{name} must be a number, got {value!r}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise UserInputError(f"lr must be a positive number, got {self.lr!r}")
        if not 0 <= self.warmup < 1:
            raise UserInputError(f"warmup is a fraction of the steps in [0, 1), got {self.warmup!r}")
        if not self.weight_decay >= 0:
            raise UserInputError(f"weight_decay must be >= 0, got {self.weight_decay!r}")
        if self.precision not in PRECISIONS:
            raise UserInputError(f"unknown precision {self.precision!r}; {choices_hint(PRECISIONS)}")
        if self.engine not in ENGINES:
            raise UserInputError(f"unknown engine {self.engine!r}; {choices_hint(ENGINES)}")
        if self.num_threads is not None and (not isinstance(self.num_threads, int) or self.num_threads < 1):
            raise UserInputError(f"num_threads must be a positive integer or None, got {self.num_threads!r}")
        if not isinstance(self.world, str):
            raise UserInputError(f"world must be a world's name, got {self.world!r}")
        from clipscale.data.worlds import get_world

        get_world(self.world)  # NotFoundError listing the worlds
        if self.train_data and self.world != "full":
            raise UserInputError(f"world {self.world!r} is a preset of the embedded data; a run on webdataset "
                                 "shards (train_data) has none: drop the world")
        self._validate_schedule()

    def _validate_schedule(self) -> None:
        if self.schedule not in SCHEDULES:
            raise UserInputError(f"unknown schedule {self.schedule!r}; {choices_hint(SCHEDULES)}")
        if self.cooldown_shape not in COOLDOWN_SHAPES:
            raise UserInputError(f"unknown cool-down shape {self.cooldown_shape!r}; {choices_hint(COOLDOWN_SHAPES)}")
        for name in ("cooldown", "final_lr"):
            if isinstance(getattr(self, name), bool) or not isinstance(getattr(self, name), (int, float)):
                raise UserInputError(f"{name} must be a number, got {getattr(self, name)!r}")
        if not 0 < self.cooldown < 1:
            raise UserInputError(f"cool-down is a fraction of the steps in (0, 1), got {self.cooldown!r}")
        if not 0 <= self.final_lr <= self.lr:
            raise UserInputError(f"final_lr must be in [0, lr={self.lr}], got {self.final_lr!r}")
        ws = self.warmup_samples
        if ws is not None and (isinstance(ws, bool) or not isinstance(ws, int) or ws < 0):
            raise UserInputError(f"warmup_samples must be a non-negative integer or None, got {ws!r}")
        if self.schedule == "const-cooldown" and self.warmup_steps > self.cooldown_start_step:
            raise UserInputError(f"samples seen {self.samples_seen} end their constant phase (step "
                                 f"{self.cooldown_start_step}) before the warmup ({self.warmup_steps} steps); "
                                 f"raise the level or shorten the warmup")
        if self.epoch_ends is not None:
            ends = self.epoch_ends
            if (len(ends) != self.epochs or list(ends) != sorted(set(ends)) or ends[-1] != self.samples_seen
                    or ends[0] < self.batch_size):
                raise UserInputError(f"epoch_ends {list(ends)} must be {self.epochs} increasing sample counts, "
                                     f"at least one batch apart, ending at samples_seen {self.samples_seen}")

    # Step arithmetic ------------------------------------------------------------------------
    @property
    def total_steps(self) -> int:
        """Optimizer steps: samples_seen // batch_size (the last partial batch is dropped)."""
        return self.samples_seen // self.batch_size

    @property
    def warmup_steps(self) -> int:
        """Warmup steps: warmup_samples // batch_size if set, else the warmup fraction of the steps."""
        if self.warmup_samples is not None:
            return self.warmup_samples // self.batch_size
        return round(self.warmup * self.total_steps)

    @property
    def cooldown_steps(self) -> int:
        """Steps of the cool-down (const-cooldown): the cooldown fraction of the steps, at least 1."""
        return max(1, round(self.cooldown * self.total_steps))

    @property
    def cooldown_start_step(self) -> int:
        """The first step of the cool-down: steps before it run at the constant peak lr."""
        return self.total_steps - self.cooldown_steps

    def epoch_end_step(self, epoch: int) -> int:
        """The step count after which checkpoint `epoch` (1-based) is written."""
        if self.epoch_ends is not None:
            return self.epoch_ends[epoch - 1] // self.batch_size
        return (epoch * self.total_steps) // self.epochs

    def epoch_of_step(self, step: int) -> int:
        """The 1-based epoch that optimizer step `step` (0-based) belongs to."""
        return next(e for e in range(1, self.epochs + 1) if step < self.epoch_end_step(e))

    # Serialisation --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        for name, default in _NEW_FIELDS.items():
            if d[name] == default:
                del d[name]
        if d.get("epoch_ends") is not None:
            d["epoch_ends"] = list(d["epoch_ends"])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainSpec":
        """Build a spec from a dict; unknown keys are errors (a typo must not silently change a run)."""
        known = {f.name for f in dataclasses.fields(cls)}
        extra = sorted(set(d) - known)
        if extra:
            raise UserInputError(f"unknown train spec keys {extra}; {choices_hint(known)}")
        missing = sorted(f.name for f in dataclasses.fields(cls)
                         if f.name not in d and f.default is dataclasses.MISSING)
        if missing:
            raise UserInputError(f"train spec is missing {missing}")
        return cls(**d)

    def replace(self, **changes: Any) -> "TrainSpec":
        return dataclasses.replace(self, **changes)


def default(name: str) -> Any:
    """TrainSpec's default of field `name`: the one place the CLI and the study spec read it from."""
    fields = {f.name: f for f in dataclasses.fields(TrainSpec)}
    if name not in fields or fields[name].default is dataclasses.MISSING:
        raise KeyError(f"TrainSpec has no default for {name!r}")
    return fields[name].default
