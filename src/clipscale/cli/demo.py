"""`clipscale demo`: the embedded scaling study on CPU (the README's main job)."""
from __future__ import annotations

from clipscale.cli._parsing import RawFormatter, positive_int


def register(sub) -> None:
    """Add `clipscale demo`."""
    p = sub.add_parser("demo", help="run the embedded scaling study (CPU) and write results, fits, report",
                       description="Trains a grid of small CLIP models on the embedded data, evaluates them, "
                                   "fits the scaling law, backtests it and writes DIR/results.csv, "
                                   "DIR/fits.csv and DIR/report/index.html (`make demo` runs the default "
                                   "preset: about 10 minutes). Rerunning resumes.",
                       epilog="example (the same path in under a minute; `clipscale demo --budget 20m` gives "
                              "the default preset twice the time):\n  clipscale demo --preset smoke --out smoke",
                       formatter_class=RawFormatter)
    p.add_argument("--out", default="demo-out", help="output folder")
    p.add_argument("--preset", default="default",
                   help="default (the law on embedded/objects, sized to --budget), adaptive (the same law, its runs "
                        "chosen by an adaptive design), smoke (< 60 s, CI), colour or objects (earlier fixed grids)")
    p.add_argument("--budget", default=None, help="wall time for the whole demo: 600, 600s, 10m, 1.5h "
                   "(default: the preset's, 10m for the default preset); the grid is sized to it after "
                   "measuring this machine")
    p.add_argument("--replay", metavar="DIR", help="the folder of an earlier budgeted run of the same spec and budget: "
                   "reuse its plan and the largest levels it chose while training, so this folder gets the same "
                   "numbers, bit for bit (same machine kind)")
    p.add_argument("--jobs", type=positive_int, help="runs at once (default: the preset's, 2)")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=_demo)


def _demo(args) -> int:
    from clipscale.data.worlds import check_asked, using
    from clipscale.errors import UserInputError
    from clipscale.study.demo import preset_spec
    from clipscale.study.sizing import parse_budget

    budget = parse_budget(args.budget) if args.budget else None  # before anything is read or measured
    spec = preset_spec(args.preset, args.out)
    seconds = budget or spec.budget.seconds
    if args.replay and not seconds:
        raise UserInputError(f"--replay needs a budget; the {args.preset} preset has none: pass --budget as "
                             f"the replayed run did")
    check_asked(spec.train.world, f"the {args.preset} preset")
    with using(spec.train.world):  # the preset's world: the plan's measuring and the headline
        return _run(args, spec, seconds)


def _run(args, spec, seconds) -> int:
    from clipscale.study import run_study
    from clipscale.study.demo import PRESETS, headline
    from clipscale.study.orchestrate import run_with_budget

    targets = PRESETS[args.preset].targets  # the smoke preset promises a path, not a law
    if seconds:
        outcome, _ = run_with_budget(spec, seconds, jobs=args.jobs, progress=not args.quiet, replay=args.replay,
                                     targets=targets)
    else:
        outcome = run_study(spec, jobs=args.jobs, progress=not args.quiet, targets=targets)
    lines = headline(outcome)
    if spec.design.strategy == "adaptive":  # what the design chose, spent, and its interval at the target
        from clipscale.study.adaptive import design_lines

        lines += design_lines(spec)
    print("\n".join(lines))
    return 1 if outcome.results is None or outcome.results.empty else 0
