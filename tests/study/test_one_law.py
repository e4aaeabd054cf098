"""One recommended frontier method, the same everywhere (issue 23, item 4): one results table gives
the same law and the same interval whichever command fits it with its defaults: `clipscale fit`, a
study's [fit], the report's fitting function, `clipscale predict` on the saved fits; `clipscale
compare` fits the same point law (its draws are its own: docs/compare.md)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from clipscale.cli import main
from clipscale.laws import Fits
from clipscale.laws.calibrate import new_run_interval
from clipscale.laws.defaults import FRONTIER_METHOD, N_BOOT
from clipscale.laws.recipes import compare_recipes
from clipscale.report._fits import fit_results
from clipscale.study import load_spec
from clipscale.study.orchestrate import fit_study
from clipscale.study.spec import FitSettings


def _results() -> pd.DataFrame:
    """One task's zero-shot runs, as a study writes them: error falls with GMACs and samples, with a
    little scatter (seeded)."""
    rng = np.random.default_rng(3)
    rows = []
    for i, arch in enumerate(["ladder-e-xxs", "ladder-e-xs", "ladder-e-s", "ladder-e-m"]):
        g = 4e-4 * 3 ** i
        for d in (256, 512, 1024, 2048):
            err = (0.05 + 0.004 * g ** -0.5 + 3.0 * d ** -0.5) * np.exp(rng.normal(0, 0.02))
            rows.append({"arch": arch, "gmacs": g, "samples_seen": d, "gmacs_total": g * d, "acc1": 1 - err,
                         "upstream_dataset": "embedded-256", "downstream_dataset": "embedded/shape",
                         "task": "zeroshot_classification", "eval_task": "embedded/shape", "run": f"{arch}-{d}"})
    return pd.DataFrame(rows)


@pytest.mark.slow  # four calibrated fits at the default 1000 resamples (~12 s of CPU): the defaults are the point
def test_fit_a_study_the_report_and_predict_give_one_law_and_one_interval(tiny, tmp_path, capsys):
    results = _results()
    results.to_csv(tmp_path / "results.csv", index=False)
    assert main(["fit", str(tmp_path / "results.csv"), "--out", str(tmp_path / "fits.csv")]) == 0
    by_cli = Fits.load(tmp_path / "fits.json").entries[0].fit

    spec = load_spec(tiny()).replace(fit=FitSettings())  # a study whose [fit] says nothing: the defaults
    assert spec.fit.method == FRONTIER_METHOD and spec.fit.n_boot == N_BOOT
    by_study = fit_study(spec, results)[0].select(FRONTIER_METHOD)[0].fit
    by_report = fit_results(results, methods=(FRONTIER_METHOD,)).entries[0].fit

    beyond = [10 * results["gmacs_total"].max()]
    for other in (by_study, by_report):
        assert (other.method, other.chosen_from, other.n_boot) == (by_cli.method, by_cli.chosen_from, by_cli.n_boot)
        assert _set(other.params) == pytest.approx(_set(by_cli.params), rel=1e-12)
        assert np.allclose(new_run_interval(other, beyond, 0.9), new_run_interval(by_cli, beyond, 0.9), rtol=1e-12)
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "fits.json"), "--compute", str(beyond[0]), "--json"]) == 0
    said = json.loads(capsys.readouterr().out)[0]
    assert (said["lo"], said["error"], said["hi"]) == pytest.approx(
        (new_run_interval(by_study, beyond, 0.9)[0][0], by_study.predict(beyond)[0],
         new_run_interval(by_study, beyond, 0.9)[1][0]), rel=1e-12)

    # (the two halves keep their index: compare reads such a frame too)
    two = pd.concat([results.assign(recipe="a"), results.assign(recipe="b", acc1=results["acc1"] - 0.01)])
    found, _ = compare_recipes(two, "recipe", "a", "b")
    assert found[0].a.method == by_cli.method and _set(found[0].a.point) == pytest.approx(_set(by_cli.params), rel=1e-9)


def _set(params: dict) -> dict:
    """The law's parameters that are set (a term the form lacks is None)."""
    return {k: v for k, v in params.items() if v is not None}
