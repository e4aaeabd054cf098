"""A study's fits without training: one law per task and evaluation type, the joint law, fits.json."""
import numpy as np
import pandas as pd

from clipscale.laws import Fits
from clipscale.study import load_spec
from clipscale.study.orchestrate import fit_study, make_report
from clipscale.study.summary import build_summary


def _results(n_models=3, kinds=("zeroshot_classification", "finetune")):
    """embedded/shape evaluated zero-shot and after fine-tuning: error falls with GMACs and samples."""
    rows = []
    for i, arch in enumerate(["ladder-e-xxs", "ladder-e-xs", "ladder-e-s"][:n_models]):
        g = 4e-4 * 3 ** i
        for d in (256, 512, 1024, 2048):
            for kind in kinds:
                err = 0.05 + 0.004 * g ** -0.5 + 3.0 * d ** -0.5 - (0.03 if kind == "finetune" else 0.0)
                rows.append({"arch": arch, "gmacs": g, "samples_seen": d, "gmacs_total": g * d,
                             "upstream_dataset": "embedded-256", "downstream_dataset": "embedded/shape",
                             "acc1": 1 - err, "task": kind, "eval_task": "embedded/shape",
                             "eval_type": "finetune" if kind == "finetune" else np.nan,  # as evaluate writes them
                             "name": "epoch_1.pt", "run": f"{arch}-{d}", "samples_seen_pretty": str(d)})
    return pd.DataFrame(rows)


def test_laws_per_evaluation_type_and_the_joint_law(tiny, tmp_path):
    spec = load_spec(tiny(extra='[finetune]\ntasks = ["embedded/shape"]\n')).replace(fit={"n_boot": 50})
    fits, backtest, note = fit_study(spec, _results())
    by = {(e.method, e.group.get("task")): e for e in fits.entries}
    assert set(by) == {("ls", "zeroshot_classification"), ("ls", "finetune"), ("joint", "zeroshot_classification")}
    assert all(e.ok for e in fits.entries), [e.message for e in fits.entries]
    assert [e.extra["headline"] for e in fits.entries].count(True) == 1
    assert by[("ls", "zeroshot_classification")].extra["headline"]
    joint = by[("joint", "zeroshot_classification")]
    assert joint.fit.size_unit == "gmacs" and joint.n_points == 12
    # [fit] n_boot reaches every law of the study, the joint law included
    assert len(joint.fit.boot) == 50 and {e.fit.n_boot for e in fits.entries} == {50}
    assert {a["name"] for a in joint.extra["architectures"]} == {"ladder-e-xxs", "ladder-e-xs", "ladder-e-s"}
    assert backtest is not None and len(backtest) == 1 and note == ""   # [fit] holdout_top = 1, zero-shot runs
    path = fits.save(tmp_path / "fits.json")
    summary = build_summary(spec, "embedded/shape", _results(), Fits.load(path).frame(), [], [], 0.0, backtest)
    assert summary.law.n_points == 12 and summary.joint.status == "ok" and summary.dataset == "embedded/shape"
    assert summary.to_dict()["law"]["coef"] == summary.law.coef and "budget" not in summary.to_dict()
    index = make_report(spec.replace(out=str(tmp_path / "s")), _results(), None, path, backtest, ["1 of 13 runs missing"],
                        unmet=["compute spans 0.90 < 2 decades"], facts=["wall-time budget 600 s"])
    text = index.read_text()
    assert "embedded/shape · fine-tune" in text and "compute-optimal" in text
    answer = text[text.index('<section id="answer-section">'):text.index('<section id="scaling-section">')]
    assert "compute spans 0.90 &lt; 2 decades" in answer and "wall-time budget 600 s" in answer
    assert "ladder-e-s-2048" in answer  # the largest run, named by its run (every checkpoint is epoch_1.pt)
    assert _embedded(index)["problems"] == ["1 of 13 runs missing"]  # the box holds only what is missing


def _embedded(index) -> dict:
    """The JSON the report page reads."""
    import json
    import re

    text = index.read_text(encoding="utf-8")
    return json.loads(re.search(r'<script id="report-data" type="application/json">(.*?)</script>', text, re.S).group(1))


def test_too_few_runs_for_the_joint_law_is_a_failed_entry_not_a_crash(tiny):
    spec = load_spec(tiny())
    fits, _, _ = fit_study(spec, _results(n_models=1, kinds=("zeroshot_classification",)).head(4))
    joint = fits.select("joint")[0]
    assert not joint.ok and "too few" in joint.message


def test_the_report_draws_each_trunk_and_its_cool_down_branches(tiny, tmp_path):
    """training_curves reads runs/<run>/trunk and branch_s<level> logs; the report draws one line each."""
    import json

    from clipscale.report import build_report
    from clipscale.study.orchestrate import training_curves
    from clipscale.study.store import Store

    spec = load_spec(tiny(models=("ladder-e-xxs",), samples=(256, 512, 1024), levels_from="cooldown"))
    run = spec.runs()[0]
    root = Store(spec.out).run_dir(run.name)
    logs = {"trunk": range(64, 1024, 64), **{f"branch_s{lv}": range(int(lv * 0.8), lv + 1, 32) for lv in run.levels}}
    for part, steps in logs.items():
        (root / part).mkdir(parents=True)
        (root / part / "metrics.jsonl").write_text(
            "".join(json.dumps({"samples_seen": s, "loss": 5.0 / (1 + s / 256), "lr": 1e-3}) + "\n" for s in steps))
    rows = training_curves(Store(spec.out), spec.runs())
    assert sorted(rows["part"].unique()) == sorted(logs) and set(rows["arch"]) == {"ladder-e-xxs"}
    assert len(rows) == sum(len(s) for s in logs.values())
    data = _embedded(build_report(_results(1, ("zeroshot_classification",)), tmp_path / "r", training=rows,
                                 n_boot=0, figure_datasets=[]))
    kinds = sorted(p["kind"] for p in data["training"])
    assert kinds == ["branch", "branch", "branch", "trunk"]
    trunk = [p for p in data["training"] if p["kind"] == "trunk"][0]
    assert trunk["x"] == list(logs["trunk"]) and (tmp_path / "r" / "figures" / "training_loss.png").exists()
