"""The recommended frontier law: the form chosen per group by a rolling-origin backtest inside the
fitted range (clipscale.laws.autoform), fitted with its bootstrap, and its intervals calibrated
from the same fitted runs (clipscale.laws.calibrate).

`fit_recommended(compute, error, n_test=...)` -> (FitResult, Calibration); the FitResult's method is
the chosen form ('frontier' or 'logodds-sat'), and its first note says why it was chosen.
"""
from __future__ import annotations

import numpy as np

from clipscale.laws.autoform import CANDIDATES, MARGIN, choose_form
from clipscale.laws.calibrate import CUT_N_BOOT, Calibration, calibrate
from clipscale.laws.defaults import N_BOOT
from clipscale.laws.fit import fit
from clipscale.laws.result import FitResult

#: the name under which the recommended frontier law is to be registered (laws.methods.METHODS)
NAME = "auto"


def fit_recommended(compute, error, *, n_test=None, replicates=None,
                    n_boot: int = N_BOOT, seed: int = 0, candidates=CANDIDATES, margin: float = MARGIN,
                    cut_n_boot: int = CUT_N_BOOT, label: str | None = None) -> tuple[FitResult, Calibration]:
    """Choose the form (errors as fractions, compute in any unit, e.g. total GMACs), fit it with
    `n_boot` bootstrap resamples and calibrate its intervals: n_test are the test images of each run
    (one number or one per run; None when unknown), replicates a configuration label per run (runs
    sharing one differ only in seed; see clipscale.laws.calibrate.calibrate)."""
    c, e = np.asarray(compute, dtype=float), np.asarray(error, dtype=float)
    choice = choose_form(c, e, candidates, margin=margin)
    res = fit(c, e, choice.form, n_boot=n_boot, seed=seed, label=label)
    res.notes.insert(0, choice.note())
    cal = calibrate(res, n_test=n_test, replicates=replicates, n_boot=cut_n_boot)
    return res, cal
