"""A whole study with one call: spec -> runs -> checkpoints -> results table -> fitted laws -> report.

`run_study(spec)` trains what is not done yet (a rerun skips finished runs and resumes interrupted
ones), merges the per-run results, fits the laws on what succeeded, writes the report and a
summary.json that says which runs are missing and why. `study_status(spec)` reads the folder only.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clipscale import _io
from clipscale.compute import gmacs_per_sample
from clipscale.errors import ClipscaleError
from clipscale.study.one_run import SPEC_FILE
from clipscale.study.spec import StudySpec
from clipscale.study.store import Store


@dataclass
class StudyOutcome:
    """What `run_study` produced: tables (DataFrames), paths, and the runs that did not succeed."""

    out_dir: Path
    results: Any
    curves: Any
    fits: Any
    report: Path | None
    missing: list[dict[str, str]] = field(default_factory=list)
    wall_s: float = 0.0
    summary: dict[str, Any] = field(default_factory=dict)


def run_study(spec: StudySpec, *, launcher: str | None = None, jobs: int | None = None,
              threads: int | None = None, progress: bool = True, report: bool = True,
              budget: dict | None = None) -> StudyOutcome:
    """Run every pending run of `spec`, then fit and report; returns a StudyOutcome.

    `launcher`, `jobs` and `threads` override the spec's [launch] table. A failed run is recorded
    with its reason and the others go on; the fits and the report use the runs that succeeded.
    """
    from clipscale.study.launch import LAUNCHERS
    from clipscale.study.progress import Progress

    t0 = time.time()
    launch = spec.launch
    launcher, jobs, threads = launcher or launch.launcher, jobs or launch.jobs, threads or launch.threads
    if launcher not in LAUNCHERS:
        from clipscale.errors import unknown

        raise unknown("launcher", launcher, LAUNCHERS, fix="pass --launcher local, torchrun or slurm")
    if jobs < 1 or threads < 1:
        from clipscale.errors import UserInputError

        raise UserInputError(f"--jobs and --threads must be >= 1, got {jobs} and {threads}")
    store = Store(spec.out)
    runs = spec.runs()
    _io.atomic_write_json(store.root / SPEC_FILE, _io.run_metadata(spec.to_dict()))
    todo = [r for r in runs if store.state(r.name)[0] != "done"]
    for run in todo:  # a rerun retries failed runs: clear the old reason first
        if store.state(run.name)[0] == "failed":
            store.status_path(run.name).unlink(missing_ok=True)
    planned = budget["predicted_s"] - budget["measure_s"] if budget else None  # measured before this start
    bar = Progress(store, todo, enabled=progress, speeds=(budget or {}).get("speeds_samples_per_s"), planned_s=planned)
    if todo:
        LAUNCHERS[launcher](spec, todo, jobs, threads, bar)
    return finish_study(spec, report=report, wall_s=time.time() - t0, budget=budget)


def run_with_budget(spec, seconds: float, *, jobs: int | None = None, progress: bool = True, report: bool = True,
                    replay: str | Path | None = None):
    """Plan `spec` for `seconds` (or take the plan and chosen largest levels of the earlier run in
    folder `replay`: clipscale.study.budget.replay), run it, and record planned vs actual seconds in
    summary.json."""
    from clipscale.study import budget

    t0 = time.time()
    if replay is not None:
        budget.replay(spec, seconds, replay)
    p = budget.planned(spec, seconds)
    outcome = run_study(p.spec, jobs=jobs, progress=progress, report=report, budget=p.to_dict())
    actual = time.time() - t0
    facts = {**p.to_dict(), "actual_s": round(actual, 1), "n_runs": len(p.spec.runs()),
             "samples_seen_levels": list(p.spec.axes.samples_seen),
             "observed_samples_per_s": budget.observed_speeds(p.spec), "elastic_top": budget.elastic_choices(p.spec)}
    path = outcome.out_dir / "summary.json"
    summary = json.loads(path.read_text()) if path.exists() else {}
    summary["budget"] = facts
    _io.atomic_write_json(path, summary)
    outcome.summary["budget"] = facts
    return outcome, p


def finish_study(spec: StudySpec, *, report: bool = True, wall_s: float = 0.0,
                 budget: dict | None = None) -> StudyOutcome:
    """Merge, fit and report from whatever runs are stored (used by run_study and `study report`)."""
    store = Store(spec.out)
    runs = spec.runs()
    results, curves = store.merge([r.name for r in runs])
    tuned = finetune_runs(spec, store, runs)  # [finetune]: rows appended to results.csv (eval_type finetune)
    if tuned is not None and len(tuned):
        import pandas as pd

        results = tuned if results is None or results.empty else pd.concat([results, tuned], ignore_index=True)
    missing = [{"run": r.name, "state": s, "reason": why}
               for r in runs for s, why in [store.state(r.name)] if s != "done"]
    found, backtest, fit_note = fit_study(spec, results)
    fits = None
    if found is not None:  # fits.json (the fit objects) is what the report and `clipscale plan` read back
        fits = found.frame()
        _io.atomic_write_with(store.root / "fits.csv", lambda p: fits.to_csv(p, index=False))
        found.save(store.root / "fits.json")
    notes = [fit_note] if fit_note else []
    if budget:  # clipscale.study.budget's plan: what was measured and promised, and what it took
        speeds = ", ".join(f"{m} {v:,.0f}" for m, v in budget["speeds_samples_per_s"].items())
        notes.append(f"wall-time budget {budget['budget_s']:.0f} s: planned {budget['predicted_s']:.0f} s "
                     f"(levels x{budget['scale']:.3g}); training and evaluation took {wall_s:.0f} s after "
                     f"{budget['measure_s']:.0f} s of measuring; measured training speed (samples/s per "
                     f"worker, {budget['precision']}): {speeds}")
    if missing:
        notes.append(f"{len(missing)} of {len(runs)} runs missing: "
                     + "; ".join(f"{m['run']} ({m['state']}{': ' + m['reason'] if m['reason'] else ''})"
                                 for m in missing[:10]))
    report_path = make_report(spec, results, curves, store.root / "fits.json" if found is not None else None,
                              backtest, notes, training_curves(store, runs)) if report else None
    summary = summarize(spec, results, fits, missing, notes, wall_s, backtest)
    _io.atomic_write_json(store.root / "summary.json", summary)
    return StudyOutcome(store.root, results, curves, fits, report_path, missing, wall_s, summary)


def finetune_runs(spec: StudySpec, store, runs):
    """[finetune]: the fine-tuned rows (eval_type finetune), also appended to results.csv; or None."""
    if not spec.finetune.tasks:
        return None  # without [finetune], fitting and reporting need no torch (10 s to import here)
    from clipscale.evaluate.transfer import finetune_study

    return finetune_study(spec.finetune, store.root, [(r.name, store.run_dir(r.name)) for r in runs])


def fit_task(spec: StudySpec) -> str:
    """The downstream task of the headline law: [fit] task, else ImageNet's role when evaluated,
    else the first task of [eval] tasks."""
    if spec.fit.task:
        return spec.fit.task
    from clipscale import evaluate as ev

    tasks = list(spec.eval.tasks) or list(ev.DEFAULT_EMBEDDED_TASKS)
    return ev.IMAGENET_ROLE_TASK if ev.IMAGENET_ROLE_TASK in tasks else tasks[0]


#: the study's joint law E(N, D): N = per-sample GMACs of the trained models (so C = N x D is total
#: GMACs exactly), D = samples seen; the full grid of 4,500 starts and 200 bootstrap resamples take
#: about 0.6 s on the demo's 17 runs (2-core CPU; benchmarks/bench_study_fits.py measures it)
JOINT_SIZE_COL, JOINT_DATA_COL, JOINT_N_BOOT = "gmacs", "samples_seen", 200
ZERO_SHOT_KINDS = ("zeroshot_classification", "zeroshot_retrieval")  # the results' `task` column


def fit_study(spec: StudySpec, results):
    """(Fits, backtest rows DataFrame, note): one law per downstream task and evaluation type
    (zero-shot, linear probe, fine-tune) on total GMACs, the headline task's entry flagged
    `headline`, and the joint law E(N, D) of the headline task's zero-shot runs (method 'joint').

    Fitting never stops the study: too few points give a note or a failed entry instead of fits.
    """
    from clipscale import laws
    from clipscale.laws.table import EVAL_COL

    if results is None or results.empty:
        return None, None, "no run succeeded: nothing to fit"
    results = _spec_rows(spec, results)
    if results.empty:
        return None, None, "no result of the spec's tasks: nothing to fit"
    holdout = spec.fit.holdout_top or None
    keys = ["downstream_dataset"] + ([EVAL_COL] if EVAL_COL in results.columns else [])
    fits = laws.fit_groups(results, compute_col="gmacs_total", group_by=keys, method=spec.fit.method,
                           holdout_top=holdout, n_boot=200, seed=0)
    task = fit_task(spec)
    zero = results[results[EVAL_COL].isin(ZERO_SHOT_KINDS)] if EVAL_COL in results.columns else results
    head = [e for e in fits.entries if e.group["downstream_dataset"] == task]
    head = [e for e in head if e.group.get(EVAL_COL, ZERO_SHOT_KINDS[0]) in ZERO_SHOT_KINDS] or head
    sub = zero[zero["downstream_dataset"] == task]
    fits = fits + _joint(sub, keys)
    for e in fits.entries:
        e.extra["headline"] = bool(head) and e is head[0]
    backtest = None
    note = ""
    if holdout and len(sub) > holdout:
        try:
            backtest = laws.backtest_table(sub, holdout_top=holdout, method=spec.fit.method, n_boot=200, seed=0,
                                           keep=("downstream_dataset", "run", "arch", "samples_seen"))
        except ClipscaleError as exc:
            note = f"backtest on {task} not possible: {exc}"
    elif holdout:
        note = f"backtest on {task} needs more than {holdout} points, got {len(sub)}"
    return fits, backtest, note


def _spec_rows(spec: StudySpec, results):
    """Only the spec's evaluations (a folder may hold evaluations of an older spec): rows of
    [eval] tasks (by registry name, `eval_task`) and fine-tuned rows of [finetune] tasks."""
    if not spec.eval.tasks:
        return results
    name = results["eval_task"] if "eval_task" in results.columns else results["downstream_dataset"]
    name = name.fillna(results["downstream_dataset"])
    keep = name.isin(list(spec.eval.tasks))
    if "task" in results.columns:
        keep |= (results["task"] == "finetune") & results["downstream_dataset"].isin(list(spec.finetune.tasks))
    return results[keep]


def _joint(rows, keys):
    """The joint law E(N, D) of one task's zero-shot runs (N = per-sample GMACs, D = samples seen), as
    a `Fits` with one entry (failed, with its reason, when the runs are too few)."""
    from clipscale.laws import FitEntry, Fits
    from clipscale.laws.joint_table import fit_joint_groups

    try:
        return fit_joint_groups(rows, size_col=JOINT_SIZE_COL, data_col=JOINT_DATA_COL, size_unit="gmacs",
                                group_by=[k for k in keys if k in rows.columns], n_boot=JOINT_N_BOOT, seed=0,
                                name_col="arch" if "arch" in rows.columns else None)
    except ClipscaleError as exc:  # e.g. no gmacs column: the study goes on, the report says why
        return Fits([FitEntry(group={}, method="joint", n_points=len(rows), status="failed", message=str(exc))])


def training_curves(store: Store, runs):
    """Training loss of every run as logged (metrics.jsonl): one row per logged step with run, arch,
    part ('run'; for a cool-down run 'trunk' and 'branch_s<level>'), samples_seen, loss and lr.
    None when no run has logged a step yet."""
    import pandas as pd

    from clipscale.train.branches import branch_dir, top_levels

    frames = []
    for run in runs:
        root = store.run_dir(run.name)
        parts = [("trunk", root / "trunk")] + [(branch_dir(root, lv).name, branch_dir(root, lv))
                                               for lv in top_levels(root, run.levels)] \
            if run.is_trunk else [("run", root)]
        for part, folder in parts:
            path = folder / "metrics.jsonl"
            if not path.is_file() or path.stat().st_size == 0:
                continue
            log = pd.read_json(path, lines=True)
            if {"samples_seen", "loss"} <= set(log.columns):
                frames.append(log.reindex(columns=["samples_seen", "loss", "lr"])
                              .assign(run=run.name, arch=run.model, part=part))
    return pd.concat(frames, ignore_index=True) if frames else None


def make_report(spec, results, curves, fits, backtest, notes, training=None) -> Path | None:
    from clipscale.report import build_report

    out = Path(spec.out) / "report"
    return build_report(results, out, curves=curves, fits=fits, backtest=backtest, training=training,  # fits: fits.json
                        title=f"clipscale study: {spec.name}", notes=notes)


def frontier_facts(results, task: str) -> dict[str, Any]:
    """The compute-optimal frontier of `task`: points whose error is below every cheaper point's,
    how many each model contributes, and the error (fraction) at the largest compute."""
    from clipscale.schema import default_metric

    sub = results[results["downstream_dataset"] == task].sort_values("gmacs_total", kind="stable")
    if sub.empty:
        return {}
    err = 1 - sub[default_metric(task)].to_numpy(dtype=float)
    best, keep = float("inf"), []
    for i, e in enumerate(err):
        if e < best:
            best = e
            keep.append(i)
    on = sub.iloc[keep]
    return {"n_points": len(keep), "models": {str(k): int(v) for k, v in on["arch"].value_counts().items()},
            "compute": [float(c) for c in on["gmacs_total"]],
            "error_at_max_compute": float(err[-1]), "best_error": float(err.min())}


def summarize(spec, results, fits, missing, notes, wall_s, backtest=None) -> dict[str, Any]:
    """The numbers a reader wants first: the headline law, its R^2 and backtest error, compute."""
    out: dict[str, Any] = {"name": spec.name, "runs": len(spec.runs()), "missing": missing, "notes": notes,
                           "wall_s": round(wall_s, 1), "fit_task": None, "law": None}
    if results is not None and not results.empty:
        out["gmacs_total_range"] = [float(results["gmacs_total"].min()), float(results["gmacs_total"].max())]
        out["frontier"] = frontier_facts(results, fit_task(spec))
    if fits is not None and len(fits):
        head = fits[fits["headline"]]
        if len(head):
            row = head.iloc[0].to_dict()
            out["fit_task"] = row["downstream_dataset"]
            out["law"] = {k: row.get(k) for k in ("method", "alpha", "beta", "e_inf", "r2", "n_points",
                                                   "n_fit_points", "backtest_mae_pct", "status", "message")}
            for k in ("n_points", "n_fit_points"):  # the joint row's columns make them floats in the frame
                if isinstance(out["law"][k], float) and out["law"][k] == out["law"][k]:
                    out["law"][k] = int(out["law"][k])
        joint = fits[fits["method"] == "joint"]
        if len(joint):
            row = joint.iloc[0].to_dict()
            out["joint"] = {k: row.get(k) for k in ("formula", "E_inf", "A", "B", "alpha", "beta", "a_opt",
                                                     "n_points", "status", "message")}
    if backtest is not None and len(backtest) and "inside_90" in backtest:
        inside = backtest["inside_90"].fillna(False).astype(bool)
        out["backtest"] = {"n_heldout": len(backtest), "mae_pct": float(backtest["abs_miss_pct_points"].mean()),
                           "inside_90": int(inside.sum())}
        # A frontier law predicts the best error reachable at a compute, so the held-out runs that
        # are compute-optimal (on the frontier of all runs) are the ones it is meant to predict.
        front = set(out.get("frontier", {}).get("compute", []))
        on = backtest["compute"].map(lambda c: any(abs(c - f) <= 1e-9 * f for f in front)).to_numpy(bool)
        if on.any():
            out["backtest"].update(n_heldout_frontier=int(on.sum()),
                                   mae_frontier_pct=float(backtest["abs_miss_pct_points"][on].mean()),
                                   inside_90_frontier=int(inside[on].sum()))
    return _io.json_clean(out)  # JSON has no NaN: an absent e_inf is null


def study_status(spec: StudySpec):
    """One row per run: state, reason, samples trained, and compute spent (total GMACs, forward)."""
    import pandas as pd

    from clipscale.study.progress import samples_trained, to_train

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
    from clipscale.train.branches import branch_dir, top_levels

    root = store.run_dir(run.name)
    trunk = "done" if (root / "trunk" / "done.json").exists() else "training" if (root / "trunk").exists() \
        else "pending"
    levels = top_levels(root, run.levels)
    done = sum((branch_dir(root, lv) / "done.json").exists() for lv in levels)
    top = " (largest chosen while training)" if levels != run.levels else " (largest elastic)" if run.elastic else ""
    return (f"trunk {trunk}, {done}/{len(levels)} branches done "
            f"(levels {','.join(str(lv) for lv in levels)}){top}")
