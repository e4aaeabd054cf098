"""What an adaptive study chooses from: its units, what each costs, and the candidates the design sees.

A unit is one study point that can be trained on its own:
- levels_from = "runs": a whole run of the grid (a `Run`, one samples-seen level);
- levels_from = "cooldown": one cool-down branch of a trunk (a `Branch`). The trunk is trained only
  as far as the branches chosen so far need (clipscale.train.branches.train_trunk_to), so a branch
  whose start the trunk already reaches costs its cool-down only; one beyond it also pays for
  extending the trunk. Trunks are not candidates of their own: a trunk teaches nothing until a
  branch anneals it.

Costs are in the budget's unit: total GMACs (forward GMACs per sample x samples trained) or seconds
(samples trained / the measured samples per second, plus the unit's evaluation and start-up). A
unit already chosen keeps the cost it was attributed when its turn came (in the order the design
chose them), so the cost of the units chosen so far always sums to what was trained. Nothing here
reads files: the study folder's records come in as arguments (clipscale.study.adaptive).
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Any, Iterable, Sequence

from clipscale.compute import gmacs_per_sample
from clipscale.design import Candidate, DesignSettings, check_design
from clipscale.errors import UserInputError
from clipscale.laws.defaults import DECISION_N_BOOT, SEED


@dataclasses.dataclass(frozen=True)
class Branch:
    """The cool-down branch of `level` (samples seen) of the grid's trunk `run` (a study.spec.Run in
    levels_from = "cooldown"); `name` keys its status, results and lock files."""

    run: Any
    level: int

    @property
    def name(self) -> str:
        return f"{self.run.name}@{self.level}"

    @property
    def model(self) -> str:
        return self.run.model

    @property
    def samples_seen(self) -> int:
        return self.level

    @property
    def data_size(self) -> int:
        return self.run.data_size


def pool(spec) -> list:
    """Every unit of `spec`'s grid, in the grid's order: its runs, or in cool-down mode one Branch
    per trunk x level."""
    runs = spec.runs()
    if spec.train.levels_from == "cooldown":
        return [Branch(r, lv) for r in runs for lv in r.levels]
    return list(runs)


@functools.lru_cache(maxsize=256)
def branch_starts(run) -> dict[int, int]:
    """Level -> the sample count at which its cool-down starts on the trunk of `run` (a cool-down Run)."""
    from clipscale.train.branches import plan
    from clipscale.train.spec import TrainSpec

    p = plan(TrainSpec.from_dict(run.train_spec()), run.levels)
    return {lv: b.cooldown_start_step * b.batch_size for lv, b in zip(p.levels, p.branches)}


def samples_to_train(unit, trunk_reach: dict[str, int]) -> int:
    """Samples `unit` trains, given how far each trunk reaches already (trunk run name -> samples):
    a branch, the trunk's extension up to its start and its cool-down; a run, all of it."""
    if isinstance(unit, Branch):
        start = branch_starts(unit.run)[unit.level]
        return max(0, start - trunk_reach.get(unit.run.name, 0)) + unit.level - start
    return int(unit.samples_seen)


@dataclasses.dataclass(frozen=True)
class Costs:
    """A unit's cost = per_sample[model] x samples it trains + per_unit[model], in `unit`: "gmacs"
    (forward GMACs per sample, nothing per unit) or "s" (1 / samples per second, plus the seconds of
    evaluating and starting a unit)."""

    unit: str
    per_sample: dict[str, float]
    per_unit: dict[str, float]

    @classmethod
    def gmacs(cls, models: Iterable[str]) -> "Costs":
        models = sorted(set(models))
        return cls("gmacs", {m: float(gmacs_per_sample(m)) for m in models}, {m: 0.0 for m in models})

    def of(self, unit, samples: int) -> float:
        return self.per_sample[unit.model] * samples + self.per_unit[unit.model]


def attributed(units: Sequence, chosen: Sequence[str], costs: Costs) -> tuple[dict[str, float], dict[str, int]]:
    """({key: cost} of the chosen units in the order chosen, {trunk: samples it reaches} after them)."""
    by_key = {u.name: u for u in units}
    reach: dict[str, int] = {}
    out = {}
    for key in chosen:
        u = by_key[key]
        out[key] = costs.of(u, samples_to_train(u, reach))
        if isinstance(u, Branch):
            reach[u.run.name] = max(reach.get(u.run.name, 0), branch_starts(u.run)[u.level])
    return out, reach


def candidates(units: Sequence, chosen: Sequence[str], costs: Costs) -> list[Candidate]:
    """Every unit as a design Candidate (compute and size in GMACs: total and per sample): the chosen
    ones at their attributed cost, the others at what they would cost now."""
    spent, reach = attributed(units, chosen, costs)
    out = []
    for u in units:
        g = float(gmacs_per_sample(u.model))
        cost = spent[u.name] if u.name in spent else costs.of(u, samples_to_train(u, reach))
        out.append(Candidate(key=u.name, compute=g * u.samples_seen, cost=cost, size=g, samples=float(u.samples_seen),
                             data=float(u.data_size)))
    return out


def targets(spec) -> list[float]:
    """The design's target computes (total GMACs): [design] target_compute, or the target run's."""
    d = spec.design
    if d.target_compute:
        return [float(c) for c in d.target_compute]
    return [float(gmacs_per_sample(d.target_model)) * d.target_samples_seen]


def settings(spec) -> DesignSettings:
    """The design's settings from the spec: the law is the headline's ([fit] method; its bootstrap at
    most DECISION_N_BOOT resamples)."""
    d = spec.design
    return DesignSettings(method=spec.fit.method, batch=d.batch, tolerance_pct=d.tolerance or None, joint=d.joint,
                          n_boot=min(spec.fit.n_boot, DECISION_N_BOOT), seed=SEED)


def check_spec(spec) -> None:
    """An adaptive spec's target and budget against its grid: UserInputError for a target inside the
    grid's compute range (interpolation), one model size when [design] joint asks for the joint law,
    or a budget_gmacs below the seed design's cost (a seconds budget is checked once speeds are measured)."""
    if spec.design.target_model:
        from clipscale.models import model_config

        model_config(spec.design.target_model)  # NotFoundError lists the valid architectures
    units = pool(spec)
    budget = None if spec.budget.seconds else spec.design.budget_gmacs
    try:
        check_design(candidates(units, [], Costs.gmacs(u.model for u in units)), targets(spec), budget,
                     settings(spec))
    except UserInputError as exc:
        unit = "" if budget is None else " (budget_gmacs and costs in total GMACs)"
        raise UserInputError(f"[design]{unit}: {exc}") from None
