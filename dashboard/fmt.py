"""Numbers as people read them: percentages to one decimal, counts with separators, "*" kept."""

from __future__ import annotations

from typing import Any

from kpi.disclosure import SUPPRESSED


def number(value: Any, unit: str = "") -> str:  # noqa: ANN401
    if value is None:
        return "–"
    if value == SUPPRESSED:
        return SUPPRESSED
    if isinstance(value, int):
        return f"{value:,}{unit}"
    return f"{value:,.1f}{unit}"


def percent(value: Any) -> str:  # noqa: ANN401
    return number(value, "%")


def measure_value(record: dict[str, Any], kind: str) -> str:
    """The headline figure of a measure record by its kind."""
    if kind == "rate":
        return percent(record.get("value"))
    if kind == "stat":
        return number(record.get("value"), " h")
    if kind == "mean":
        value = record.get("value")
        return number(round(value, 1) if isinstance(value, float) else value)
    return number(record.get("value"))
