"""Rows of report records for tables, shared by several pages (never a new calculation)."""

from __future__ import annotations

from typing import Any

from dashboard import labels
from dashboard.tables import Column, Table

RATE_COLUMNS: list[Column] = [
    ("numerator", "Met"),
    ("denominator", "Counted"),
    ("value", "Per cent"),
]


def rate_by_month(measure: dict[str, Any], title: str, met: str, counted: str) -> Table:
    columns: list[Column] = [("period", "Month"), ("numerator", met), ("denominator", counted)]
    if any("pending" in r for r in measure.get("by_month", [])):
        columns.append(("pending", "Pending"))
    columns.append(("value", "Per cent"))
    target = measure.get("target")
    rows = [dict(r) for r in measure.get("by_month", [])]
    if target is not None:
        columns.append(("target", "Target (%)"))
        for r in rows:
            r["target"] = target
    return Table(title, columns, rows)


def by_group(records: list[dict[str, Any]], columns: list[Column], title: str) -> Table:
    rows = [{**r, "group": labels.group(r.get("group"))} for r in records]
    return Table(title, columns, rows)


def values(records: list[dict[str, Any]], key: str = "value") -> list[Any]:
    return [r.get(key) for r in records]
