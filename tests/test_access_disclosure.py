"""What leaves the server for a commissioner (issue 5, kpis.md "Disclosure control for
commissioners"), on a small simulated service built to have small cells, on every backend: no
page, callback, download or layout holds a referral id, a client key or other pseudonym, a row
id, a practitioner, or a count from 1 to 7. The same checks run over a manager's responses must
find all of those, so they cannot pass by looking in the wrong place.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dash
import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from dashboard.tables import TABLES
from kpi.disclosure import COUNT_FIELDS
from kpi.measures import BY_ID
from kpi.report import build_report
from tests.conftest import signed_in, table_rows
from tests.test_access_security import (
    FILTERS,
    HTML,
    UPDATE,
    bodies,
    data_status,
    dependencies,
    load_small_service,
    open_link,
    page_paths,
    start_app,
)

QUERIES = ("", "?source=gp", "?from=2025-03&to=2025-08")
# Table and CSV columns that are not counts: percentages, statistics, targets.
NOT_A_COUNT = re.compile(r"%|per cent|median|mean|percentile|target", re.IGNORECASE)
PROSE_COLUMNS = ("Based on",)  # the overview's "N of M, P pending": counts inside words
SMALL = re.compile(r"[1-7]")  # a cell that is just a small count (fullmatch)
NUMBER = re.compile(r"(?<![\w.])\d+(?:,\d{3})*(?:\.\d+)?")
TRACE_KEYS = ("x", "y", "z", "text", "customdata", "hovertext")


# --- where counts are shown --------------------------------------------------------------------


def _small_number(value: Any) -> bool:  # noqa: ANN401
    """A JSON integer 1-7 (not a float such as a percentage 5.0, not a boolean)."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 7


def small_in_prose(text: str) -> list[str]:
    """Whole numbers 1-7 in words such as "3 of 12, 2 pending" (not "72 hours", not "5.0")."""
    return [n for n in NUMBER.findall(text) if SMALL.fullmatch(n)]


def text_of(node: Any) -> str:  # noqa: ANN401
    if isinstance(node, str | int | float) and not isinstance(node, bool):
        return str(node)
    if isinstance(node, list):
        return " ".join(text_of(n) for n in node)
    if isinstance(node, dict):
        return text_of((node.get("props") or {}).get("children"))
    return ""


def _nodes(node: Any, kind: str) -> Iterator[dict[str, Any]]:  # noqa: ANN401
    """Every component of `kind` in a JSON component tree."""
    if isinstance(node, list):
        for n in node:
            yield from _nodes(n, kind)
    elif isinstance(node, dict):
        if node.get("type") == kind:
            yield node
        props = node.get("props")
        for value in props.values() if isinstance(props, dict) else node.values():
            yield from _nodes(value, kind)


def _flat(values: Any) -> Iterator[Any]:  # noqa: ANN401
    if isinstance(values, list | tuple):
        for v in values:
            yield from _flat(v)
    else:
        yield values


def small_counts(tree: Any) -> list[tuple[str, str]]:  # noqa: ANN401
    """(where, what) for every count 1-7 a component tree shows: table cells of count columns,
    chart trace values and hover text, card figures."""
    found: list[tuple[str, str]] = []
    for table in _nodes(tree, "Table"):
        headings = [text_of(th) for th in _nodes(table, "Th")]
        for tr in _nodes(table, "Tr"):
            cells = [text_of(td) for td in _nodes(tr, "Td")]
            for heading, cell in zip(headings, cells, strict=False):
                if heading in PROSE_COLUMNS:
                    found += [("cell", f"{heading}: {cell}") for _ in small_in_prose(cell)]
                elif not NOT_A_COUNT.search(heading) and SMALL.fullmatch(cell.strip()):
                    found.append(("cell", f"{heading}: {cell}"))
    for graph in _nodes(tree, "Graph"):
        for trace in (graph["props"].get("figure") or {}).get("data", []):
            for key in TRACE_KEYS:
                for v in _flat(trace.get(key)):
                    if _small_number(v) or (isinstance(v, str) and SMALL.fullmatch(v)):
                        found.append(("trace", f"{trace.get('name')}.{key}: {v}"))
    for kind in ("P", "Span", "Div", "Strong"):
        for node in _nodes(tree, kind):
            ident = str(node["props"].get("id", ""))
            shown = text_of(node)
            if re.fullmatch(r"card-.+-value", ident) and SMALL.fullmatch(shown.strip()):
                found.append(("card", f"{ident}: {shown}"))
            if re.fullmatch(r"card-.+-detail", ident):
                found += [("card", f"{ident}: {shown}") for _ in small_in_prose(shown)]
    return found


def small_counts_in_csv(name: str, body: str) -> list[tuple[str, str]]:
    rows = list(csv.reader(io.StringIO(body)))
    found = []
    for row in rows[1:]:
        for heading, cell in zip(rows[0], row, strict=True):
            if heading in PROSE_COLUMNS:
                found += [("csv", f"{name} {heading}: {cell}") for _ in small_in_prose(cell)]
            elif not NOT_A_COUNT.search(heading) and SMALL.fullmatch(cell.strip()):
                found.append(("csv", f"{name} {heading}: {cell}"))
    return found


def _el(kind: str, children: Any = None, **props: Any) -> dict[str, Any]:  # noqa: ANN401
    return {"type": kind, "props": {"children": children, **props}}


def test_the_count_checks_are_precise() -> None:
    """Counts are flagged; percentages, statistics, months and prose are not."""
    assert small_in_prose("3 of 12, 2 pending") == ["3", "2"]
    assert small_in_prose("* waited over 72 hours") == []
    assert small_in_prose("10 of 15, * pending; 5.0% and 1,250 in 2025-01") == []
    head = _el("Thead", _el("Tr", [_el("Th", h) for h in ("Month", "Met", "Per cent")]))
    row = _el("Tr", [_el("Td", "Feb 2025"), _el("Td", "5"), _el("Td", "5")])
    table = _el("Table", [_el("Caption", "A table"), head, _el("Tbody", [row])])
    assert small_counts(table) == [("cell", "Met: 5")]
    figure = {"data": [{"name": "V", "x": ["2025-01"], "y": [5, 5.0, "*", 10, True]}]}
    assert small_counts(_el("Graph", None, figure=figure)) == [("trace", "V.y: 5")]
    cards = [_el("P", "3", id="card-sessions-value"), _el("P", "83.3%", id="card-x-value")]
    assert small_counts(_el("Div", cards)) == [("card", "card-sessions-value: 3")]
    body = "Month,Met,Median hours\r\n2025-01,3,4.0\r\n2025-02,*,5\r\n"
    assert small_counts_in_csv("t", body) == [("csv", "t Met: 3")]


# --- the data set and what to look for ---------------------------------------------------------


@pytest.fixture
def warehouse(engine: Engine, tmp_path: Path) -> Engine:
    return load_small_service(engine, tmp_path / "exports")


@pytest.fixture
def app(warehouse: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dash.Dash:
    return start_app(warehouse, tmp_path, monkeypatch)


def identifiers(engine: Engine) -> re.Pattern[str]:
    """Every referral id, client key, NHS-number pseudonym, contact and response id and
    practitioner in the warehouse, as one pattern of whole words."""
    found: set[str] = set()
    for table, columns in (
        ("referral", ("referral_id", "client_key", "nhs_key")),
        ("contact", ("contact_id", "referral_id", "practitioner")),
        ("feedback", ("response_id", "referral_id")),
    ):
        for row in table_rows(engine, table):
            found.update(str(row[c]) for c in columns if row[c] is not None)
    referrals = {r["referral_id"] for r in table_rows(engine, "referral")}
    practitioners = {r["practitioner"] for r in table_rows(engine, "contact") if r["practitioner"]}
    assert len(referrals) >= 60 and len(practitioners) >= 3
    assert all(len(x) >= 6 for x in found)  # no short value that could match by chance
    words = "|".join(re.escape(x) for x in sorted(found, key=len, reverse=True))
    return re.compile(rf"(?<![0-9A-Za-z])(?:{words})(?![0-9A-Za-z])")


def small_report_counts(report: dict[str, Any]) -> list[str]:
    """Exact counts 1-7 in a report's monthly figures and breakdowns."""
    small = []
    for measure_id, m in report["measures"].items():
        kind = BY_ID[measure_id].kind if measure_id in BY_ID else "count"
        records = [r for k, v in m.items() if k.startswith("by_") for r in v]
        for r in records:
            keys = [*COUNT_FIELDS, *(["value"] if kind == "count" else [])]
            small += [
                f"{measure_id} {r.get('period') or r.get('group')} {k}"
                for k in keys
                if _small_number(r.get(k))
            ]
    return small


@dataclass
class Seen:
    """Everything one audience was sent: texts, and where counts 1-7 were shown."""

    texts: list[tuple[str, str]] = field(default_factory=list)
    counts: list[tuple[str, str]] = field(default_factory=list)
    answered: int = 0
    downloads: dict[str, int] = field(default_factory=dict)


def browse(client: FlaskClient, deps: list[dict[str, Any]]) -> Seen:
    """Every page, the layout, every callback of `deps` with crafted inputs (every page's
    pathname, the real and a made-up data status, several filters) and every CSV."""
    seen = Seen()
    for path in page_paths():
        response = client.get(path, headers=HTML)
        seen.texts.append((f"GET {path}", response.get_data(as_text=True)))
    for path in ("/_dash-layout", "/_dash-dependencies"):
        response = client.get(path)
        assert response.status_code == 200
        seen.texts.append((path, response.get_data(as_text=True)))
        seen.counts += small_counts(response.get_json())
    status = data_status(client)
    for dep in deps:
        if dep.get("clientside_function"):
            continue  # runs in the browser: the server has nothing to answer
        for body in bodies(dep, status):
            response = client.post(UPDATE, json=body)
            seen.texts.append(
                (f"{dep['output']} {body['inputs']}", response.get_data(as_text=True))
            )
            if response.status_code == 200:
                seen.answered += 1
                seen.counts += small_counts(response.get_json())
    for name in sorted(TABLES):
        for query in QUERIES:
            response = client.get(f"/download/{name}.csv{query}")
            body = response.get_data(as_text=True)
            seen.texts.append((f"/download/{name}.csv{query}", body))
            seen.downloads[f"{name}{query}"] = response.status_code
            if response.status_code == 200:
                assert response.mimetype == "text/csv"
                seen.counts += small_counts_in_csv(name, body)
    return seen


# --- the tests ---------------------------------------------------------------------------------


def test_the_data_set_has_small_cells_that_managers_see_exactly(warehouse: Engine) -> None:
    exact = build_report(warehouse, None, "manager")
    assert exact["measures"]["waiting_now"]["value"] == 1  # a waiting list of one
    manager = small_report_counts(exact)
    assert len(manager) >= 100, manager
    assert any(s.startswith("referrals 20") for s in manager)  # monthly referrals of 1-7
    assert any(s.startswith("sessions ") for s in manager)
    assert small_report_counts(build_report(warehouse, None, "commissioner")) == []
    for f in FILTERS[1:]:
        commissioner = build_report(
            warehouse, None, "commissioner", f["from"], f["to"], f["source"]
        )
        assert small_report_counts(commissioner) == []


def test_no_commissioner_response_holds_an_identifier_or_a_small_count(
    app: dash.Dash, warehouse: Engine
) -> None:
    pattern = identifiers(warehouse)
    commissioner, _, _ = open_link(app, warehouse)
    seen = browse(commissioner, dependencies(commissioner))
    assert seen.answered >= 40 and len(seen.texts) >= 100
    leaks = [(where, m.group()) for where, text in seen.texts for m in pattern.finditer(text)]
    assert leaks == []
    assert seen.counts == []
    for name, builder in TABLES.items():  # every download answered, or was refused
        for query in QUERIES:
            assert seen.downloads[name + query] == (403 if builder.managers_only else 200)
    csvs = [t for where, t in seen.texts if where.startswith("/download/")]
    assert sum("*" in t for t in csvs) >= 10  # small counts were there, and hidden


def test_a_manager_sees_identifiers_and_small_counts_in_the_same_places(
    app: dash.Dash, warehouse: Engine
) -> None:
    """The checks above are live: over a manager's responses they find what they look for."""
    pattern = identifiers(warehouse)
    manager = signed_in(app.server)
    seen = browse(manager, dependencies(manager))
    found = {m.group() for _, text in seen.texts for m in pattern.finditer(text)}
    referrals = {r["referral_id"] for r in table_rows(warehouse, "referral")}
    practitioners = {r["practitioner"] for r in table_rows(warehouse, "contact")}
    assert found & referrals  # the waiting list
    assert found & practitioners  # sessions by practitioner
    places = {where for where, _ in seen.counts}
    assert places == {"cell", "trace", "card", "csv"}, places
    assert len(seen.counts) >= 200
