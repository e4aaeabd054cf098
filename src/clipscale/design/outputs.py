"""The replay's files (replay.csv, chosen.csv, decisions.jsonl, written atomically) and its printed summary."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd

from clipscale._io import atomic_write_text
from clipscale.design.replay import ReplaySettings, averages


def write_replay(out_dir, frame: pd.DataFrame, chosen: pd.DataFrame, decisions: list[dict]) -> list[Path]:
    """DIR/replay.csv, DIR/chosen.csv and DIR/decisions.jsonl (one JSON decision per line)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [atomic_write_text(out / "replay.csv", frame.to_csv(index=False)),
             atomic_write_text(out / "chosen.csv", chosen.to_csv(index=False)),
             atomic_write_text(out / "decisions.jsonl", "".join(json.dumps(d, allow_nan=False) + "\n"
                                                                for d in decisions))]
    return paths


def ratio(frame: pd.DataFrame, a: str, b: str) -> tuple[float, int]:
    """Mean median miss of strategy `a` over that of `b`, over the groups where both were fitted;
    and the number of those groups."""
    keys = [c for c in frame.columns[: frame.columns.get_loc("strategy")]]
    wide = frame.pivot_table(index=keys or None, columns="strategy", values="median_miss_pct", dropna=False) \
        if keys else frame.set_index("strategy")["median_miss_pct"].to_frame().T
    if a not in wide or b not in wide:
        return math.nan, 0
    both = wide[[a, b]].dropna()
    if both.empty:
        return math.nan, 0
    return float(both[a].mean() / both[b].mean()), len(both)


def print_summary(frame: pd.DataFrame, skipped: list[str], settings: ReplaySettings, out: TextIO) -> None:
    """The averages per strategy, the adaptive-to-baseline ratios and the groups left out."""
    avg = averages(frame)
    print(f"design replay: budget {settings.budget_frac:g} of each pool's cost, top {settings.holdout_top_frac:g} "
          f"of compute held out, law {settings.design.method}; miss = median |predicted - actual| over a group's "
          "held-out frontier runs (error-% points), averaged over groups", file=out)
    print(avg.to_string(index=False, float_format=lambda v: f"{v:.3f}"), file=out)
    for base in ("full", "random"):
        r, n = ratio(frame, "adaptive", base)
        if np.isfinite(r):
            print(f"adaptive / {base}: {r:.2f}x the mean median miss ({n} groups where both were fitted)", file=out)
    if skipped:
        print(f"left out ({len(skipped)}): " + "; ".join(skipped[:5]) + (" ..." if len(skipped) > 5 else ""), file=out)
