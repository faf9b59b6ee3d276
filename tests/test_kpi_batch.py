"""The batched percentiles (kpi/minutes.py: one statement per grouping) give exactly what the
per-cell index walks gave before them, and numpy's percentiles, on both backends."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select, text

from etl import parsers, runner
from etl.cube import MINUTE_BOUNDS
from etl.demo import write_demo_exports
from kpi import minutes, queries
from kpi.cells import Cells, minutes_percentiles, referral_cells
from kpi.memo import NO_MEMO
from kpi.queries import DIMENSION_COLUMNS, RF, View
from kpi.report import build_report

GROUPINGS = ("month", *DIMENSION_COLUMNS)


def walk_minutes(conn, v: View, dimension, groups, low: int, skip: int) -> list[int]:  # noqa: ANN001
    """The engine's former per-cell query: two values from `low` on after skipping `skip`."""
    where = [RF.contact_minutes >= low, RF.contact_known_at <= v.as_of, *queries.received(v)[1:]]
    if dimension == "month":
        where.append(RF.received_month.in_(groups))
    elif dimension is not None:
        where.append(DIMENSION_COLUMNS[dimension].in_(groups))
    stmt = select(RF.contact_minutes).where(*where).order_by(RF.contact_minutes)
    return list(conn.execute(stmt.limit(2).offset(skip)).scalars())


def walk_percentiles(conn, v: View, _scope, cells: Cells, key: tuple) -> tuple:  # noqa: ANN001
    """The engine's former minutes_percentiles: one index walk per cell and quantile."""
    sums = cells.referral_sums(key)
    n = sums["hours_n"]
    if n == 0:
        return None, None
    dimension, groups = minutes.dimension_of(key), minutes.members_of(key)
    out = []
    for q in (0.5, 0.9):
        h = (n - 1) * q
        lo = math.floor(h)
        below, bucket = 0, 0
        while below + sums[f"minutes_b{bucket}"] <= lo:
            below += sums[f"minutes_b{bucket}"]
            bucket += 1
        values = walk_minutes(conn, v, dimension, groups, MINUTE_BOUNDS[bucket], lo - below)
        out.append(values[0] + (h - lo) * (values[-1] - values[0]))
    return tuple(out)


@pytest.fixture(params=[(7, 600, 14), (23, 250, 5)], ids=["600-referrals", "250-referrals"])
def loaded(request, engine, tmp_path, monkeypatch):  # noqa: ANN001, ANN201
    seed, referrals, months = request.param
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    monkeypatch.setenv("SIS_INBOX", str(inbox))
    write_demo_exports(inbox, referrals=referrals, seed=seed, months=months)
    assert all(r.status == "loaded" for r in runner.run(engine))
    return seed


def _views(conn) -> list[tuple[View, bool]]:  # noqa: ANN001
    """The newest export time (with the cube and without), an earlier as_of, and filters."""
    newest = queries.newest_export(conn)
    months = sorted(conn.execute(text("SELECT DISTINCT received_month FROM referral_fact")))
    first, middle, last = months[0][0], months[len(months) // 2][0], months[-1][0]
    past = newest - dt.timedelta(days=40)
    views = []
    for as_of, cube in ((newest, True), (newest, False), (past, False)):
        day = parsers.utc_to_london(as_of).date()
        views.append((View(as_of, day), cube))
        views.append((View(as_of, day, middle, last, "gp"), cube))
        views.append((View(as_of, day, first, middle, None), cube))
        views.append((View(as_of, day, None, None, "self"), cube))
    return views


def _merged_keys(cells: Cells, rng: random.Random) -> list[tuple]:
    """Some cells made by adding groups together, as small postcode districts are."""
    out = []
    for dimension in GROUPINGS:
        groups = sorted(cells.groups("hours_to_contact", dimension).values())
        for size in (2, 3, len(groups)):
            if 2 <= size <= len(groups):
                out.append(cells.combine("hours_to_contact", rng.sample(groups, size)))
    return out


def test_batched_percentiles_equal_the_per_cell_walks_and_numpy(engine, loaded) -> None:
    rng = random.Random(loaded)
    checked = 0
    with engine.connect() as conn:
        rows = conn.execute(
            select(RF.contact_minutes, RF.contact_known_at, RF.received_month)
            .add_columns(*[c.label(d) for d, c in DIMENSION_COLUMNS.items()])
            .where(RF.contact_minutes.is_not(None))
        ).all()
        for view, cube in _views(conn):
            cells = Cells()
            referral_cells(conn, view, cells, cube, NO_MEMO)
            keys = [k for k in cells.sums["referral"] if k[0] != "merged"]
            keys += _merged_keys(cells, rng)
            rng.shuffle(keys)  # any cell may be asked for first
            batched = {}
            for key in keys:
                batched[key] = cells.minutes.get(key) or minutes_percentiles(
                    conn, view, NO_MEMO, cells, key
                )
            for key in keys:
                walked = walk_percentiles(conn, view, NO_MEMO, cells, key)
                assert batched[key] == walked, (view, key)
                values = _values(rows, view, key)
                assert cells.referral_sums(key)["hours_n"] == len(values)
                if values:
                    expected = tuple(float(np.percentile(values, q)) for q in (50, 90))
                    assert batched[key] == pytest.approx(expected, abs=1e-9)
                    checked += 1
    assert checked > 200


def _values(rows: list, view: View, key: tuple) -> list[int]:
    """The minutes of a cell, straight from referral_fact's rows."""
    dimension, members = minutes.dimension_of(key), set(minutes.members_of(key))
    out = []
    for row in rows:
        m = row._mapping
        if m["contact_known_at"] > view.as_of:
            continue
        if view.month_from and m["received_month"] < view.month_from:
            continue
        if view.month_to and m["received_month"] > view.month_to:
            continue
        if view.source and m["referral_source"] != view.source:
            continue
        if dimension is not None:
            group = m["received_month"] if dimension == "month" else m[dimension]
            if group not in members:
                continue
        out.append(m["contact_minutes"])
    return out


@pytest.mark.parametrize("audience", ["manager", "commissioner"])
def test_reports_equal_those_of_the_per_cell_walks(engine, loaded, monkeypatch, audience) -> None:
    filters = [{}, {"month_from": "2026-01", "month_to": "2026-06", "source": "gp"}]
    batched = [build_report(engine, audience=audience, **f) for f in filters]
    monkeypatch.setattr("kpi.report.minutes_percentiles", walk_percentiles)
    assert [build_report(engine, audience=audience, **f) for f in filters] == batched


def test_a_few_statements_per_grouping(engine, loaded) -> None:
    """A grouping's walks forwards go in one statement, backwards in another (one more per
    CHUNK walks), instead of one statement per walk."""
    statements: list[str] = []
    with engine.connect() as conn:
        as_of = queries.newest_export(conn)
        view = View(as_of, parsers.utc_to_london(as_of).date())
        cells = Cells()
        referral_cells(conn, view, cells, True, NO_MEMO)
        keys = list(cells.sums["referral"])

        def count(*args) -> None:  # noqa: ANN002
            statements.append(args[2])

        event.listen(conn, "before_cursor_execute", count)
        for key in keys:
            if key not in cells.minutes:
                cells.minutes[key] = minutes_percentiles(conn, view, NO_MEMO, cells, key)
        event.remove(conn, "before_cursor_execute", count)
    cells_per_grouping = Counter(minutes.dimension_of(k) for k in keys)
    most = sum(2 + 2 * n // minutes.CHUNK for n in cells_per_grouping.values())
    assert len(cells_per_grouping) <= len(statements) <= most < len(keys)
    assert any("DESC" in s for s in statements) and any("DESC" not in s for s in statements)


def _bucket_sums(values: list[int]) -> Counter:
    sums = Counter({"hours_n": len(values)})
    for x in values:
        i = max(i for i, low in enumerate(MINUTE_BOUNDS) if x >= low)
        sums[f"minutes_b{i}"] += 1
    return sums


minute_values = st.one_of(
    st.integers(0, 200),
    st.sampled_from([b + d for b in MINUTE_BOUNDS for d in (-1, 0, 1) if b + d >= 0]),
    st.integers(0, 30_000),
)


@given(st.lists(st.lists(minute_values, min_size=0, max_size=30), min_size=1, max_size=5))
@settings(max_examples=300, deadline=None)
def test_ranks_found_from_bucket_counts_equal_numpy(groups: list[list[int]]) -> None:
    """The rank logic alone, on any minutes (ties, bucket edges, one value, the open last
    bucket), with the database's walks done here on the values."""
    cells = {("g", str(i)): _bucket_sums(values) for i, values in enumerate(groups)}
    if len(groups) > 1:  # two groups added together, as small districts are
        cells[("merged", (("g", "0"), ("g", str(len(groups) - 1))))] = _bucket_sums(
            groups[0] + groups[-1]
        )

    def walks(_conn, _view, _dimension, wanted) -> list:  # noqa: ANN001
        out = []
        for w in wanted:
            values = [x for m in w.groups for x in groups[int(m)] if w.low <= x < w.high]
            values.sort(reverse=w.descending)
            out.append(sorted(values[w.skip : w.skip + 2]))
        return out

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(minutes, "walks", walks)
        found = minutes.percentiles(None, None, "g", cells)  # type: ignore[arg-type]
    for key in cells:
        values = [x for m in minutes.members_of(key) for x in groups[int(m)]]
        if not values:
            assert found[key] == (None, None)
            continue
        expected = tuple(float(np.percentile(values, q)) for q in (50, 90))
        assert found[key] == pytest.approx(expected, abs=1e-9)


def test_reports_leave_no_statement_prepared(engine, loaded) -> None:
    """psycopg prepares a statement run five times; PostgreSQL then plans it once for any
    values, and such a generic plan walks the wrong index. A report's statements never are."""
    with engine.connect() as conn:
        for _ in range(7):
            build_report(conn, month_from="2026-01", month_to="2026-06", source="gp")
        if engine.dialect.name == "postgresql":
            prepared = conn.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar()
            assert prepared == 0
        driver = conn.connection.driver_connection
        assert getattr(driver, "prepare_threshold", 5) == 5  # the connection is left as it was
