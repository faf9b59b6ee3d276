"""Vectorised date-times: whole columns of UK wall-clock text to London and UTC datetime64.

Most values look like `dd/mm/yyyy hh:mm`; those are split into their date and time parts and
each part is parsed once per distinct value (a few hundred dates, a few thousand times), so a
column of millions of distinct date-times costs little more than its distinct days. Anything
else goes through the scalar parser, once per distinct value. Europe/London to UTC is worked
out once per distinct wall-clock hour: the offset is constant within an hour, including the
hours the clocks change (spring gap: moved forward; autumn repeat: the first, BST reading).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from etl import parsers as p
from etl.applying import apply_unique

_SPLIT = r"^(?P<d>\d{1,2}/\d{1,2}/\d{2,4})[ T]+(?P<t>\d{1,2}:\d{2}(?::\d{2})?)$"
UNIT = "datetime64[us]"


def _day(value: dt.date | None) -> np.datetime64 | None:
    return None if value is None else np.datetime64(value, "D")


def _seconds(value: dt.time | None) -> float | None:
    if value is None:
        return None
    return value.hour * 3600 + value.minute * 60 + value.second


def _nat(index: pd.Index) -> pd.Series:
    return pd.Series(pd.NaT, index=index, dtype=UNIT)


def _none(index: pd.Index) -> pd.Series:
    return pd.Series([None] * len(index), index=index, dtype=object)


def parse_local(raw: pd.Series, formats: tuple[str, ...]) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(London wall-clock datetime64, time known, error message or None) of a text column."""
    local, known, errors = _nat(raw.index), _none(raw.index), _none(raw.index)
    parts = pc.extract_regex(pa.array(raw, type=pa.string()), _SPLIT)  # vectorised, in Arrow
    if isinstance(parts, pa.ChunkedArray):
        parts = parts.combine_chunks()
    split = pd.Series(parts.is_valid().to_numpy(zero_copy_only=False), index=raw.index)
    if split.any():
        date_part = pd.Series(parts.field("d").to_numpy(zero_copy_only=False), index=raw.index)
        time_part = pd.Series(parts.field("t").to_numpy(zero_copy_only=False), index=raw.index)
        days, day_err = apply_unique(date_part[split], lambda v: _day(p.parse_date(v, formats)))
        secs, sec_err = apply_unique(time_part[split], lambda v: _seconds(p.parse_time(v)))
        stamp = pd.to_datetime(days).astype(UNIT) + pd.to_timedelta(pd.to_numeric(secs), unit="s")
        local[split] = stamp
        known[split] = stamp.notna().where(stamp.notna(), None)
        errors[split] = day_err.where(day_err.notna(), sec_err)
    rest = ~split
    if rest.any():
        parsed, err = apply_unique(raw[rest], lambda v: p.parse_datetime(v, formats))
        local[rest] = pd.to_datetime(
            pd.Series([None if t is None else t[0] for t in parsed], index=parsed.index)
        ).astype(UNIT)
        known[rest] = [None if t is None else t[1] for t in parsed]
        errors[rest] = err
    return local, known, errors.where(errors.notna(), None)


def with_time(
    local: pd.Series, known: pd.Series, raw_time: pd.Series
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Combine dates with a separate time column: (local, known, time error or None)."""
    secs, errors = apply_unique(raw_time, lambda v: _seconds(p.parse_time(v)))
    has = secs.notna() & local.notna()
    if has.any():
        local = local.copy()
        known = known.copy()
        local[has] = local[has].dt.normalize() + pd.to_timedelta(pd.to_numeric(secs[has]), unit="s")
        known[has] = True
    return local, known, errors


def london_to_utc(local: pd.Series) -> pd.Series:
    """Wall-clock London datetime64 -> UTC datetime64, by the clock-change rules."""
    hours = local.dt.floor("h")
    offsets = {
        h: h - pd.Timestamp(p.london_to_utc(h.to_pydatetime())) for h in hours.dropna().unique()
    }
    if not offsets:
        return local.copy()
    return (local - hours.map(offsets).astype("timedelta64[us]")).astype(UNIT)
