"""A whole study with one call: spec -> runs -> checkpoints -> results table -> fitted laws -> report.

`run_study(spec)` trains what is not done yet (a rerun skips finished runs and resumes interrupted
ones), merges the per-run results, fits the laws on what succeeded, writes the report and a
summary.json that says which runs are missing and why. `study_status(spec)` reads the folder only.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clipscale.compute import gmacs_per_sample
from clipscale.errors import ClipscaleError
from clipscale.laws.defaults import SEED
from clipscale.schema import EVAL_KIND_COL
from clipscale.study.sizing import Plan
from clipscale.study.spec import StudySpec
from clipscale.study.store import Store
from clipscale.study.summary import StudySummary, build_summary, unmet_targets


@dataclass
class StudyOutcome:
    """What `run_study` produced: tables (DataFrames), paths, the runs that did not succeed, and the
    study's summary (summary.json)."""

    out_dir: Path
    results: Any
    curves: Any
    fits: Any
    report: Path | None
    missing: list[dict[str, str]] = field(default_factory=list)
    wall_s: float = 0.0
    summary: StudySummary | None = None


def run_study(spec: StudySpec, *, launcher: str | None = None, jobs: int | None = None,
              threads: int | None = None, progress: bool = True, report: bool = True,
              plan: Plan | None = None, started: float | None = None, targets: bool = False) -> StudyOutcome:
    """Run every pending run of `spec`, then fit and report; returns a StudyOutcome.

    `launcher`, `jobs` and `threads` override the spec's [launch] table. A failed run is recorded
    with its reason and the others go on; the fits and the report use the runs that succeeded.
    `plan`: the wall-time budget's plan `spec` was sized by (clipscale.study.budget), measured before
    `started` (time.time()); `targets`: check the demo's targets (clipscale.study.summary).
    """
    from clipscale.study.launch import LAUNCHERS
    from clipscale.study.progress import Progress

    t0 = time.time()
    launcher, jobs, threads = _launch_settings(spec, launcher, jobs, threads)
    if spec.design.strategy == "adaptive":  # [design]: round by round (clipscale.study.adaptive)
        from clipscale.study.adaptive import train_adaptive

        train_adaptive(spec, dataset=headline_dataset(spec), kinds=ZERO_SHOT_KINDS, launcher=launcher, jobs=jobs,
                       threads=threads, progress=progress, started=started)
        return finish_study(spec, report=report, wall_s=time.time() - t0, started=started, targets=targets)
    store = Store(spec.out)
    runs = spec.runs()
    store.write_spec(spec.to_dict())
    todo = [r for r in runs if store.state(r.name)[0] != "done"]
    for run in todo:  # a rerun retries failed runs: clear the old reason first
        if store.state(run.name)[0] == "failed":
            store.status_path(run.name).unlink(missing_ok=True)
    bar = Progress(store, todo, enabled=progress, speeds=plan.speeds if plan else None,
                   planned_s=plan.planned_from_start_s() if plan else None)
    if todo:
        LAUNCHERS[launcher](spec, todo, jobs, threads, bar)
    return finish_study(spec, report=report, wall_s=time.time() - t0, plan=plan,
                        started=t0 if started is None else started, targets=targets)


def _launch_settings(spec: StudySpec, launcher: str | None, jobs: int | None, threads: int | None):
    """(launcher, jobs, threads): the overrides, else the spec's [launch] table; checked."""
    from clipscale.errors import UserInputError, unknown
    from clipscale.study.launch import LAUNCHERS

    launch = spec.launch
    launcher, jobs, threads = launcher or launch.launcher, jobs or launch.jobs, threads or launch.threads
    if launcher not in LAUNCHERS:
        raise unknown("launcher", launcher, LAUNCHERS, fix="pass --launcher local, torchrun or slurm")
    if jobs < 1 or threads < 1:
        raise UserInputError(f"--jobs and --threads must be >= 1, got {jobs} and {threads}")
    return launcher, jobs, threads


def run_with_budget(spec, seconds: float, *, jobs: int | None = None, progress: bool = True, report: bool = True,
                    replay: str | Path | None = None, targets: bool = False):
    """Plan `spec` for `seconds` (or take the plan and chosen largest levels of the earlier run in
    folder `replay`: clipscale.study.budget.replay) and run it; summary.json records planned vs
    actual seconds. Returns (StudyOutcome, Plan)."""
    from clipscale.study import budget

    t0 = time.time()
    if spec.design.strategy == "adaptive":  # its grid is the design's pool: measured, never scaled
        if replay is not None:
            from clipscale.errors import UserInputError

            raise UserInputError("--replay repeats a grid's plan; an adaptive study resumes its own design.jsonl: "
                                 "rerun it in its folder without --replay")
        spec = spec.replace(budget={"seconds": seconds})
        return run_study(spec, jobs=jobs, progress=progress, report=report, started=t0, targets=targets), None
    if replay is not None:
        budget.replay(spec, seconds, replay)
    p = budget.planned(spec, seconds)
    outcome = run_study(p.spec, jobs=jobs, progress=progress, report=report, plan=p, started=t0, targets=targets)
    return outcome, p


def finish_study(spec: StudySpec, *, report: bool = True, wall_s: float = 0.0, plan: Plan | None = None,
                 started: float | None = None, targets: bool = False) -> StudyOutcome:
    """Merge, fit, summarise and report from whatever runs are stored (used by run_study and `study
    report`); summary.json is written once, last. `plan`, `started`: as for run_study."""
    store = Store(spec.out)
    runs = spec.runs()
    trained = _trained_units(spec, store, runs)
    results, curves = merged_results(spec, store, runs, [u.name for u in trained])
    missing = [{"run": r.name, "state": s, "reason": why}
               for r in trained for s, why in [store.state(r.name)] if s != "done"]
    found, backtest, fit_note = fit_study(spec, results)
    fits = None
    if found is not None:  # fits.json (the fit objects) is what the report and `clipscale plan` read back
        store.write_fits(found)
        fits = found.frame()
    notes = study_notes(fit_note, plan, wall_s, missing, len(trained))
    facts = [budget_note(plan, wall_s)] if plan is not None else []
    if spec.design.strategy == "adaptive":  # what the design chose and spent: facts, not problems
        from clipscale.study.adaptive import design_lines

        facts += design_lines(spec)
        notes += design_lines(spec)
    summary = build_summary(spec, headline_dataset(spec), results, fits, missing, notes, wall_s, backtest)
    if targets:  # the page states them; checked again below, once the wall time includes the report
        summary.unmet = unmet_targets(summary)
    report_path = make_report(spec, results, curves, store.fits_json if found is not None else None,
                              backtest, [n for n in summary.notes if n not in facts], training_curves(store, runs),
                              unmet=summary.unmet, facts=facts) if report else None
    if plan is not None:  # the seconds it took in all, measuring and report included
        from clipscale.study.budget import budget_facts

        summary.budget = budget_facts(plan, spec, wall_s if started is None else time.time() - started)
    if targets:
        summary.unmet = unmet_targets(summary)
    store.write_summary(summary.to_dict())
    return StudyOutcome(store.root, results, curves, fits, report_path, missing, wall_s, summary)


def _trained_units(spec: StudySpec, store: Store, runs) -> list:
    """What the study trains: its runs, or the units an adaptive design chose (clipscale.study.units)."""
    if spec.design.strategy != "adaptive":
        return list(runs)
    from clipscale.study.adaptive import chosen_keys
    from clipscale.study.units import pool

    chosen = set(chosen_keys(store.read_design()))
    return [u for u in pool(spec) if u.name in chosen]


def merged_results(spec: StudySpec, store: Store, runs, names=None):
    """(results, curves): the stored rows of the runs (or of the units `names`) merged (results.csv,
    curves.csv), with the rows of [finetune] appended to the results."""
    results, curves = store.merge([r.name for r in runs] if names is None else names)
    tuned = finetune_runs(spec, store, runs)  # [finetune]: rows appended to results.csv (evaluation kind finetune)
    if tuned is not None and len(tuned):
        import pandas as pd

        results = tuned if results is None or results.empty else pd.concat([results, tuned], ignore_index=True)
    return results, curves


def study_notes(fit_note: str, plan: Plan | None, wall_s: float, missing: list[dict], n_runs: int) -> list[str]:
    """The sentences a study's summary and report start with: why a fit is missing, what the budget
    promised and took, which runs are missing and why."""
    notes = [fit_note] if fit_note else []
    if plan is not None:
        notes.append(budget_note(plan, wall_s))
    if missing:
        notes.append(f"{len(missing)} of {n_runs} runs missing: "
                     + "; ".join(f"{m['run']} ({m['state']}{': ' + m['reason'] if m['reason'] else ''})"
                                 for m in missing[:10]))
    return notes


def budget_note(plan: Plan, wall_s: float) -> str:
    """clipscale.study.budget's plan in one sentence: what was measured and promised, and what it took."""
    speeds = ", ".join(f"{m} {v:,.0f}" for m, v in plan.speeds.items())
    return (f"wall-time budget {plan.budget_s:.0f} s: planned {plan.predicted_s:.0f} s (levels x{plan.scale:.3g}); "
            f"training and evaluation took {wall_s:.0f} s after {plan.measure_s:.0f} s of measuring; measured "
            f"training speed (samples/s per worker, {plan.precision}): {speeds}")


def finetune_runs(spec: StudySpec, store, runs):
    """[finetune]: the fine-tuned rows (evaluation kind finetune), also appended to results.csv; or None."""
    if not spec.finetune.tasks:
        return None  # without [finetune], fitting and reporting need no torch (10 s to import here)
    from clipscale.evaluate.transfer import finetune_study

    return finetune_study(spec.finetune, [(r.name, store.run_dir(r.name)) for r in runs],
                          cache_dir=store.finetune_dir, results_path=store.results_path)


def headline_dataset(spec: StudySpec) -> str:
    """The downstream dataset of the headline law: [fit] dataset, else ImageNet's role when
    evaluated, else the first task of [eval] tasks (an embedded task's name is its dataset's)."""
    if spec.fit.dataset:
        return spec.fit.dataset
    from clipscale import evaluate as ev

    tasks = list(spec.eval.tasks) or list(ev.DEFAULT_EMBEDDED_TASKS)
    return ev.IMAGENET_ROLE_TASK if ev.IMAGENET_ROLE_TASK in tasks else tasks[0]


#: the study's joint law E(N, D): N = per-sample GMACs of the trained models (so C = N x D is total
#: GMACs exactly), D = samples seen (benchmarks/bench_study_fits.py times it on a finished study)
JOINT_SIZE_COL, JOINT_DATA_COL = "gmacs", "samples_seen"
ZERO_SHOT_KINDS = ("zeroshot_classification", "zeroshot_retrieval")  # evaluation kinds (EVAL_KIND_COL)


def fit_study(spec: StudySpec, results):
    """(Fits, backtest rows DataFrame, note): one law per downstream task and evaluation type
    (zero-shot, linear probe, fine-tune) on total GMACs, the headline dataset's entry flagged
    `headline`, and the joint law E(N, D) of the headline dataset's zero-shot runs (method 'joint').

    Fitting never stops the study: too few points give a note or a failed entry instead of fits.
    """
    from clipscale import laws

    if results is None or results.empty:
        return None, None, "no run succeeded: nothing to fit"
    results = _spec_rows(spec, results)
    if results.empty:
        return None, None, "no result of the spec's tasks: nothing to fit"
    holdout = spec.fit.holdout()
    keys = ["downstream_dataset"] + ([EVAL_KIND_COL] if EVAL_KIND_COL in results.columns else [])
    fits = laws.fit_groups(results, compute_col="gmacs_total", group_by=keys, method=spec.fit.method,
                           holdout=holdout, n_boot=spec.fit.n_boot, seed=SEED)
    dataset = headline_dataset(spec)
    zero = results[results[EVAL_KIND_COL].isin(ZERO_SHOT_KINDS)] if EVAL_KIND_COL in results.columns else results
    head = [e for e in fits.entries if e.group["downstream_dataset"] == dataset]
    head = [e for e in head if e.group.get(EVAL_KIND_COL, ZERO_SHOT_KINDS[0]) in ZERO_SHOT_KINDS] or head
    sub = zero[zero["downstream_dataset"] == dataset]
    fits = fits + joint_law(sub, keys, spec.fit.n_boot)
    for e in fits.entries:
        e.extra["headline"] = bool(head) and e is head[0]
    backtest = None
    note = ""
    if holdout:
        try:
            backtest = laws.backtest_table(sub, holdout=holdout, method=spec.fit.method,
                                           n_boot=spec.fit.n_boot, seed=SEED,
                                           keep=("downstream_dataset", "run", "arch", "samples_seen"))
        except ClipscaleError as exc:  # e.g. too few runs for the split: the study goes on, and says why
            note = f"backtest on {dataset} not possible: {exc}"
    return fits, backtest, note


def _spec_rows(spec: StudySpec, results):
    """Only the spec's evaluations (a folder may hold evaluations of an older spec): rows of
    [eval] tasks (by registry name, `eval_task`) and fine-tuned rows of [finetune] tasks."""
    if not spec.eval.tasks:
        return results
    name = results["eval_task"] if "eval_task" in results.columns else results["downstream_dataset"]
    name = name.fillna(results["downstream_dataset"])
    keep = name.isin(list(spec.eval.tasks))
    if EVAL_KIND_COL in results.columns:
        from clipscale.evaluate.finetune import FINETUNE

        tuned = (results[EVAL_KIND_COL] == FINETUNE) & results["downstream_dataset"].isin(list(spec.finetune.tasks))
        keep |= tuned
    return results[keep]


def joint_law(rows, keys, n_boot: int):
    """The joint law E(N, D) of one task's zero-shot runs (N = per-sample GMACs, D = samples seen), as
    a `Fits` with one entry (failed, with its reason, when the runs are too few)."""
    from clipscale.laws import FitEntry, Fits
    from clipscale.laws.joint_table import fit_joint_groups

    try:
        return fit_joint_groups(rows, size_col=JOINT_SIZE_COL, data_col=JOINT_DATA_COL, size_unit="gmacs",
                                group_by=[k for k in keys if k in rows.columns], n_boot=n_boot, seed=SEED,
                                name_col="arch" if "arch" in rows.columns else None)
    except ClipscaleError as exc:  # e.g. no gmacs column: the study goes on, the report says why
        return Fits([FitEntry(group={}, method="joint", n_points=len(rows), status="failed", message=str(exc))])


def training_curves(store: Store, runs):
    """Training loss of every run as logged (metrics.jsonl): one row per logged step with run, arch,
    part (the run folder's name: 'run', or for a cool-down run 'trunk' and 'branch_s<level>'), kind
    (clipscale.train.branches: TRUNK, BRANCH or WHOLE_RUN), samples_seen, loss and lr. None when no
    run has logged a step yet."""
    import pandas as pd

    from clipscale.train.branches import WHOLE_RUN, grid_parts
    from clipscale.train.run import RunFolder

    frames = []
    for run in runs:
        root = store.run_dir(run.name)
        parts = grid_parts(root, run.levels) if run.is_trunk else [(WHOLE_RUN, WHOLE_RUN, root)]
        for part, kind, folder in parts:
            path = RunFolder(folder).metrics_path
            if not path.is_file() or path.stat().st_size == 0:
                continue
            log = pd.read_json(path, lines=True)
            if {"samples_seen", "loss"} <= set(log.columns):
                frames.append(log.reindex(columns=["samples_seen", "loss", "lr"])
                              .assign(run=run.name, arch=run.model, part=part, kind=kind))
    return pd.concat(frames, ignore_index=True) if frames else None


def make_report(spec, results, curves, fits, backtest, notes, training=None, *, unmet=None,
                facts=()) -> Path | None:
    """The study's report (clipscale.report) in its folder's report/: `fits` is the fits.json path;
    `notes` what is missing, `facts` what is known (the budget), `unmet` the demo's targets missed
    (None: not checked). Its answer's backtest uses the spec's held-out split ([fit])."""
    from clipscale.report import build_report

    design = None
    if spec.design.strategy == "adaptive":  # its decisions and the candidates never trained
        from clipscale.study.adaptive import design_view

        design = design_view(spec)
    return build_report(results, Store(spec.out).report_dir, curves=curves, fits=fits, backtest=backtest,
                        training=training, title=f"clipscale study: {spec.name}", notes=notes, design=design,
                        holdout=spec.fit.holdout(), unmet=unmet, facts=facts, n_boot=spec.fit.n_boot)


def study_status(spec: StudySpec):
    """One row per run: state, reason, samples trained, and compute spent (total GMACs, forward);
    an adaptive study: one row per unit, its state (or "not chosen") and the round that chose it."""
    import pandas as pd

    from clipscale.study.progress import samples_trained, to_train

    if spec.design.strategy == "adaptive":
        from clipscale.study.adaptive import unit_rows

        return pd.DataFrame(unit_rows(spec))

    store = Store(spec.out)
    rows = []
    for run in spec.runs():
        state, reason = store.state(run.name)
        total = int(to_train(run))  # samples trained in all (a cooldown run: trunk + cool-downs)
        trained = total if state == "done" else min(samples_trained(store.run_dir(run.name)), total)
        gm = gmacs_per_sample(run.model)
        rows.append({"run": run.name, "state": state, "samples_trained": trained,
                     "samples_seen": total, "gmacs_spent": gm * trained,
                     "gmacs_total": gm * total, "reason": reason, "branches": _branches(store, run)})
    return pd.DataFrame(rows)


def _branches(store: Store, run) -> str:
    """'trunk done, 2/3 branches done (levels 4000,8000,16000)' for a cooldown run, else ''."""
    if not run.is_trunk:
        return ""
    from clipscale.train.branches import branch_dir, top_levels, trunk_dir
    from clipscale.train.run import RunFolder

    root = store.run_dir(run.name)
    trunk = "done" if RunFolder(trunk_dir(root)).done_path.exists() else "training" if trunk_dir(root).exists() \
        else "pending"
    levels = top_levels(root, run.levels)
    done = sum(RunFolder(branch_dir(root, lv)).done_path.exists() for lv in levels)
    top = " (largest chosen while training)" if levels != run.levels else " (largest elastic)" if run.elastic else ""
    return (f"trunk {trunk}, {done}/{len(levels)} branches done "
            f"(levels {','.join(str(lv) for lv in levels)}){top}")
