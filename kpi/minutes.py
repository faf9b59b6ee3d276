"""Exact medians and 90th percentiles of minutes to first contact, a statement or two a grouping.

A cell's counts per bucket of minutes (etl/cube.py MINUTE_BOUNDS, summed from referral_cube and
the live referrals) say which bucket holds the value at each rank a percentile needs (numpy's
linear interpolation: ranks floor(h) and floor(h) + 1, h = (n - 1) * q). The database then walks
an index from the start of that bucket, skipping the values before the rank, or back from the
bucket's end when that skips fewer, and returns two values. The walks of a grouping (the months,
the sources, the districts ...) go in one ``UNION ALL`` statement per direction (and per CHUNK
walks): each walk is an index range scan, led by the grouping's column and the minutes, holding
the columns filtered on, so the table is never read.

The statements are built once per shape (grouping, which filters are set, direction, how many
walks and how many groups each adds up) with bound parameters for every value, so that
SQLAlchemy compiles each shape once and a report only binds its values.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import Connection, Integer, bindparam, select, union_all
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Select

from etl.cube import MINUTE_BOUNDS
from kpi.queries import DIMENSION_COLUMNS, RF, View, shape_of

QUANTILES = (0.5, 0.9)
ALL = ("all",)
CHUNK, PAD = 32, 8  # walks per statement, made up to a multiple of PAD with walks of nothing
NO_END = 2**31 - 1  # above any minutes to first contact


@dataclass(frozen=True)
class Walk:
    """Two values of `groups` from `low` on, after skipping `skip` values; backwards from
    below `high` when `descending` (then the values come highest first)."""

    groups: tuple[str, ...]
    low: int
    skip: int
    descending: bool = False
    high: int = NO_END


def dimension_of(key: tuple) -> str | None:
    """The grouping of a cell: None (overall), "month", a breakdown, or a merged one's."""
    if key == ALL:
        return None
    if key[0] == "merged":
        return key[1][0][0]
    return key[0]


def members_of(key: tuple) -> tuple[str, ...]:
    """The groups a cell adds up (none for the overall cell)."""
    if key == ALL:
        return ()
    if key[0] == "merged":
        return tuple(k[1] for k in key[1])
    return (key[1],)


def bucket_of(sums: Counter, rank: int) -> tuple[int, int]:
    """(bucket holding the value of `rank`, how many values lie in earlier buckets)."""
    below, bucket = 0, 0
    while below + sums[f"minutes_b{bucket}"] <= rank:
        below += sums[f"minutes_b{bucket}"]
        bucket += 1
    return bucket, below


def _column(dimension: str | None) -> ColumnElement | None:
    if dimension is None:
        return None
    return RF.received_month if dimension == "month" else DIMENSION_COLUMNS[dimension]


@lru_cache(maxsize=512)
def _statement(
    dimension: str | None,
    filters: tuple[bool, bool, bool],
    descending: bool,
    sizes: tuple[int, ...],
):  # noqa: ANN202
    """UNION ALL of len(sizes) walks, walk i over sizes[i] groups; every value a parameter:
    as_of, month_from, month_to, source (those set), low_i, high_i, skip_i and g_i_j."""
    column = _column(dimension)
    has_from, has_to, has_source = filters
    branches: list[Select] = []
    for i, size in enumerate(sizes):
        where = [
            RF.contact_minutes >= bindparam(f"low_{i}", type_=Integer),
            RF.contact_known_at <= bindparam("as_of"),
        ]
        if descending:
            where.append(RF.contact_minutes < bindparam(f"high_{i}", type_=Integer))
        if has_from:
            where.append(RF.received_month >= bindparam("month_from"))
        if has_to:
            where.append(RF.received_month <= bindparam("month_to"))
        if has_source:
            where.append(RF.referral_source == bindparam("source"))
        if column is not None and size == 1:
            where.append(column == bindparam(f"g_{i}_0"))
        elif column is not None:
            where.append(column.in_([bindparam(f"g_{i}_{j}") for j in range(size)]))
        walk = (
            select(RF.contact_minutes)
            .where(*where)
            .order_by(RF.contact_minutes.desc() if descending else RF.contact_minutes)
            .limit(2)
            .offset(bindparam(f"skip_{i}", type_=Integer))
            .subquery()
        )
        tag = bindparam(f"tag_{i}", i, type_=Integer)
        branches.append(select(tag.label("tag"), walk.c.contact_minutes))
    return branches[0] if len(branches) == 1 else union_all(*branches)


def walks(conn: Connection, v: View, dimension: str | None, wanted: list[Walk]) -> list[list[int]]:
    """The two values of each walk of `wanted` (one at the very end), lowest first: the
    minutes to first contact of the referrals of its groups in the view, counted by as_of.
    One statement per direction and CHUNK walks; padded to a few lengths (walks from NO_END
    find nothing at once), so that each grouping has few shapes and they stay compiled."""
    out: list[list[int]] = [[] for _ in wanted]
    filters = shape_of(v)
    for descending in (False, True):
        indexes = [i for i, w in enumerate(wanted) if w.descending == descending]
        for start in range(0, len(indexes), CHUNK):
            chunk = [wanted[i] for i in indexes[start : start + CHUNK]]
            chunk += [Walk(("",), NO_END, 0, descending)] * (-len(chunk) % PAD)
            stmt = _statement(dimension, filters, descending, tuple(len(w.groups) for w in chunk))
            params = {"as_of": v.as_of, "month_from": v.month_from, "month_to": v.month_to}
            params["source"] = v.source
            for i, w in enumerate(chunk):
                params |= {f"low_{i}": w.low, f"high_{i}": w.high, f"skip_{i}": w.skip}
                params |= {f"g_{i}_{j}": group for j, group in enumerate(w.groups)}
            for tag, minutes in conn.execute(stmt, params):  # none from the padding
                out[indexes[start + tag]].append(minutes)
    return [sorted(values) for values in out]


def walk_to(sums: Counter, groups: tuple[str, ...], n: int, rank: int) -> Walk:
    """The shorter walk to the values at `rank` and the next one: from the start of the
    bucket holding the rank, or back from its end when that skips fewer (and the next value
    is in the same bucket)."""
    bucket, below = bucket_of(sums, rank)
    skip, count = rank - below, sums[f"minutes_b{bucket}"]
    low = MINUTE_BOUNDS[bucket]
    if rank + 1 < n and skip + 1 < count and count - 2 - skip < skip:
        high = MINUTE_BOUNDS[bucket + 1] if bucket + 1 < len(MINUTE_BOUNDS) else NO_END
        return Walk(groups, low, count - 2 - skip, descending=True, high=high)
    return Walk(groups, low, skip)


def percentiles(
    conn: Connection, v: View, dimension: str | None, cells: dict[tuple, Counter]
) -> dict[tuple, tuple]:
    """(median, p90) minutes to first contact of each cell {key: its summed counts} of one
    grouping (numpy's linear interpolation); (None, None) for a cell with no minutes."""
    wanted: list[Walk] = []
    plans: dict[tuple, list[tuple[float, int, int]]] = {}
    for key, sums in cells.items():
        n = sums["hours_n"]
        if n == 0:
            continue
        plans[key] = []
        for q in QUANTILES:
            h = (n - 1) * q
            lo = math.floor(h)
            plans[key].append((h, lo, len(wanted)))
            wanted.append(walk_to(sums, members_of(key), n, lo))
    found = walks(conn, v, dimension, wanted)
    out: dict[tuple, tuple] = {key: (None, None) for key in cells}
    for key, plan in plans.items():
        values = []
        for h, lo, index in plan:
            pair = found[index]  # the values at ranks lo and lo + 1 (just lo at the end)
            values.append(pair[0] + (h - lo) * (pair[-1] - pair[0]))
        out[key] = tuple(values)
    return out
