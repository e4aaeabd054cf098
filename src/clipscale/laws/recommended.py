"""Fitting a law the way every command does: `fit_law` fits a method and, for a method that
chooses its form ('auto', the recommended frontier law: laws.autoform), calibrates its intervals
from the same fitted runs (clipscale.laws.calibrate) and stores the calibration on the fit.

`fit_law(compute, error, method, n_test=...)` -> FitResult (its `calibration` set for 'auto');
`fit_recommended(compute, error, n_test=...)` -> (FitResult, Calibration) of the recommended law.
The interval of any fit, calibrated or not, is laws.calibrate.new_run_interval.
"""
from __future__ import annotations

from clipscale.laws.calibrate import Calibration, calibrate
from clipscale.laws.defaults import CUT_N_BOOT, FRONTIER_METHOD, N_BOOT, SEED
from clipscale.laws.fit import fit
from clipscale.laws.result import FitResult


def fit_law(compute, error, method: str = FRONTIER_METHOD, *, n_test=None, replicates=None,
            n_boot: int = N_BOOT, seed: int = SEED, label: str | None = None, cut_n_boot: int = CUT_N_BOOT,
            **opts) -> FitResult:
    """`clipscale.laws.fit(compute, error, method, ...)` (errors as fractions, compute in any unit,
    e.g. total GMACs), then, when `method` chose the form (FitResult.chosen_from) and there is a
    bootstrap, its calibration (laws.calibrate.calibrate) stored in `calibration`: n_test are the
    test images of each run (one number or one per run; None when unknown), replicates a
    configuration label per run (runs sharing one differ only in seed)."""
    res = fit(compute, error, method, n_boot=n_boot, seed=seed, label=label, **opts)
    if res.chosen_from is not None and n_boot > 0:
        res.calibration = calibrate(res, n_test=n_test, replicates=replicates, n_boot=cut_n_boot).to_dict()
    return res


def fit_recommended(compute, error, *, n_test=None, replicates=None, n_boot: int = N_BOOT, seed: int = SEED,
                    cut_n_boot: int = CUT_N_BOOT, label: str | None = None) -> tuple[FitResult, Calibration]:
    """The recommended frontier law (laws.defaults.FRONTIER_METHOD) fitted and calibrated: (the fit,
    its Calibration); see `fit_law`."""
    res = fit_law(compute, error, FRONTIER_METHOD, n_test=n_test, replicates=replicates, n_boot=n_boot, seed=seed,
                  label=label, cut_n_boot=cut_n_boot)
    return res, Calibration.from_dict(res.calibration)
