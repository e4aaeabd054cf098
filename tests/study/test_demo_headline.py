"""The demo's headline names the law's form in the space it was fitted in."""
from types import SimpleNamespace

from clipscale.study.demo import headline
from clipscale.study.summary import LawFacts, StudySummary


def _outcome(tmp_path, method, floor):
    law = LawFacts(method, -1.8, 1184.3, floor, 0.987, 17, 9, None, "ok", "")
    summary = StudySummary("demo", 3, [], [], 1.0, dataset="embedded/objects", law=law)
    return SimpleNamespace(summary=summary, out_dir=tmp_path, report=None, missing=[])


def test_an_odds_floor_is_printed_as_odds_and_as_the_error_it_sets(tmp_path):
    line = next(x for x in headline(_outcome(tmp_path, "logodds-sat", 0.00946)) if x.startswith("law ("))
    assert "error/(1 - error) = 1.18e+03 * C^-1.800 + 0.00946 (error floor 0.94%)" in line
    assert "9 fitted points (the frontier of 17 runs)" in line


def test_a_floor_in_error_space_is_a_percentage_and_none_is_left_out(tmp_path):
    sat = next(x for x in headline(_outcome(tmp_path, "saturating", 0.02)) if x.startswith("law ("))
    assert "error = 1.18e+03 * C^-1.800 + 2.0%" in sat
    plain = next(x for x in headline(_outcome(tmp_path, "logodds", None)) if x.startswith("law ("))
    assert plain.split("  (C =")[0].endswith("C^-1.800") and "nan" not in plain


def test_auto_names_the_form_it_chose_and_prints_it_in_its_space(tmp_path):
    outcome = _outcome(tmp_path, "auto", 0.00946)
    outcome.summary.law.form = "logodds-sat"
    line = next(x for x in headline(outcome) if x.startswith("law ("))
    assert line.startswith("law (auto: logodds-sat, embedded/objects): error/(1 - error) = ")
    assert "(error floor 0.94%)" in line
