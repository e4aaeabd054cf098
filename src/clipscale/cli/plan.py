"""`clipscale plan --fit FITS.json --budget C`: the compute-optimal model for a budget from joint-law fits."""
from __future__ import annotations

import json

from clipscale.cli._parsing import RawFormatter, positive_float, renamed
from clipscale.errors import DataError, UserInputError


def register(sub) -> None:
    """Add `clipscale plan` to the top-level parser."""
    p = sub.add_parser(
        "plan", help="compute-optimal model size and samples for a compute budget (joint law)",
        description="For each joint-law fit in FITS.json (written by `clipscale fit --method joint "
                    "--save-fits`, or a study's fits.json), the model size N and samples D that minimise the joint law's E(N, D) "
                    "under budget C = per-sample cost(N) x D, with bootstrap intervals, the predicted "
                    "error, and the nearest architecture that was trained. Budgets outside the fitted "
                    "runs' compute are allowed; the output says by how many decades they extrapolate.",
        epilog="examples:\n  clipscale fit results.csv --method joint --size-col gmacs --size-unit gmacs "
               "--data-col samples_seen --n-boot 50 --save-fits joint.json\n"
               "  clipscale plan --fit joint.json --compute 1e4 1e5",
        formatter_class=RawFormatter)
    p.add_argument("--fit", required=True, metavar="FITS.json", help="fits file with joint-law fits: `clipscale "
                   "fit --method joint --save-fits`, or a study's fits.json")
    p.add_argument("--compute", dest="budget", default=None, type=positive_float, nargs="+", metavar="C",
                   help="(required) total compute budget(s), the per-sample cost's unit x samples (e.g. total GMACs)")
    renamed(p, "--budget", "--compute", "budget", type=positive_float, nargs="+", required=True)
    p.add_argument("--where", action="append", metavar="COL==VALUE",
                   help="keep the fitted groups whose COL equals VALUE (repeatable), e.g. downstream_dataset==imagenet1k")
    p.add_argument("--ci-level", dest="level", type=float, default=0.95, metavar="FRACTION",
                   help="level of the intervals, a fraction in (0, 1)")
    renamed(p, "--level", "--ci-level", "level", type=float)
    p.add_argument("--json", action="store_true", help="print a JSON list, one object per group x budget")
    p.set_defaults(func=run)


def _select(entries, where):
    for cond in where or []:
        col, sep, val = cond.partition("==")
        if not sep:
            raise UserInputError(f"--where {cond!r} is not COL==VALUE; e.g. --where downstream_dataset==imagenet1k")
        keys = sorted({k for e in entries for k in e["group"]})
        if col not in keys:
            raise DataError(f"the fits have no group column {col!r}; valid choices: {', '.join(keys) or '(none)'}")
        entries = [e for e in entries if str(e["group"].get(col)) == val]
        if not entries:
            raise DataError(f"no fitted group has {col}=={val}; check the value")
    return entries


def run(args) -> int:
    from clipscale.laws.joint_table import load_fits, plan_rows

    if not 0 < args.level < 1:
        raise UserInputError(f"--ci-level must be a fraction in (0, 1), got {args.level}; e.g. 0.95")
    rows = plan_rows(_select(load_fits(args.fit), args.where), args.budget, args.level)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    pct = f"{args.level:.0%}"
    for r in rows:
        group = ", ".join(f"{k}={r[k]}" for k in r if k not in _NUMERIC and not k.startswith(("N_", "D_", "E_")))
        print(f"[{group or 'all rows'}] budget {r['budget']:.3g}")
        print(f"  model size N:  {r['N_opt']:.3g} {r['size_unit']} ({pct} CI {r['N_opt_lo']:.3g}-{r['N_opt_hi']:.3g})")
        print(f"  samples D:     {r['D_opt']:.3g} ({pct} CI {r['D_opt_lo']:.3g}-{r['D_opt_hi']:.3g})")
        pred = f", a new run: {r['E_pred_lo']:.4g}-{r['E_pred_hi']:.4g}" if "E_pred_lo" in r else ""
        print(f"  predicted E:   {r['E_opt']:.4g} (law {pct} CI {r['E_opt_lo']:.4g}-{r['E_opt_hi']:.4g}{pred})")
        if "nearest_arch" in r:
            print(f"  nearest trained architecture: {r['nearest_arch']} (N = {r['nearest_arch_size']:.3g})")
        if r["extrapolation_decades"] > 0:
            print(f"  extrapolation: the budget lies {r['extrapolation_decades']:.2f} decade(s) outside "
                  "the fitted runs' compute")
        if r.get("note"):
            print(f"  note: {r['note']}")
    return 0


_NUMERIC = {"budget", "extrapolation_decades", "nearest_arch", "nearest_arch_size", "size_unit", "cost_unit", "note"}
