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
