"""levels_from = "cooldown": one trunk per model x data, one cool-down branch per level (issue 11)."""
from __future__ import annotations

import pandas as pd

from clipscale.study import load_spec, run_study, study_status
from clipscale.study.spec import in_band


def test_cooldown_study_has_one_annealed_point_per_level_and_reruns_nothing(tiny):
    path = tiny(models=("ladder-e-xxs", "ladder-e-xs"), samples=(256, 512, 1024), levels_from="cooldown")
    spec = load_spec(path)
    runs = spec.runs()
    assert len(runs) == 2 and all(r.levels == (256, 512, 1024) for r in runs)  # one trunk per model x data
    run_study(spec, progress=False, report=False)
    results = pd.read_csv(spec.out_dir / "results.csv")
    assert sorted(results.groupby("model" if "model" in results else "arch")["samples_seen"].apply(sorted)
                  .tolist()) == [[256, 512, 1024]] * 2
    for run in runs:
        folder = spec.out_dir / "runs" / run.name
        assert (folder / "trunk" / "done.json").exists() and (folder / "branches.json").exists()
        assert {p.name for p in folder.glob("branch_s*")} == {"branch_s256", "branch_s512", "branch_s1024"}
    status = study_status(spec)
    assert (status["state"] == "done").all()
    assert status["branches"].str.startswith("trunk done, 3/3 branches done").all()
    assert (status["samples_trained"] < 1024 + 512 + 256).all()  # trunk + cool-downs, not 3 runs
    stamps = {p: p.stat().st_mtime_ns for p in spec.out_dir.glob("runs/*/branch_s*/checkpoints/*.pt")}
    run_study(spec, progress=False, report=False)  # all done: no branch is retrained
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    assert pd.read_csv(spec.out_dir / "results.csv").equals(results)


def test_compute_band_drops_levels_outside_it(tiny):
    path = tiny(models=("ladder-e-xxs", "ladder-e-xs"), samples=(256, 512, 1024, 2048),
                levels_from="cooldown")
    spec = load_spec(path)
    from clipscale.compute import count

    g_xs = float(count("ladder-e-xs").gmacs)
    banded = spec.replace(axes={"max_gmacs_total": g_xs * 600})  # ladder-e-xs keeps 256 and 512 only
    assert in_band(banded, "ladder-e-xs", [256, 512, 1024, 2048]) == [256, 512]
    assert in_band(banded, "ladder-e-xxs", [256, 512, 1024, 2048]) == [256, 512, 1024, 2048]
    assert {r.model: r.levels for r in banded.runs()} == {"ladder-e-xxs": (256, 512, 1024, 2048),
                                                         "ladder-e-xs": (256, 512)}




def test_same_spec_and_seed_give_the_same_numbers(tiny, tmp_path):
    """Two folders, one spec: the same results.csv byte for byte (the demo's determinism, issue 10),
    but for the folder in each checkpoint's path and the checkpoint's sha256 (a checkpoint records its
    run's wall time, and torch names its records after the temporary file it was written to)."""
    import csv
    import io

    path = tiny(models=("ladder-e-xxs",), samples=(256, 512), levels_from="cooldown")
    tables = []
    for name in ("a", "b"):
        spec = load_spec(path, out=tmp_path / name)
        run_study(spec, progress=False, report=False)
        rows = list(csv.reader(io.StringIO((spec.out_dir / "results.csv").read_text())))
        drop = rows[0].index("checkpoint_sha256")
        assert str(spec.out_dir) in rows[1][rows[0].index("checkpoint")]  # the path names its folder
        tables.append([[v.replace(str(spec.out_dir), "STUDY") for i, v in enumerate(r) if i != drop] for r in rows])
    assert tables[0] == tables[1] and len(tables[0]) == 3  # header + 2 study points


def test_unmet_targets_are_named():
    import dataclasses

    from clipscale.study.summary import (BacktestFacts, BudgetFacts, FrontierFacts, LawFacts, StudySummary,
                                         unmet_targets)

    law = LawFacts("frontier", -0.2, 5.0, None, 0.97, 9, 6, 2.0, "ok", "")
    budget = BudgetFacts(600.0, 1.0, 590.0, {}, {}, "fp32", 5.0, [], 0.0, 590.0, 3, [], {}, {})
    good = StudySummary("s", 3, [], [], 590.0, "embedded/objects", law, [1.0, 500.0],
                        FrontierFacts(6, {"a": 2, "b": 3, "c": 1}, [], 0.2, 0.2), None,
                        BacktestFacts(3, 4.0, 2, 2, 1.5, 2), budget)
    assert unmet_targets(good) == []  # the run off the frontier is not the frontier law's to predict
    bad = dataclasses.replace(good, frontier=dataclasses.replace(good.frontier, models={"a": 6}),
                              law=dataclasses.replace(law, r2=0.8),
                              budget=dataclasses.replace(budget, actual_s=900.0),
                              backtest=BacktestFacts(3, 4.0, 2, 2, 3.5, 1))
    text = " | ".join(unmet_targets(bad))
    assert "1 model size(s) on the frontier" in text and "R^2 0.8" in text and "900 s" in text
    assert "only 1/2 held-out frontier runs inside" in text and "frontier runs 3.5 > 3" in text
    none = dataclasses.replace(good, backtest=BacktestFacts(3, 4.0, 2))
    assert "no held-out run on the compute frontier" in " | ".join(unmet_targets(none))
