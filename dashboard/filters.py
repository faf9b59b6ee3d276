"""The filters every page honours (period from/to month, referral source), kept in the URL.

``parse`` accepts only well-formed values (anything else is ignored, never passed on), so a
hand-edited address cannot put arbitrary text into a query or a cache key.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlencode

from dashboard.labels import SOURCES
from etl.schema import REFERRAL_SOURCES

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
KEYS = ("from", "to", "source")


def parse(search: str | None) -> dict[str, Any]:
    """{"from", "to", "source"} from a query string ("?from=2025-01&source=gp"); invalid or
    missing values are None, and a from-month after the to-month is swapped."""
    query = parse_qs((search or "").lstrip("?"))
    out: dict[str, Any] = {k: (query.get(k) or [None])[0] for k in KEYS}
    return clean(out)


def clean(values: dict[str, Any]) -> dict[str, Any]:
    out = {k: values.get(k) or None for k in KEYS}
    for k in ("from", "to"):
        if out[k] is not None and not MONTH.match(str(out[k])):
            out[k] = None
    if out["source"] not in REFERRAL_SOURCES:
        out["source"] = None
    if out["from"] and out["to"] and out["from"] > out["to"]:
        out["from"], out["to"] = out["to"], out["from"]
    return out


def search(filters: dict[str, Any]) -> str:
    """The query string of `filters` ("" when none is set)."""
    pairs = [(k, filters[k]) for k in KEYS if filters.get(k)]
    return "?" + urlencode(pairs) if pairs else ""


def describe(filters: dict[str, Any], period: dict[str, Any] | None) -> str:
    """The period (and source) a page covers, in words."""
    first = (period or {}).get("from") or filters.get("from")
    last = (period or {}).get("to") or filters.get("to")
    text = f"{month_name(first)} to {month_name(last)}" if first and last else "All months"
    if filters.get("source"):
        text += f", referrals from {SOURCES[filters['source']]}"
    return text


def month_name(month: str | None) -> str:
    if not month:
        return ""
    names = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    return f"{names[int(month[5:]) - 1]} {month[:4]}"
