"""Apply a scalar parser to a column once per distinct value."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from etl.parsers import ParseError


def _objects(values: list) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def apply_unique(series: pd.Series, fn: Callable) -> tuple[pd.Series, pd.Series]:
    """Apply `fn` once per distinct value: (results, error messages or None)."""
    codes, uniques = pd.factorize(series, sort=False)
    results, errors = [], []
    for value in uniques:
        try:
            results.append(fn(value))
            errors.append(None)
        except ParseError as exc:
            results.append(None)
            errors.append(str(exc))
    res = _objects([*results, None])[codes]
    err = _objects([*errors, None])[codes]
    return (
        pd.Series(res, index=series.index, dtype=object),
        pd.Series(err, index=series.index, dtype=object),
    )
