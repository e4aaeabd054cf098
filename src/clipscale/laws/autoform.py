"""The law's form chosen per group by a rolling-origin backtest inside the fitted range.

Two forms cover the frontiers clipscale meets. The paper's CLIP runs sit far below chance, where the
frontier is a power law in log space (`frontier`: E = beta * C^alpha). A small model on an embedded
task falls from chance like a sigmoid in log compute and levels off at a floor, which a power law
cannot follow (`logodds-sat`: E/(1-E) = beta * C^alpha + k). `choose_form` fits each candidate at
every rolling-origin cut of the runs it is given (clipscale.laws.rolling: fit the runs at or below a
cut, predict the frontier runs above it) and keeps the first candidate unless another predicts those
frontier runs clearly better. When the fitted runs give too few such predictions to show that (a
short study), the first, simplest form stays: a third parameter that the runs cannot be shown to
need costs variance (measured on five demo studies: docs/laws.md). Only fitted runs are used,
so the choice is part of the fit.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from clipscale.errors import DataError
from clipscale.laws.methods import get as get_method
from clipscale.laws.rolling import MIN_TRAIN_FRAC, point_predictions

#: fewer rolling-origin predictions than this cannot rank two forms (the ratio of two RMS misses from
#: 4 values spans about 5x between samples: 90% range of an F distribution with 4 and 4 degrees of
#: freedom); the first candidate is then kept
MIN_EVIDENCE = 5
#: "clearly better": a later candidate's root-mean-square rolling-origin miss (error-% points) must be
#: below this fraction of the kept one's. Set on the paper's fitted runs (never the held-out ones):
#: see docs/laws.md
MARGIN = 0.5


@dataclasses.dataclass(frozen=True)
class FormChoice:
    """The chosen method, each candidate's rolling-origin RMS miss (error-% points; NaN where it could
    not be measured) and the number of predictions behind the scores."""

    form: str
    scores: dict[str, float]
    n_predictions: int
    reason: str

    def note(self) -> str:
        """One line for the fit's notes."""
        shown = ", ".join(f"{k} {v:.2f}" for k, v in self.scores.items() if math.isfinite(v))
        return f"form {self.form!r} ({self.reason}; rolling-origin RMS miss, error-% points: {shown or 'none'})"


def choose_form(compute, error, candidates, *, margin: float = MARGIN,
                min_evidence: int = MIN_EVIDENCE, min_train_frac: float = MIN_TRAIN_FRAC) -> FormChoice:
    """The candidate method (registered method names, simplest first: e.g. the `candidates` of
    laws.methods.METHODS["auto"], their one home) whose point fits predict the fitted frontier runs above each rolling
    cut best (errors as fractions, compute in any unit), preferring earlier candidates: a later one
    wins only when its RMS miss is below `margin` x the current choice's. With fewer than
    `min_evidence` predictions, the first candidate that can be fitted."""
    if not candidates:
        raise DataError("no candidate forms given; e.g. ('frontier', 'logodds-sat')")
    if not 0 < margin <= 1:
        raise DataError(f"margin must be a fraction in (0, 1], got {margin}")
    if int(min_evidence) != min_evidence or min_evidence < 0:
        raise DataError(f"min_evidence must be a whole number >= 0 of predictions, got {min_evidence!r}")
    c, e = np.asarray(compute, dtype=float), np.asarray(error, dtype=float)
    usable = [k for k in candidates if not (get_method(k).space == "logodds" and np.any(e >= 1))]
    scores, counts = {k: math.nan for k in candidates}, {}
    for name in usable:
        _, _, obs, pred = point_predictions(c, e, name, min_train_frac)
        ok = np.isfinite(pred)
        scores[name] = float(np.sqrt(np.mean((100 * (pred[ok] - obs[ok])) ** 2))) if ok.any() else math.nan
        counts[name] = int(ok.sum())
        if counts[name] < min_evidence:  # the evidence is the fewest predictions: the choice is made
            break
    evidence = min(counts.values(), default=0)
    if evidence < min_evidence:
        chosen = usable[0] if usable else candidates[0]
        return FormChoice(chosen, scores, evidence, f"{evidence} rolling-origin prediction(s) cannot show that "
                          f"another form predicts better (need >= {min_evidence}): the simplest form")
    chosen = candidates[0]
    for name in candidates[1:]:
        if math.isfinite(scores[name]) and (not math.isfinite(scores[chosen])
                                            or scores[name] < margin * scores[chosen]):
            chosen = name
    if chosen == candidates[0]:
        reason = "no other form predicts the fitted frontier runs clearly better"
    else:
        reason = f"predicts the fitted frontier runs better than {candidates[0]!r} by more than {1 / margin:.3g}x"
    return FormChoice(chosen, scores, evidence, reason)
