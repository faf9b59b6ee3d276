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


def apply_unique_except(series: pd.Series, fn: Callable, plain: str) -> tuple[pd.Series, pd.Series]:
    """As `apply_unique`, but values that fully match the regex `plain` are already canonical
    and are kept as they are (a vectorised fast path for ids, which are mostly distinct)."""
    return apply_unique_where(series, fn, series.str.fullmatch(plain).fillna(False).astype(bool))


def apply_unique_where(
    series: pd.Series, fn: Callable, ok: pd.Series
) -> tuple[pd.Series, pd.Series]:
    """As `apply_unique`, but the values where `ok` is true are already canonical (`fn` would
    return them unchanged) and are kept as they are."""
    values = series.astype(object)
    errors = pd.Series([None] * len(series), index=series.index, dtype=object)
    if not ok.all():
        rest_values, rest_errors = apply_unique(series[~ok], fn)
        values = values.where(ok, rest_values)
        errors = errors.where(ok, rest_errors)
    return values, errors
