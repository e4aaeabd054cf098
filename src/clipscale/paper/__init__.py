"""The paper's tables, fits, figures and predictions (Cherti et al., CVPR 2023).

`data.load()` finds the tables (beside --results, else downloaded and cached); `fits.paper_fits`
reproduces every law; `figures` draws the scaling, prediction and learning-curve figures.
"""
from __future__ import annotations

from clipscale.paper.data import PaperTables, load

__all__ = ["PaperTables", "load"]
