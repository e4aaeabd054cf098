"""The study spec: one small TOML file, a product of axes expanded into named, hashed runs.

Like big_vision's sweeps, a study is declared as axes (model x data size x samples seen x lr x
batch size); every combination is one training run. Unknown keys are errors, so a typo never
silently falls back to a default. Sizes are counts of image-text pairs (samples), never bytes.
"""
from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clipscale.errors import UserInputError, choices_hint
from clipscale.laws.defaults import FRONTIER_METHOD, N_BOOT
from clipscale.train.spec import ENGINES, PRECISIONS, TrainSpec, default

LAUNCHERS = ("local", "torchrun", "slurm")
# "runs": one training run per samples-seen level, each with its full schedule (the paper's way).
# "checkpoints": one run per (model, data, lr, batch) to the largest level; the smaller levels are
# read from its intermediate checkpoints (cheaper: the largest level's compute only).
# "cooldown": one constant-lr trunk per (model, data, lr, batch), one short cool-down branch per
# level (Hägele et al. 2024; clipscale.train.branches): every level annealed, for about the
# largest level's compute.
LEVELS_FROM = ("runs", "checkpoints", "cooldown")


@dataclass(frozen=True)
class Axes:
    """The grid: every combination of these values is one run."""

    model: tuple[str, ...]               # ladder names (ladder-xs ... ladder-xl) or OpenCLIP names
    data_size: tuple[int, ...]           # unique image-text pairs (a prefix of the embedded data)
    samples_seen: tuple[int, ...]        # samples (pairs) trained on, repeats included
    lr: tuple[float, ...] = (default("lr"),)                # peak learning rate
    batch_size: tuple[int, ...] = (default("batch_size"),)  # global batch, samples
    # A compute band in total GMACs (gmacs per sample x samples seen): a model's levels outside
    # [min, max] are dropped, so small models run long and large ones short, as compute-optimal
    # grids do. 0 = no bound.
    min_gmacs_total: float = 0.0
    max_gmacs_total: float = 0.0
    # Training seeds: each configuration is run once per seed (replicates: their spread is the
    # seed-to-seed noise the frontier law's intervals carry, clipscale.laws.calibrate). () = [train] seed
    # only, the runs (names, hashes) of a spec without this axis.
    seed: tuple[int, ...] = ()


@dataclass(frozen=True)
class TrainSettings:
    """Settings shared by every run of the study; defaults and checks are clipscale.train.TrainSpec's."""

    engine: str = default("engine")
    precision: str = default("precision")
    warmup: float = default("warmup")    # fraction of a run's optimizer steps spent warming up
    weight_decay: float = default("weight_decay")
    epochs: int = 4                      # checkpoints per run (TrainSpec.epochs, OpenCLIP's): learning curves
    levels_from: str = "runs"
    seed: int = default("seed")
    train_data: str = ""                 # webdataset shards ('dir/{000000..000099}.tar'); "" = embedded
    cooldown: float = default("cooldown")  # levels_from = "cooldown": fraction of a level's steps cooled down
    warmup_samples: int = 0              # levels_from = "cooldown": warmup in samples; 0 = warmup x largest level
    world: str = default("world")        # the embedded data's world (clipscale.data.worlds): part of each run's spec


@dataclass(frozen=True)
class EvalSettings:
    tasks: tuple[str, ...] = ()          # () = clipscale.evaluate.DEFAULT_EMBEDDED_TASKS
    every_checkpoint: bool = True        # evaluate intermediate checkpoints too (learning curves)
    limit: int = 0                       # at most this many test images per task; 0 = all


@dataclass(frozen=True)
class FitSettings:
    dataset: str = ""                    # downstream_dataset of the headline law; "" = ImageNet's role
    method: str = FRONTIER_METHOD        # a clipscale.laws method (default: the recommended frontier law)
    holdout_top: int = 3                 # backtest: fit without the k largest-compute points, predict them
    # backtest, when > 0 (it replaces holdout_top): judge the k largest-compute frontier runs and fit
    # without every run at or above the cheapest of them (clipscale.laws.Holdout(frontier_top=k))
    holdout_frontier_top: int = 0
    n_boot: int = N_BOOT                 # bootstrap resamples behind every interval (clipscale.laws.defaults)

    def holdout(self):
        """The backtest's clipscale.laws.Holdout (frontier_top, else top), or None for no backtest."""
        from clipscale.laws.split import Holdout

        if self.holdout_frontier_top:
            return Holdout(frontier_top=self.holdout_frontier_top)
        return Holdout(top=self.holdout_top) if self.holdout_top else None


@dataclass(frozen=True)
class FinetuneSettings:
    """[finetune]: fine-tune each run's last checkpoint on these tasks (clipscale.evaluate.transfer)."""

    tasks: tuple[str, ...] = ()          # () = no fine-tuning; classification tasks with a train split
    epochs: int = 2
    lr: float = 1e-4                     # peak AdamW learning rate (warmup then cosine)
    batch_size: int = 64
    limit: int = 0                       # at most this many images per split; 0 = all
    wise_alpha: float = 1.0              # WiSE-FT: 0 = zero-shot weights, 1 = fine-tuned
    train_images: int = 0                # fine-tune on the first N train images (limited data); 0 = all
    head_init: str = "probe"             # the head at step 0: probe (LP-FT, measured best) or zeroshot (text classifier)


@dataclass(frozen=True)
class LaunchSettings:
    launcher: str = "local"
    jobs: int = 2                        # runs at once (local); array parallelism (slurm)
    threads: int = 1                     # torch threads per run
    nproc_per_node: int = 2              # processes per run under torchrun


@dataclass(frozen=True)
class SlurmSettings:
    """sbatch settings, passed to submitit's AutoExecutor (slurm_* parameters)."""

    partition: str = ""
    account: str = ""
    qos: str = ""
    constraint: str = ""
    time_min: int = 60                   # wall-clock limit per run, minutes
    nodes: int = 1
    gpus_per_node: int = 0
    tasks_per_node: int = 1
    cpus_per_task: int = 4
    mem_gb: int = 16
    cluster: str = ""                    # "" = auto (slurm when sbatch exists); "local" = this machine


@dataclass(frozen=True)
class BudgetSettings:
    """A wall-time budget (clipscale.study.budget): the samples-seen levels are scaled to fit it."""

    seconds: float = 0.0                 # whole study (measure, train, evaluate, fit, report); 0 = none
    # levels_from = "cooldown" only: each trunk chooses its largest level while training, from its own
    # measured speed, to end in the time the plan gave it (clipscale.train.branches, elastic top level)
    elastic: bool = False


#: [design] strategy: "grid" trains every run of the grid; "adaptive" chooses the runs round by round
#: (clipscale.design, issue 24; clipscale.study.adaptive runs it)
STRATEGIES = ("grid", "adaptive")


@dataclass(frozen=True)
class DesignTable:
    """[design]: which runs of the grid to train. `adaptive`: round by round, the runs that pin down
    the headline law's prediction at the target compute for the least cost (docs/design.md, "Live")."""

    strategy: str = "grid"
    target_compute: tuple[float, ...] = ()  # total GMACs of the prediction(s) the design pins down ...
    target_model: str = ""               # ... or a run to predict: its model and samples seen
    target_samples_seen: int = 0
    batch: int = 1                       # runs chosen per round (batch = [launch] jobs: rounds in lockstep)
    tolerance: float = 0.0               # error-% points: stop when the 90% interval at the target is narrower; 0 = spend the budget
    budget_gmacs: float = 0.0            # without [budget] seconds: total GMACs of training the design may spend
    joint: bool = False                  # the chosen runs must keep the joint law E(N, D) identifiable (2 model sizes)


@dataclass(frozen=True)
class StudySpec:
    name: str
    out: str
    axes: Axes
    train: TrainSettings = field(default_factory=TrainSettings)
    eval: EvalSettings = field(default_factory=EvalSettings)
    fit: FitSettings = field(default_factory=FitSettings)
    launch: LaunchSettings = field(default_factory=LaunchSettings)
    slurm: SlurmSettings = field(default_factory=SlurmSettings)
    budget: BudgetSettings = field(default_factory=BudgetSettings)
    finetune: FinetuneSettings = field(default_factory=FinetuneSettings)
    design: DesignTable = field(default_factory=DesignTable)

    def to_dict(self) -> dict[str, Any]:
        """The spec as a dict (study.json, plan.json's key). A grid study's [design] table at its
        defaults is left out, so the folders and plans of studies written before it still match."""
        out = dataclasses.asdict(self)
        if self.design == DesignTable():
            del out["design"]
        return out

    @property
    def out_dir(self) -> Path:
        return Path(self.out)

    def runs(self) -> list["Run"]:
        return expand(self)

    def replace(self, **sections: Any) -> "StudySpec":
        """A copy with top-level fields replaced; `launch={"jobs": 1}` updates one section's keys."""
        changes = {}
        for key, value in sections.items():
            current = getattr(self, key)
            changes[key] = dataclasses.replace(current, **value) if isinstance(value, dict) else value
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Run:
    """One training run of the grid, with the samples-seen levels it contributes as study points."""

    model: str
    data_size: int
    samples_seen: int
    lr: float
    batch_size: int
    levels: tuple[int, ...]
    train: TrainSettings
    elastic: bool = False  # the largest level is chosen while training (BudgetSettings.elastic)

    def train_spec(self, num_threads: int = 1) -> dict[str, Any]:
        """The clipscale.train.TrainSpec fields of this run (num_threads is not part of the hash).
        In cooldown mode, the spec of the largest level's branch (the trunk and branches follow)."""
        t = self.train
        spec = {"model": self.model, "data_size": self.data_size, "samples_seen": self.samples_seen,
                "batch_size": self.batch_size, "lr": self.lr, "warmup": t.warmup,
                "weight_decay": t.weight_decay, "precision": t.precision, "seed": t.seed,
                "epochs": self.epochs, "train_data": t.train_data or None, "num_threads": num_threads,
                "engine": t.engine}
        if t.levels_from == "cooldown":
            spec.update(schedule="const-cooldown", cooldown=t.cooldown, warmup_samples=t.warmup_samples or None)
        if t.world != default("world"):  # the full world's hashes stay those of before worlds were recorded
            spec["world"] = t.world
        return spec

    @property
    def is_trunk(self) -> bool:
        """A cooldown-mode run: a trunk with one branch per level."""
        return self.train.levels_from == "cooldown"

    @property
    def epochs(self) -> int:
        if self.is_trunk:
            return 1  # the trunk checkpoints at its branch points (clipscale.train.branches)
        if len(self.levels) == 1:
            return self.train.epochs
        # One checkpoint at every level: chunks of the levels' greatest common divisor.
        return max(self.train.epochs, self.samples_seen // math.gcd(*self.levels))

    @property
    def hash(self) -> str:
        """8 hex digits of the run's training spec and, for embedded data, the data's grammar version:
        same spec and data, same hash, same folder (a new data version never reuses old runs)."""
        spec = self.train_spec()
        spec.pop("num_threads")
        if self.is_trunk:
            spec["levels"] = list(self.levels)  # the trunk's branch points
            if self.elastic:
                spec["elastic_top"] = True  # its trunk stops at the last fixed level: another folder
        if not self.train.train_data:
            from clipscale.data.worlds import data_version

            spec["embedded_data_version"] = data_version(self.train.world)  # grammar version (+ world unless full)
        blob = json.dumps(spec, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:8]

    @property
    def name(self) -> str:
        """Readable and unique: model, data size, samples seen, lr, batch, hash."""
        from clipscale.schema import pretty_samples

        return (f"{self.model}_d{pretty_samples(self.data_size)}_s{pretty_samples(self.samples_seen)}"
                f"_lr{self.lr:g}_b{self.batch_size}_{self.hash}")


#: the axes of the grid: the fields of Axes that hold a tuple of values (the compute band does not)
AXIS_KEYS = tuple(name for name, hint in typing.get_type_hints(Axes).items() if typing.get_origin(hint) is tuple)


def expand(spec: StudySpec) -> list[Run]:
    """Every run of the grid, in a stable order (the axes' order, then their values' order)."""
    a = spec.axes
    runs = []
    trains = [spec.train] if not a.seed else [dataclasses.replace(spec.train, seed=s) for s in a.seed]
    for model, data, lr, batch, train in itertools.product(a.model, a.data_size, a.lr, a.batch_size, trains):
        levels = in_band(spec, model, sorted(a.samples_seen))
        if not levels:
            continue
        if spec.train.levels_from in ("checkpoints", "cooldown"):
            elastic = spec.budget.elastic and spec.train.levels_from == "cooldown" and len(levels) >= 2
            runs.append(Run(model, data, levels[-1], lr, batch, tuple(levels), train, elastic))
        else:
            runs.extend(Run(model, data, s, lr, batch, (s,), train) for s in levels)
    return runs


def in_band(spec: StudySpec, model: str, levels: list[int]) -> list[int]:
    """The samples-seen levels of `model` whose total GMACs lie in the spec's compute band."""
    lo, hi = spec.axes.min_gmacs_total, spec.axes.max_gmacs_total
    if not lo and not hi:
        return list(levels)
    from clipscale.compute import gmacs_per_sample

    g = gmacs_per_sample(model)
    return [s for s in levels if (not lo or g * s >= lo) and (not hi or g * s <= hi)]


# ---------------------------------------------------------------- parsing and validation

_SECTIONS = {"axes": Axes, "train": TrainSettings, "eval": EvalSettings, "fit": FitSettings,
             "launch": LaunchSettings, "slurm": SlurmSettings, "budget": BudgetSettings,
             "finetune": FinetuneSettings, "design": DesignTable}
#: keys renamed by issue 27 (one word per concept): (section, old key) -> (new key, what it holds).
#: An old key is refused with one line naming the new one, never read silently.
RENAMED_KEYS = {("fit", "task"): ("dataset", "the downstream dataset whose law is the headline"),
                ("train", "checkpoints"): ("epochs", "checkpoints per run, as TrainSpec and OpenCLIP call them")}


def load_spec(path: str | Path, out: str | Path | None = None) -> StudySpec:
    """Read and validate a study spec; `out` overrides its output folder.

    A relative `out` in the file is relative to the spec file's folder.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise UserInputError(f"study spec {path} not found; write one with `clipscale study init {path}`") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserInputError(f"{path} is not valid TOML: {exc}; fix the line named") from None
    if out is None:
        out = raw.get("out", f"{raw.get('name', path.stem)}-out")
        out = out if Path(out).is_absolute() else str(path.resolve().parent / out)
    return spec_from_dict({**raw, "out": str(out)}, where=str(path))


def spec_from_dict(raw: dict[str, Any], where: str = "spec") -> StudySpec:
    """Build and validate a StudySpec from a parsed TOML table."""
    top = {f.name for f in dataclasses.fields(StudySpec)}
    _check_keys(raw, top, where)
    if "axes" not in raw:
        raise UserInputError(f"{where}: missing [axes] table; declare model, data_size and samples_seen")
    kwargs: dict[str, Any] = {"name": _typed(raw.get("name", "study"), str, f"{where}: name"),
                              "out": _typed(raw.get("out", "study-out"), str, f"{where}: out")}
    for key, cls in _SECTIONS.items():
        if key in raw:
            if not isinstance(raw[key], dict):
                raise UserInputError(f"{where}: '{key}' must be a table ([{key}]), got {raw[key]!r}")
            _refuse_renamed(key, raw[key], where)
            # to_dict writes both (the [train] seed at its default): only a chosen [train] seed clashes
            if key == "axes" and raw[key].get("seed") and \
                    (raw.get("train") or {}).get("seed", TrainSettings.seed) != TrainSettings.seed:
                raise UserInputError(f"{where}: give the seeds in [axes] seed or one in [train] seed, not both")
            # likewise holdout_top at its default: only a chosen count clashes with a frontier split
            if key == "fit" and raw[key].get("holdout_frontier_top") and \
                    raw[key].get("holdout_top", FitSettings.holdout_top) != FitSettings.holdout_top:
                raise UserInputError(f"{where} [fit]: give holdout_top or holdout_frontier_top, not both "
                                     "(holdout_frontier_top judges the largest frontier runs: the demo's split)")
            kwargs[key] = _build(cls, raw[key], f"{where} [{key}]")
    spec = StudySpec(**kwargs)
    validate(spec, where)
    return spec


def _refuse_renamed(section: str, table: dict, where: str) -> None:
    for (sec, old), (new, what) in RENAMED_KEYS.items():
        if sec == section and old in table:
            raise UserInputError(f"{where}: [{sec}] {old} is now [{sec}] {new} ({what}); rename the key")


def _check_keys(table: dict, valid: set[str], where: str) -> None:
    extra = sorted(set(table) - valid)
    if extra:
        raise UserInputError(f"{where}: unknown key {extra[0]!r}; {choices_hint(valid)}; "
                             f"see `clipscale study init` for a documented template")


def _build(cls: type, table: dict[str, Any], where: str):
    fields = {f.name: f for f in dataclasses.fields(cls)}
    _check_keys(table, set(fields), where)
    hints = typing.get_type_hints(cls)
    missing = [n for n, f in fields.items() if n not in table and f.default is dataclasses.MISSING
               and f.default_factory is dataclasses.MISSING]
    if missing:
        raise UserInputError(f"{where}: missing key {missing[0]!r}")
    return cls(**{k: _typed(v, hints[k], f"{where} {k}") for k, v in table.items()})


def _typed(value: Any, hint: Any, where: str) -> Any:
    """Check `value` against a simple type hint (str, int, float, bool, tuple[X, ...])."""
    if typing.get_origin(hint) is tuple:
        item = typing.get_args(hint)[0]
        values = value if isinstance(value, list) else [value]
        return tuple(_typed(v, item, where) for v in values)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, float) and value.is_integer():
        return int(value)  # 2e5 in TOML is a float
    if not isinstance(value, hint) or (hint is not bool and isinstance(value, bool)):
        raise UserInputError(f"{where}: expected {hint.__name__}, got {value!r}")
    return value


def _one_of(value: str, valid: tuple[str, ...], where: str) -> None:
    if value not in valid:
        raise UserInputError(f"{where}: {value!r} is not allowed; {choices_hint(valid)}")


def validate(spec: StudySpec, where: str = "spec") -> None:
    """Check values (positivity, choices, known models); raise UserInputError naming the key."""
    from clipscale.compute.configs import check_architecture

    a, t = spec.axes, spec.train
    for key in AXIS_KEYS:
        if not getattr(a, key) and key != "seed":  # no seed axis: [train] seed
            raise UserInputError(f"{where} [axes] {key}: an axis needs at least one value")
    if len(set(a.seed)) != len(a.seed) or any(v < 0 for v in a.seed):
        raise UserInputError(f"{where} [axes] seed: list each seed once, each >= 0; got {list(a.seed)}")
    for model in a.model:
        check_architecture(model)  # NotFoundError with the nearest names, before open_clip is imported
    for key in ("data_size", "samples_seen", "lr", "batch_size"):
        bad = [v for v in getattr(a, key) if v <= 0]
        if bad:
            raise UserInputError(f"{where} [axes] {key}: values must be > 0, got {bad[0]}")
        if len(set(getattr(a, key))) != len(getattr(a, key)):
            raise UserInputError(f"{where} [axes] {key}: duplicate values; list each value once")
    # The choices are TrainSpec's (one constant each), checked here to name the TOML key; every other
    # training value is checked by TrainSpec itself, run by run, below.
    _one_of(t.engine, ENGINES, f"{where} [train] engine")
    _one_of(t.precision, PRECISIONS, f"{where} [train] precision")
    _one_of(t.levels_from, LEVELS_FROM, f"{where} [train] levels_from")
    _one_of(spec.launch.launcher, LAUNCHERS, f"{where} [launch] launcher")
    for key, value in (("epochs", t.epochs), ("jobs", spec.launch.jobs),
                       ("threads", spec.launch.threads), ("nproc_per_node", spec.launch.nproc_per_node)):
        if value < 1:
            raise UserInputError(f"{where}: {key} must be >= 1, got {value}")
    if spec.fit.dataset and spec.eval.tasks and spec.fit.dataset not in spec.eval.tasks:
        raise UserInputError(f"{where} [fit] dataset {spec.fit.dataset!r} is not evaluated; "
                             f"{choices_hint(spec.eval.tasks)} (the [eval] tasks)")
    if spec.budget.elastic and t.levels_from != "cooldown":
        raise UserInputError(f"{where} [budget] elastic needs [train] levels_from = \"cooldown\" (a constant-lr "
                             f"trunk whose largest level can be chosen while training), got {t.levels_from!r}")
    _validate_fit(spec.fit, where)
    _validate_finetune(spec.finetune, where)
    for run in expand(spec):
        if run.epochs > 200:
            raise UserInputError(f"{where}: run {run.name} needs {run.epochs} checkpoints to hit every "
                                 f"samples_seen level; choose levels with a larger common divisor")
        try:
            TrainSpec.from_dict(run.train_spec())
        except UserInputError as exc:
            raise UserInputError(f"{where}: run {run.name} (its [axes] values and [train] settings): {exc}") from None
    _validate_design(spec, where)


def _validate_design(spec: StudySpec, where: str) -> None:
    """[design]: its values; for an adaptive study, its target and budget against the grid
    (clipscale.study.units.check_spec: interpolation, one model size for a joint law, a compute
    budget below the seed design's cost)."""
    d = spec.design
    _one_of(d.strategy, STRATEGIES, f"{where} [design] strategy")
    if d.strategy == "grid":
        if d != DesignTable():
            raise UserInputError(f"{where} [design]: its keys other than strategy apply to strategy = \"adaptive\" "
                                 f"only; set strategy = \"adaptive\" or remove them")
        return
    if d.batch < 1:
        raise UserInputError(f"{where} [design] batch: must be >= 1 (runs per round), got {d.batch}")
    for key in ("tolerance", "budget_gmacs"):
        if not (math.isfinite(getattr(d, key)) and getattr(d, key) >= 0):
            raise UserInputError(f"{where} [design] {key}: must be a number >= 0 (0 = none), got {getattr(d, key)}")
    if bool(d.target_compute) == bool(d.target_model or d.target_samples_seen):
        raise UserInputError(f"{where} [design]: give the target either as target_compute (total GMACs) or as "
                             f"target_model and target_samples_seen (a run to predict), not both or neither")
    if d.target_model and not (d.target_samples_seen > 0):
        raise UserInputError(f"{where} [design] target_samples_seen: must be > 0 with target_model, got "
                             f"{d.target_samples_seen}")
    if not spec.budget.seconds and not d.budget_gmacs:
        raise UserInputError(f"{where} [design]: an adaptive study needs a budget: [budget] seconds (wall time) "
                             f"or [design] budget_gmacs (total GMACs of training)")
    if spec.train.levels_from == "checkpoints":
        raise UserInputError(f"{where} [design] strategy = \"adaptive\" needs [train] levels_from = \"runs\" or "
                             f"\"cooldown\" (one study point per run or per branch), got \"checkpoints\"")
    if spec.budget.elastic:
        raise UserInputError(f"{where} [budget] elastic: an adaptive study chooses its own runs; remove elastic "
                             f"or set [design] strategy = \"grid\"")
    from clipscale.study.units import check_spec

    try:
        check_spec(spec)
    except UserInputError as exc:
        raise UserInputError(f"{where} {exc}") from None


def _validate_fit(fit: FitSettings, where: str) -> None:
    """The [fit] table: held-out counts, the law method (laws.methods' registry), the bootstrap count."""
    for key in ("holdout_top", "holdout_frontier_top"):
        if getattr(fit, key) < 0:
            raise UserInputError(f"{where} [fit] {key}: must be >= 0, got {getattr(fit, key)}")
    from clipscale.laws.methods import get as law_method

    try:
        law_method(fit.method)
    except UserInputError as exc:
        raise UserInputError(f"{where} [fit] method: {exc}") from None
    if fit.n_boot < 0:
        raise UserInputError(f"{where} [fit] n_boot: must be >= 0 (0 = no intervals), got {fit.n_boot}")


def _validate_finetune(f: FinetuneSettings, where: str) -> None:
    """[finetune]: known classification tasks and a valid recipe (the fine-tuning module's checks)."""
    if not f.tasks:
        return
    from clipscale.evaluate.finetune import Recipe, finetune_task

    for task in f.tasks:
        finetune_task(task)
    try:
        Recipe(epochs=f.epochs, lr=f.lr, batch_size=f.batch_size, wise_alpha=f.wise_alpha,
               train_images=f.train_images or None, head_init=f.head_init).check()
    except UserInputError as exc:
        raise UserInputError(f"{where} [finetune]: {exc}") from None
