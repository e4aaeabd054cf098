"""`clipscale predict`: the frontier prediction at a compute and a run's prediction from the per-run
law, as the saved laws give them; fits of the previous format read; bad input one line, exit 2."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from clipscale.cli import main
from clipscale.laws import Fits, PerRunFit
from clipscale.laws.calibrate import new_run_interval

KEYS = {"compute", "error", "lo", "hi", "method", "extrapolation_decades", "level", "unit", "downstream_dataset"}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A results table (two datasets, a grid of model sizes x samples seen, unique data from the
    paper's LAION-80M, so the big runs repeat it) and its frontier and per-run fits."""
    d = tmp_path_factory.mktemp("predict")
    rng = np.random.default_rng(0)
    n, s = (a.ravel() for a in np.meshgrid([5.0, 12, 30, 80, 200], [1e9, 3e9, 1e10, 3e10]))
    rows = []
    for g in range(2):
        logit = np.log(np.exp(1.5 + g) / n ** 0.5 + np.exp(9.0) / s ** 0.45 + np.exp(-2.0)) + rng.normal(0, 0.03, n.size)
        rows.append(pd.DataFrame({"gmacs": n, "samples_seen": s, "gmacs_total": n * s, "acc1": 1 / (1 + np.exp(logit)),
                                  "downstream_dataset": f"ds{g}", "upstream_dataset": "LAION-80M"}))
    pd.concat(rows).to_csv(d / "results.csv", index=False)
    assert main(["fit", str(d / "results.csv"), "--method", "frontier", "--n-boot", "200",
                 "--out", str(d / "fits.csv")]) == 0
    assert main(["fit", str(d / "results.csv"), "--method", "perrun", "--n-boot", "20",
                 "--save-fits", str(d / "perrun.json")]) == 0
    return d


def _json(capsys, argv) -> list[dict]:
    assert main(argv) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_frontier_prediction_is_the_saved_laws_with_its_interval_and_extrapolation(folder, capsys):
    got = _json(capsys, ["predict", str(folder / "fits.json"), "--compute", "1e12", "1e13", "--json"])
    assert len(got) == 4 and all(KEYS <= set(r) for r in got)
    fits = Fits.load(folder / "fits.json")
    for r in got:
        res = fits.select(downstream_dataset=r["downstream_dataset"])[0].fit
        lo, hi = new_run_interval(res, [r["compute"]], 0.9)
        assert r["error"] == pytest.approx(res.predict([r["compute"]])[0])
        assert (r["lo"], r["hi"]) == pytest.approx((lo[0], hi[0])) and r["lo"] < r["error"] < r["hi"]
        assert r["extrapolation_decades"] == pytest.approx(max(0.0, math.log10(r["compute"] / res.compute.max())))
        assert r["method"] == "frontier" and r["compute_unit"] == "total GMACs" and r["unit"] == "fraction"
    assert main(["predict", str(folder / "fits.json"), "--compute", "1e13", "--where", "downstream_dataset==ds1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ds1, openclip: at 1e+13 total GMACs: error ") and "(90%: " in lines[0]


def test_run_prediction_from_the_per_run_law_knows_unique_data(folder, capsys):
    argv = ["predict", str(folder / "perrun.json"), "--size", "200", "--samples", "1e11", "--json"]
    once = _json(capsys, argv + ["--unique", "1e11"])          # every sample seen once
    repeated = _json(capsys, argv + ["--unique", "8e7"])       # 80M unique samples seen 1,250 times
    law = PerRunFit.from_dict(json.loads((folder / "perrun.json").read_text())["fits"][0]["fit"])
    assert once[0]["error"] == pytest.approx(law.predict([200.0], [1e11], [1e11])[0])
    assert all(0 <= r["lo"] < r["error"] < r["hi"] <= 1 for r in once + repeated)
    assert all(r["error"] > o["error"] for r, o in zip(repeated, once))  # repeated data is worth less
    assert once[0]["compute"] == 2e13 and once[0]["compute_unit"] == "GMACs per sample x samples seen"
    assert once[0]["extrapolation_decades"] == pytest.approx(math.log10(2e13 / (200 * 3e10)))


def test_a_joint_law_answers_a_run_without_unique_data(folder, tmp_path, capsys, cli_fails):
    assert main(["fit", str(folder / "results.csv"), "--method", "joint", "--size-col", "gmacs", "--size-unit", "gmacs",
                 "--data-col", "samples_seen", "--n-boot", "20", "--save-fits", str(tmp_path / "joint.json")]) == 0
    capsys.readouterr()
    got = _json(capsys, ["predict", str(tmp_path / "joint.json"), "--size", "200", "--samples", "1e11", "--json"])
    law = Fits.load(tmp_path / "joint.json").entries[0].fit
    assert got[0]["method"] == "joint" and got[0]["error"] == pytest.approx(law.predict([200.0], [1e11])[0])
    assert got[0]["lo"] < got[0]["error"] < got[0]["hi"] and got[0]["compute_unit"] == "gmacs x samples seen"
    cli_fails(["predict", str(tmp_path / "joint.json"), "--size", "200", "--samples", "1e11", "--unique", "8e7"],
           "fitted without unique data", "drop --unique")


def test_fits_of_the_previous_format_are_read(folder, tmp_path, capsys):
    old = json.loads((folder / "fits.json").read_text())
    old["schema"] = "clipscale.laws.Fits/1"
    for e in old["fits"]:
        e["fit"]["schema"] = "clipscale.laws.FitResult/2"
        e["fit"].pop("calibration", None), e["fit"].pop("chosen_from", None)
    (tmp_path / "old.json").write_text(json.dumps(old))
    assert _json(capsys, ["predict", str(tmp_path / "old.json"), "--compute", "1e12", "--json"])[0]["error"] == \
        _json(capsys, ["predict", str(folder / "fits.json"), "--compute", "1e12", "--json"])[0]["error"]


@pytest.mark.parametrize("args, patterns", [
    (["--compute", "0"], ["--compute '0' is not a number > 0"]),
    (["--compute", "abc"], ["--compute 'abc' is not a number > 0"]),
    (["--compute", "1e12", "--level", "90"], ["--level '90' is not a fraction in (0, 1)"]),
    ([], ["give --compute C", "or --size N --samples D"]),
    (["--compute", "1e12", "--size", "3"], ["one of the two"]),
    (["--size", "30"], ["needs --size N and --samples D"]),
    (["--size", "-3", "--samples", "1e9"], ["--size '-3' is not a number > 0"]),
    (["--compute", "1e12", "--where", "downstream_dataset==nope"], ["no rows left after --where", "groups: ds0, openclip; ds1, openclip"]),
    (["--size", "30", "--samples", "1e9"], ["hold no per-run law", "--method perrun"]),
])
def test_bad_input_is_one_line_and_exit_2(folder, capsys, args, patterns, cli_fails):
    cli_fails(["predict", str(folder / "fits.json"), *args], *patterns)


def test_a_run_without_unique_data_and_fits_of_another_version_are_refused(folder, tmp_path, capsys, cli_fails):
    cli_fails(["predict", str(folder / "perrun.json"), "--size", "30", "--samples", "1e9"], "pass --unique U")
    cli_fails(["predict", str(folder / "perrun.json"), "--compute", "1e12"], "hold no frontier law")
    data = json.loads((folder / "fits.json").read_text())
    data["schema"] = "clipscale.laws.Fits/9"
    (tmp_path / "new.json").write_text(json.dumps(data))
    cli_fails(["predict", str(tmp_path / "new.json"), "--compute", "1e12"], "not a clipscale fits file",
           "clipscale fit")
    cli_fails(["predict", str(tmp_path / "none.json"), "--compute", "1e12"], "fits file not found")


