"""`clipscale study`: init a spec, run a whole grid, show its status, refit and report."""
from __future__ import annotations

from pathlib import Path

from clipscale.cli._parsing import RawFormatter, actions, positive_int


_EPILOG = """examples:
  clipscale study init study.toml                  (a commented template; edit its [axes])
  clipscale study plan study.toml                  (the runs and their compute; nothing is trained)
  clipscale study plan study.toml --budget 10m     (measure this machine, size the grid to 10 minutes)
  clipscale study run study.toml                   (train, evaluate, fit, report; a rerun resumes)
  clipscale study status study.toml
  clipscale study report study.toml                (refit and rewrite the report, no training)
See docs/study.md."""


def register(sub) -> None:
    """Add `study init|plan|run|status|report` (and the internal `study worker`); choices and defaults
    are the study spec's (study/spec.py)."""
    from clipscale.study.spec import LAUNCHERS, LaunchSettings

    p = sub.add_parser("study", help="run a whole scaling study (grid spec, launchers, status)",
                       description="A study is a TOML spec whose axes expand into training runs; "
                                   "see docs/study.md and `clipscale study init`.",
                       epilog=_EPILOG, formatter_class=RawFormatter)
    ss = actions(p, "study_command")

    init = ss.add_parser("init", help="write a commented study spec template",
                         description="Write a commented study spec (TOML) to start from: every key with its "
                                     "default and meaning.")
    init.add_argument("path", help="where to write the TOML file, e.g. study.toml")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(func=_init)

    _add_run(ss, LAUNCHERS)
    _add_plan(ss)
    _add_status_report(ss)
    w = ss.add_parser("worker")  # internal (no help: unlisted): started by the launchers
    w.add_argument("study_dir")
    # RUN is positional: torchrun's own parser would take `--run` for its `--run-path`.
    w.add_argument("run", nargs="?", help="this run only; without it, claim runs until none is left")
    w.add_argument("--threads", type=int, default=LaunchSettings.threads)
    w.set_defaults(func=_worker)


def _add_run(ss, launchers) -> None:
    run = ss.add_parser("run", help="train every run, evaluate, fit the laws, write the report",
                        description="Runs what is not done yet: a rerun skips finished runs and resumes "
                                    "interrupted ones from their last checkpoint.")
    _spec_args(run)
    run.add_argument("--launcher", choices=launchers,
                     help="override [launch] launcher: local processes, torchrun (DDP per run), "
                          "or slurm (submitit; [slurm] table = sbatch settings)")
    run.add_argument("--jobs", type=positive_int, help="runs at once (default: the spec's [launch] jobs)")
    run.add_argument("--threads", type=positive_int, help="torch threads per run (default: [launch] threads)")
    run.add_argument("--budget", help="wall-time budget (600s, 10m, 2h): size the grid to it "
                                      "(default: the spec's [budget] seconds, if any)")
    run.add_argument("--replay", metavar="DIR", help="the folder of an earlier budgeted run of the same spec and "
                     "budget: reuse its plan and the largest levels it chose while training, so this folder gets "
                     "the same numbers, bit for bit (same machine kind)")
    run.add_argument("--quiet", action="store_true", help="no progress display")
    run.set_defaults(func=_run)


def _add_plan(ss) -> None:
    pl = ss.add_parser("plan", help="the runs and their compute; with a budget, size the grid to it",
                       description="Without a budget: list the runs of the spec and what each trains (samples, "
                                   "GMACs), measuring nothing. With --budget (or a [budget] table): time a few "
                                   "training steps of each model here (as the launcher will run them), then "
                                   "scale every samples-seen level by one factor so the whole study ends within "
                                   "the budget, and print the runs and what each costs. `study run` uses the "
                                   "same plan when the spec has a [budget] table or --budget is given.")
    _spec_args(pl)
    pl.add_argument("--budget", help="wall time for the whole study: 600, 600s, 10m, 1.5h (default: [budget] "
                                     "seconds; none: list the runs only)")
    pl.add_argument("--json", action="store_true", help="print the plan as JSON")
    pl.set_defaults(func=_plan)


def _add_status_report(ss) -> None:
    st = ss.add_parser("status", help="one line per run: done, running, interrupted, failed (reason), pending",
                       description="The state of every run of the study (done, running, interrupted, failed "
                                   "with its reason, pending), what it trained, and the compute spent.")
    _spec_args(st)
    st.add_argument("--json", action="store_true", help="print JSON records instead of a table")
    st.set_defaults(func=_status)

    rep = ss.add_parser("report", help="merge stored results, refit and rewrite the report (no training)",
                        description="Merge the results of the runs stored so far, refit the laws and rewrite "
                                    "results.csv, fits.csv and the HTML report; trains nothing.")
    _spec_args(rep)
    rep.set_defaults(func=_report)


def _spec_args(p) -> None:
    p.add_argument("spec", help="study spec (TOML), see `clipscale study init`")
    p.add_argument("--out", help="override the spec's output folder")


def _load(args):
    """The spec of the command line, as its folder's budget plan sized it (if it was planned)."""
    from clipscale.study import load_spec
    from clipscale.study.budget import saved_plan

    return saved_plan(load_spec(args.spec, out=args.out))


def _init(args) -> int:
    from clipscale import _io
    from clipscale.errors import UserInputError
    from clipscale.study.demo import PRESET_DIR

    path = Path(args.path)
    if path.exists() and not args.force:
        raise UserInputError(f"{path} exists; pass --force to overwrite it or choose another path")
    _io.atomic_write_text(path, (PRESET_DIR / "template.toml").read_text())
    print(f"wrote {path}; edit its [axes], then `clipscale study run {path}`")
    return 0


def _run(args) -> int:
    from clipscale.data.worlds import check_asked, using
    from clipscale.errors import UserInputError
    from clipscale.study import load_spec, run_study
    from clipscale.study.demo import headline

    seconds = _budget_arg(args)  # a bad budget fails before the spec is read
    spec = load_spec(args.spec, out=args.out)  # as written: a budget plans (or reads back its plan) from it
    seconds = seconds or spec.budget.seconds
    if args.replay and not seconds:
        raise UserInputError("--replay needs a budget (the replayed run's): pass --budget or add a [budget] table")
    check_asked(spec.train.world, f"study {args.spec}")
    with using(spec.train.world):  # the study's world: its plan's measuring and its headline
        if seconds:
            from clipscale.study.orchestrate import run_with_budget

            outcome, _ = run_with_budget(spec, seconds, jobs=args.jobs, progress=not args.quiet, replay=args.replay)
        else:
            outcome = run_study(spec, launcher=args.launcher, jobs=args.jobs, threads=args.threads,
                                progress=not args.quiet)
        print("\n".join(headline(outcome) + _design_lines(spec)))
    return 1 if outcome.missing else 0


def _design_lines(spec) -> list[str]:
    """An adaptive study's lines about its design (what it chose, spent, and its interval at the target)."""
    if spec.design.strategy != "adaptive":
        return []
    from clipscale.study.adaptive import design_lines

    return design_lines(spec)


def _budget_arg(args) -> float:
    """--budget in seconds (0 when not given); UserInputError on a malformed one."""
    from clipscale.study.sizing import parse_budget

    return parse_budget(args.budget) if args.budget else 0.0


def _plan(args) -> int:
    import json

    from clipscale.data.worlds import check_asked, using
    from clipscale.study import load_spec
    from clipscale.study.budget import plan
    from clipscale.study.sizing import plan_lines

    seconds = _budget_arg(args)
    spec = load_spec(args.spec, out=args.out)
    seconds = seconds or spec.budget.seconds
    if not seconds:
        rows = _dry_rows(spec)
        print(json.dumps(rows, indent=1) if args.json else "\n".join(_dry_lines(spec, rows, args.spec)))
        return 0
    from clipscale.study.budget import plan
    from clipscale.study.sizing import plan_lines

    check_asked(spec.train.world, f"study {args.spec}")
    with using(spec.train.world):
        p = plan(spec, seconds)
    print(json.dumps(p.to_dict(), indent=1) if args.json else "\n".join(plan_lines(p)))
    return 0


def _dry_rows(spec) -> list[dict]:
    """Every run of the spec with its levels and compute (GMACs per sample, samples trained, total
    GMACs trained): what a plan without a budget shows, with nothing measured or trained."""
    from clipscale.compute import gmacs_per_sample
    from clipscale.train.branches import plan as branch_plan
    from clipscale.train.spec import TrainSpec

    rows = []
    for run in spec.runs():
        trained = run.samples_seen
        if run.is_trunk:
            trained = branch_plan(TrainSpec.from_dict(run.train_spec()), run.levels).samples_trained
        g = gmacs_per_sample(run.model)
        rows.append({"run": run.name, "model": run.model, "data_size": run.data_size, "levels": list(run.levels),
                     "gmacs_per_sample": g, "samples_trained": trained, "gmacs_trained": g * trained})
    return rows


def _dry_lines(spec, rows: list[dict], path: str) -> list[str]:
    from clipscale.schema import pretty_samples

    mode = {"runs": "one run per level", "checkpoints": "levels read from each run's checkpoints",
            "cooldown": "one constant-lr trunk per run, a cool-down branch per level"}[spec.train.levels_from]
    width = max(len(r["run"]) for r in rows)
    out = [f"study {spec.name}: {len(rows)} runs ({mode}), world {spec.train.world}, output {spec.out}",
           f"{'run':<{width}}  {'levels (samples seen)':<28} {'GMACs/sample':>12} {'samples trained':>15} "
           f"{'total GMACs':>12}"]
    for r in rows:
        levels = ",".join(pretty_samples(v) for v in r["levels"])
        out.append(f"{r['run']:<{width}}  {levels:<28} {r['gmacs_per_sample']:>12.4g} {r['samples_trained']:>15,} "
                   f"{r['gmacs_trained']:>12.4g}")
    out.append(f"total: {sum(r['samples_trained'] for r in rows):,} samples trained, "
               f"{sum(r['gmacs_trained'] for r in rows):.4g} GMACs (forward, per-sample GMACs x samples); nothing "
               f"measured: `clipscale study plan {path} --budget 10m` times this machine and sizes the grid")
    return out


def _status(args) -> int:
    import json

    from clipscale.study import study_status

    spec = _load(args)
    table = study_status(spec)
    if args.json:
        print(json.dumps(table.to_dict(orient="records"), indent=1))
        return 0
    for row in table.itertuples():
        why = f"  {row.reason}" if row.reason else ""
        branches = f"  [{row.branches}]" if row.branches else ""
        print(f"{row.state:<11} {row.run}  {row.samples_trained}/{row.samples_seen} samples{branches}{why}")
    if spec.design.strategy == "adaptive":
        from clipscale.study.adaptive import status_line

        print(status_line(spec))
    counts = table["state"].value_counts().to_dict()
    print(f"{len(table)} runs: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
          + f"; compute spent {table['gmacs_spent'].sum():.4g} of {table['gmacs_total'].sum():.4g} total GMACs")
    return 0


def _report(args) -> int:
    from clipscale.data.worlds import using
    from clipscale.study import finish_study
    from clipscale.study.demo import headline

    spec = _load(args)
    with using(spec.train.world):  # the headline names the study's world
        print("\n".join(headline(finish_study(spec))))
    return 0


def _worker(args) -> int:
    import torch

    from clipscale.study.one_run import execute, find_run, load_study, work

    torch.set_num_threads(args.threads)
    spec = load_study(args.study_dir)
    if args.run:
        execute(spec, find_run(spec, args.run), threads=args.threads)
    else:
        work(spec, threads=args.threads)
    return 0
