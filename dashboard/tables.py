"""Every table the pages show, declared once: the page renders it and offers the same rows as
CSV at /download/<name>.csv (with the page's filters), so a download always equals the table.

A builder takes a Context (the cached report, the filters, the data version) and returns a
Table. Builders only pick figures out of the report; they never calculate a measure.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Column = tuple[str, str]  # (key, heading)


@dataclass
class Context:
    version: int | None
    filters: dict[str, Any]
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def measures(self) -> dict[str, Any]:
        return self.report.get("measures", {})


@dataclass
class Table:
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]


@dataclass(frozen=True)
class Builder:
    name: str
    build: Callable[[Context], Table]
    managers_only: bool = False


TABLES: dict[str, Builder] = {}


def table(name: str, managers_only: bool = False) -> Callable:
    """Declare a table builder under `name` (unique across pages)."""

    def register(build: Callable[[Context], Table]) -> Callable[[Context], Table]:
        TABLES[name] = Builder(name, build, managers_only)
        return build

    return register


def to_csv(t: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([heading for _, heading in t.columns])
    for row in t.rows:
        writer.writerow(["" if row.get(k) is None else row.get(k) for k, _ in t.columns])
    return out.getvalue()
