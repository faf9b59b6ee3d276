"""Vectorised fast paths: which values of a column a scalar parser would leave exactly as they
are, worked out for the whole column at once. Only those skip the parser; every other value
(and every error message) still comes from the scalar parser, so the results are the same."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_NHS_WEIGHTS = np.arange(10, 1, -1)


def nhs_canonical(series: pd.Series) -> pd.Series:
    """True where `normalise_nhs_number` would return the value itself: exactly ten ASCII
    digits that pass the modulus-11 check and are not all the same digit."""
    text = pa.array(series.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    shaped = pc.match_substring_regex(text, "^[0-9]{10}$").to_numpy(zero_copy_only=False)
    ok = np.zeros(len(series), dtype=bool)
    candidates = np.flatnonzero(np.asarray(shaped, dtype=object) == True)  # noqa: E712 (nulls)
    if len(candidates):
        raw = series.to_numpy(dtype=object)[candidates].astype("S10")
        digits = raw.view(np.uint8).reshape(len(raw), 10).astype(np.int64) - ord("0")
        check = 11 - (digits[:, :9] @ _NHS_WEIGHTS) % 11
        valid = (check != 10) & (check % 11 == digits[:, 9])
        placeholder = (digits == digits[:, :1]).all(axis=1)
        ok[candidates] = valid & ~placeholder
    return pd.Series(ok, index=series.index)
