"""clipscale._io.json_clean: the one NaN -> null rule for JSON written by any stage."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from clipscale._io import json_clean


def test_nan_and_inf_become_null_and_numpy_becomes_python():
    raw = {"a": math.nan, "b": [1.5, float("inf"), -math.inf], 3: (np.float32(np.nan), np.int64(7), np.bool_(True)),
           "arr": np.array([0.5, np.nan]), "na": pd.NA, "nat": pd.NaT, "s": "NaN", "none": None, "ok": np.float64(0.25)}
    out = json_clean(raw)
    assert out == {"a": None, "b": [1.5, None, None], "3": [None, 7, True], "arr": [0.5, None], "na": None,
                   "nat": None, "s": "NaN", "none": None, "ok": 0.25}
    assert type(out["3"][1]) is int and type(out["3"][2]) is bool and type(out["ok"]) is float
    text = json.dumps(out, allow_nan=False)  # strict JSON: raises on any NaN left behind
    assert json.loads(text) == out
    records = json_clean(pd.DataFrame({"x": [1.0, np.nan]}).to_dict(orient="records"))
    assert records == [{"x": 1.0}, {"x": None}]
