"""The paper's laws for every downstream dataset x group, plus the corrected text-retrieval fits.

The paper's figure notebook computes the text-retrieval error from the image-retrieval recall (a
copy-paste slip), so its text-retrieval laws equal the image-retrieval ones. `paper_fits` returns
the faithful laws (metric = the paper's default per dataset) and, separately labelled, laws of the
real text-retrieval recall@5 for the retrieval datasets.
"""
from __future__ import annotations

import pandas as pd

from clipscale.laws import fit_table
from clipscale.schema import RETRIEVAL_DATASETS
from clipscale.laws.defaults import N_BOOT, SEED

TEXT_RETRIEVAL = "text_retrieval_recall@5"


def paper_fits(results: pd.DataFrame, *, n_boot: int = N_BOOT, seed: int = SEED,
               corrected_text_retrieval: bool = True) -> pd.DataFrame:
    """One row per downstream_dataset x group (openclip, openai) with the paper's method; columns of
    clipscale.laws.fit_table plus `variant` ('paper', or 'corrected text retrieval')."""
    fits = fit_table(results, method="paper", n_boot=n_boot, seed=seed)
    fits.insert(2, "variant", "paper")
    if not corrected_text_retrieval or "downstream_dataset" not in results.columns:
        return fits
    retrieval = results[results["downstream_dataset"].isin(RETRIEVAL_DATASETS)]
    if retrieval.empty or TEXT_RETRIEVAL not in retrieval.columns:
        return fits
    text = fit_table(retrieval, method="paper", metric=TEXT_RETRIEVAL, n_boot=n_boot, seed=seed)
    text.insert(2, "variant", "corrected text retrieval")
    return pd.concat([fits, text], ignore_index=True)
