"""Row hashes: one 64-bit hash per staged row of its mart columns, stored with the row, so a
re-exported row that did not change is recognised as unchanged. The text form of each value
is fixed, so the hashes never change between versions (a changed hash would make every stored
row look updated)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.core.util.hashing import combine_hash_arrays, hash_array


def row_hash(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """The int64 hash of each row's `columns`. One fixed text form per value, so a row's hash
    never depends on its neighbours (pandas prints a datetime column without times when all
    are midnight, a blank as None or NaT)."""
    # Mostly distinct columns (ids, keys) are hashed value by value; categorising first
    # only pays when values repeat. Either way the hashes are the same.
    texts = (_hash_text(frame[c]) for c in columns)
    hashes = (hash_array(t, categorize=n * 2 < len(t)) for t, n in texts)
    combined = combine_hash_arrays(hashes, len(columns))
    return pd.Series(combined, index=frame.index).astype(np.int64)


# Columns of one kind of value, where equal values always print alike (factorize may merge
# 1, 1.0 and True, which print differently).
_ONE_KIND = frozenset({"string", "integer", "floating", "boolean", "date", "empty"})


def _hash_text(col: pd.Series) -> tuple[np.ndarray, int]:
    """A column as text for the row hash: blanks as "", datetimes always with their time;
    each distinct value is turned into text once. With the number of distinct values."""
    if pd.api.types.is_datetime64_any_dtype(col):
        codes, uniques = pd.factorize(col.to_numpy("datetime64[us]"))
        forms = np.datetime_as_string(uniques, unit="s").tolist()
    else:
        values = col.to_numpy(dtype=object)
        if pd.api.types.infer_dtype(values, skipna=True) not in _ONE_KIND:  # 1 == 1.0 == True
            text = np.array(["" if pd.isna(v) else str(v) for v in values], dtype=object)
            return text, len(text)
        codes, uniques = pd.factorize(values)
        forms = [str(u) for u in uniques]
    text = np.empty(len(forms) + 1, dtype=object)
    text[:-1] = forms
    text[-1] = ""  # code -1: a blank
    return text[codes], len(forms)
