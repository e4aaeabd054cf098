"""Certified test: the paper's own aggregate rows, recomputed from its component rows."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clipscale.errors import DataError
from clipscale.evaluate.aggregates import AGGREGATES, VTAB_PLUS, aggregate_rows, with_aggregates



@pytest.fixture()
def paper(paper_dir) -> pd.DataFrame:
    return pd.read_csv(paper_dir / "zeroshot_results.csv")


def test_vtab_plus_is_every_classification_dataset_of_the_table(paper):
    cls = set(paper[paper.task == "zeroshot_classification"].downstream_dataset)
    assert set(VTAB_PLUS) == cls - set(AGGREGATES) - {"voc2007_multilabel"}
    assert len(VTAB_PLUS) == 35


@pytest.mark.parametrize("agg", sorted(AGGREGATES))
def test_recomputes_the_papers_aggregate_rows(paper, agg):
    components = paper[~paper.downstream_dataset.isin(list(AGGREGATES))]
    ours = aggregate_rows(components)
    ours = ours[ours.downstream_dataset == agg]
    theirs = paper[paper.downstream_dataset == agg]
    key = ["arch", "samples_seen", "upstream_dataset", "name"]
    both = theirs.merge(ours, on=key, suffixes=("_paper", "_ours"), validate="one_to_one")
    assert len(both) == len(theirs) == 32
    for m in ("acc1", "acc5", "mean_per_class_recall"):
        np.testing.assert_allclose(both[f"{m}_ours"], both[f"{m}_paper"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(both["gmacs_total_ours"], both["gmacs_total_paper"])


def test_a_wrong_component_set_would_fail(paper):
    """The rule is not vacuous: vtab over all 18 vtab/* rows (with cifar10, without sun397) differs."""
    p = paper.set_index(["name", "arch", "samples_seen", "downstream_dataset"])["acc1"].unstack()
    naive = p[[c for c in p.columns if c.startswith("vtab/")]].mean(axis=1)
    assert (naive - p["vtab"]).abs().max() > 1e-3


def test_incomplete_model_gets_no_aggregate_and_replacement(paper):
    one = paper[(paper.name == "openai") & (paper.arch == "ViT-L-14")]
    partial = one[one.downstream_dataset != "objectnet"]
    rows = aggregate_rows(partial[~partial.downstream_dataset.isin(list(AGGREGATES))])
    assert set(rows.downstream_dataset) == {"vtab"}
    full = with_aggregates(one)
    assert len(full) == len(one) and (full.downstream_dataset == "vtab+").sum() == 1


def test_table_without_schema_is_refused():
    with pytest.raises(DataError, match="lacks columns"):
        aggregate_rows(pd.DataFrame({"downstream_dataset": ["mnist"]}))
