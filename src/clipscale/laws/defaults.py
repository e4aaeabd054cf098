"""One home for the defaults of every law fit: the bootstrap count and its seed.

`clipscale fit`, `clipscale report`, `clipscale paper`, a study (`[fit] n_boot`) and the library's
`fit`, `fit_groups`, `fit_joint` and `fit_joint_groups` all default to these, so one table gives the
same intervals whichever command fits it.
"""
from __future__ import annotations

#: bootstrap resamples behind every interval (laws per group, the joint law E(N, D), a backtest's
#: 90% interval, the report's bands). 1000: a percentile interval's ends are the 5% and 95% quantiles,
#: which 1000 resamples place on 50 resamples each (200 left 10, and the ends moved by ~0.1 error-%
#: points between counts). Cost, measured with benchmarks/bench_n_boot.py on a demo-sized study
#: (17 runs; logodds-sat law, its backtest and the joint law): a study's fits take 8.3 s of CPU at
#: 1000 vs 3.0 s at 200 (2-core AVX2 CPU). A report fitting a nonlinear law itself costs more:
#: the paper's 82 groups take ~18 s of CPU per 200 resamples (pass fits.json, or --n-boot, to avoid it).
N_BOOT = 1000
#: the bootstrap's seed (numpy default_rng): fixed, so a refit gives the same intervals bit for bit
SEED = 0
#: the recommended frontier law (laws.methods.METHODS["auto"]: the power law on the Pareto frontier,
#: or the saturating log-odds law where a rolling-origin backtest inside the fitted runs shows it
#: clearly better; intervals calibrated on the fitted runs). `clipscale fit`, the report, a study's
#: [fit] method, the demo, `clipscale compare` and the design all default to it (docs/laws.md)
FRONTIER_METHOD = "auto"
#: the recommended per-run law (laws.perrun_laws.PER_RUN_LAWS["perrun"]: E(N, D, U), the
#: data-constrained law of laws.perrun); `clipscale backtest --target runs` and `predict --size` use it
#: by default; "joint" (E(N, D), no unique data) stays registered
PER_RUN_LAW = "perrun"
#: the per-run law E(N, D, U) (laws.perrun) bootstraps fewer: each resample is a batched
#: Levenberg-Marquardt refit of every group with its own repetition decay; 200 resamples of the paper's
#: 41 datasets take ~107 s of CPU with the calibration's refits (2-core AVX2 CPU, benchmarks/bench_perrun.py),
#: 1000 would take ~6 min for `clipscale fit`. Its intervals add a calibrated scatter term (t, 5 dof)
#: that dominates the bootstrap's share, so the extra resamples would move them little.
N_BOOT_PERRUN = 200
#: bootstrap resamples of each rolling-origin fit that calibrates the frontier law's intervals
#: (laws.calibrate: only each cut's prediction sd is used, and there are many cuts per group)
CUT_N_BOOT = 200
#: bootstrap resamples of the law fitted at each live design decision (its interval at the target:
#: the tolerance stop and the report's figure), at most. A live decision runs beside the training
#: workers on the same cores: with the demo's 17 runs, logodds-sat, one fit took 11 s with 1,000
#: resamples and 2.6 s with 200, whose 90% interval at the target differed by 3-15% of its width.
#: The study's own fits use [fit] n_boot.
DECISION_N_BOOT = 200
