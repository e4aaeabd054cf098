"""Scaling studies: a TOML grid spec, launchers (local, torchrun, SLURM), a safe results store, the demo.

    from clipscale.study import load_spec, run_study, study_status
    outcome = run_study(load_spec("study.toml"))      # train, evaluate, fit, report
    print(outcome.summary.law)                        # a StudySummary (summary.json)

Study folder layout (every name of it, with its reads and writes): clipscale.study.store.
Docs: docs/study.md.
"""
from __future__ import annotations

from clipscale.study.orchestrate import StudyOutcome, finish_study, run_study, study_status
from clipscale.study.spec import Run, StudySpec, expand, load_spec, spec_from_dict
from clipscale.study.store import Store
from clipscale.study.summary import StudySummary

__all__ = ["StudySpec", "Run", "Store", "StudyOutcome", "StudySummary", "expand", "load_spec", "spec_from_dict",
           "run_study", "finish_study", "study_status"]
