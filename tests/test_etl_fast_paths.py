"""The ETL's fast paths give exactly what the straightforward code gave: row hashes, SQLite
text of dates and times, NHS numbers recognised for a whole column, and the facts kept in
place (updates of changed columns only, rebuilt indexes, partial cube moves) equal a full
rebuild after loads that change all, some or none of the referrals."""

from __future__ import annotations

import datetime as dt
import shutil

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Date, DateTime, text

from etl import facts, parsers, runner, stage
from etl.demo import write_demo_exports
from etl.row_hash import row_hash
from etl.vectorised import nhs_canonical

FACT_TABLES = ("referral_fact", "referral_cube", "activity_day")


def _frame() -> pd.DataFrame:
    times = pd.Series(
        [dt.datetime(2025, 3, 30, 1, 30), None, dt.datetime(2025, 3, 30, 0, 0)] * 4,
        dtype="datetime64[us]",
    )
    return pd.DataFrame(
        {
            "id": [f"R{i}" for i in range(12)],
            "when": times,
            "day": [dt.date(2025, 1, i % 3 + 1) if i % 4 else None for i in range(12)],
            "mixed": pd.Series([1, 1.0, True, None, float("nan"), 2] * 2, dtype=object),
            "score": [1.5, None, 3.0, 12.222222222222221] * 3,
            "flag": [True, False, None] * 4,
            "code": ["a", "", None, "b"] * 3,
        }
    )


def test_row_hashes_are_the_ones_stored_before() -> None:
    frame = _frame()
    columns = list(frame.columns)

    def old_text(col: pd.Series) -> pd.Series:  # the text form the hashes were made of
        if pd.api.types.is_datetime64_any_dtype(col):
            as_text = np.datetime_as_string(col.to_numpy("datetime64[us]"), unit="s")
            return pd.Series(as_text, index=col.index).where(col.notna(), "")
        return col.astype(object).where(col.notna(), "").astype(str)

    old = pd.util.hash_pandas_object(frame[columns].apply(old_text), index=False)
    assert row_hash(frame, columns).tolist() == old.astype(np.int64).tolist()


def test_sqlite_text_of_dates_and_times_is_iso() -> None:
    frame = _frame()
    when = stage._sqlite_column(frame["when"], DateTime())
    assert list(when) == ["2025-03-30 01:30:00.000000", None, "2025-03-30 00:00:00.000000"] * 4
    as_date = stage._sqlite_column(frame["when"], Date())
    assert list(as_date) == ["2025-03-30", None, "2025-03-30"] * 4
    days = stage._sqlite_column(frame["day"], Date())
    assert list(days) == [d.isoformat() if d else None for d in frame["day"]]


def test_nhs_numbers_recognised_for_a_column_are_the_parsers() -> None:
    values = [
        "4010232137",
        "401 023 2137",
        "4010232138",
        "1111111111",
        "'4010232137",
        "40102321370",
        "\u0664\u0660\u0661\u0660\u0662\u0663\u0662\u0661\u0663\u0667",
        " 4010232137",
        "",
        "9434765919",
    ]

    def canonical(value: str) -> bool:
        try:
            return parsers.normalise_nhs_number(value) == value
        except parsers.ParseError:
            return False

    expected = [canonical(v) for v in values]
    assert nhs_canonical(pd.Series(values, dtype=object)).tolist() == expected
    assert nhs_canonical(pd.Series(values, dtype="str")).tolist() == expected


def _snapshot(engine) -> dict:  # noqa: ANN001
    with engine.connect() as conn:
        return {
            t: sorted(tuple(map(str, row)) for row in conn.execute(text(f"SELECT * FROM {t}")))
            for t in FACT_TABLES
        }


def _equals_rebuild(engine) -> None:  # noqa: ANN001
    incremental = _snapshot(engine)
    with engine.begin() as conn:
        facts.rebuild(conn)
    assert _snapshot(engine) == incremental


@pytest.mark.parametrize("large", [4, 100_000], ids=["rebuilt-indexes", "kept-indexes"])
def test_facts_equal_a_rebuild_after_changing_re_exports(
    engine, tmp_path, monkeypatch, large: int
) -> None:
    """A first load, then another service's exports under the same ids (most facts change,
    some referrals come and go), then the first again re-exported later (only some change,
    then none): after each, the facts equal a full rebuild."""
    monkeypatch.setattr(facts, "_LARGE", large)
    first, second = tmp_path / "first", tmp_path / "second"
    write_demo_exports(first, referrals=200, seed=3, months=6, shapes="csv")
    write_demo_exports(second, referrals=220, seed=4, months=6, shapes="csv")
    when = dt.datetime(2025, 6, 30, 17, 0)
    for folder, day in ((first, 0), (second, 3)):
        files = sorted(folder.iterdir())
        reports = runner.run(engine, files, "default", when + dt.timedelta(days=day))
        assert all(r.status == "loaded" for r in reports), [r.message for r in reports]
        _equals_rebuild(engine)
    for name in ("outcomes", "contacts"):  # one file at a time, exported later still
        again = tmp_path / f"again_{name}.csv"
        shutil.copy(next(f for f in first.iterdir() if name in f.name), again)
        for day in (6, 9):  # the second time nothing changes (a new name, the same rows)
            copy = again.with_name(f"{name}_{day}.csv")
            copy.write_bytes(again.read_bytes() + b"\n" * day)
            (report,) = runner.run(engine, [copy], "default", when + dt.timedelta(days=day))
            assert report.status == "loaded", report.message
            _equals_rebuild(engine)
