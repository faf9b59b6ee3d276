"""The vectorised date-time path agrees with the scalar parsers, value for value."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from etl import datetimes
from etl import parsers as p

FORMATS = p.DEFAULT_DATE_FORMATS
moments = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2035, 12, 31))
texts = st.one_of(
    moments.map(lambda t: t.strftime("%d/%m/%Y %H:%M")),
    moments.map(lambda t: t.strftime("%d/%m/%Y")),
    moments.map(lambda t: t.strftime("%Y-%m-%dT%H:%M")),
    moments.map(lambda t: f"{t.day}/{t.month}/{t.year % 100:02d} {t.hour}:{t.minute:02d}"),
    st.sampled_from(["", "31/02/2025 10:00", "13/25/2025", "01/01/1900", "03/03/2025 24:00"]),
)


def _scalar(value: str) -> tuple[dt.datetime | None, bool | None, bool]:
    try:
        parsed = p.parse_datetime(value, FORMATS)
    except p.ParseError:
        return None, None, True
    return (parsed[0], parsed[1], False) if parsed else (None, None, False)


@settings(max_examples=60, deadline=None)
@given(st.lists(texts, min_size=1, max_size=40))
def test_vectorised_parse_equals_the_scalar_parser(values: list[str]) -> None:
    local, known, errors = datetimes.parse_local(pd.Series(values, dtype="str"), FORMATS)
    for i, value in enumerate(values):
        want_local, want_known, want_error = _scalar(value)
        got = None if pd.isna(local[i]) else local[i].to_pydatetime()
        assert (got, known[i], errors[i] is not None) == (want_local, want_known, want_error)


@settings(max_examples=60, deadline=None)
@given(st.lists(moments, min_size=1, max_size=40))
def test_vectorised_london_to_utc_equals_the_scalar_rule(values: list[dt.datetime]) -> None:
    local = pd.Series(values, dtype="datetime64[us]")
    utc = datetimes.london_to_utc(local)
    assert [t.to_pydatetime() for t in utc] == [p.london_to_utc(v) for v in values]


def test_clock_change_hours() -> None:
    local = pd.Series(
        [dt.datetime(2025, 3, 30, 1, 30), dt.datetime(2025, 10, 26, 1, 30)], dtype="datetime64[us]"
    )
    assert list(datetimes.london_to_utc(local)) == [
        pd.Timestamp("2025-03-30 01:30"),  # spring gap: moved forward to 02:30 BST
        pd.Timestamp("2025-10-26 00:30"),  # autumn repeat: the first (BST) reading
    ]


def test_a_chunked_arrow_column_as_pandas_reads_large_files() -> None:
    chunked = pa.chunked_array([["03/03/2025 09:15", "04/03/2025"], ["31/02/2025 10:00"]])
    raw = pd.Series(pd.arrays.ArrowStringArray(chunked))
    local, known, errors = datetimes.parse_local(raw, FORMATS)
    assert local[0] == pd.Timestamp("2025-03-03 09:15") and known[0] is True
    assert local[1] == pd.Timestamp("2025-03-04") and known[1] is False
    assert pd.isna(local[2]) and errors[2] is not None
