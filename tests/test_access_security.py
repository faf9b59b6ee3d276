"""The access layer against crafted requests (issue 5), on a small simulated service, on every
backend: which callbacks a commissioner link may trigger (every other one, with crafted inputs,
gets 403 and no data; managers-only pages also through the pages router), and what an anonymous
visitor gets from every route. The plain helpers here (warehouse, app, link, callback bodies)
are shared by the other test_access_* modules.
"""

from __future__ import annotations

import datetime as dt
import gzip
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import dash
import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, text
from werkzeug.test import TestResponse

from dashboard import filters as flt
from dashboard.access import links
from dashboard.app import create_app
from dashboard.tables import TABLES
from etl import runner
from etl.demo import write_demo_exports
from tests.conftest import PG_URL, signed_in

UPDATE = "/_dash-update-component"
HTML = {"Accept": "text/html,application/xhtml+xml"}
JSON = {"Accept": "application/json"}
MANAGERS_ONLY_CONTENT = ("waiting-content", "data-quality-content")
FILTERS = (
    {"from": None, "to": None, "source": None},
    {"from": None, "to": None, "source": "gp"},
    {"from": "2025-03", "to": "2025-08", "source": None},
)
# What a hand-made request may claim: malformed filters, and an audience of its own choosing.
HOSTILE = {"from": "2025-13", "to": "x", "source": "' OR 1=1 --", "audience": "manager"}
# What a refusal may hold: a short message, never a figure, a component tree or a row.
DATA_MARKERS = (b'"response"', b'"props"', b"card-", b"<td", b"figure", b"Peer ", b"\r\n")


# --- shared plain helpers ----------------------------------------------------------------------


def database_url(engine: Engine) -> str:
    """The URL the app should use for `engine` (PostgreSQL: its test schema first)."""
    if engine.dialect.name == "sqlite":
        return engine.url.render_as_string(hide_password=False)
    with engine.connect() as conn:
        schema = conn.execute(text("select current_schema()")).scalar()
    return f"{PG_URL}?options=-csearch_path%3D{schema}"


def load_small_service(engine: Engine, folder: Path, referrals: int = 90) -> Engine:
    """A small simulated service (seeded): 3-5 referrals a month, so that many cells are 1-7,
    and one referral waiting for first contact at the newest export."""
    runner.run(engine, sorted(write_demo_exports(folder, referrals, seed=4)))
    return engine


def start_app(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dash.Dash:
    monkeypatch.setenv("DATABASE_URL", database_url(engine))
    monkeypatch.setenv("SIS_CACHE_DIR", str(tmp_path / "cache"))
    return create_app()


def open_link(
    app: dash.Dash, engine: Engine, **environ: str
) -> tuple[FlaskClient, links.Link, str]:
    """A commissioner's browser that really opened a new link (token exchanged for a cookie)."""
    link, token = links.create(engine, "BNSSG ICB", dt.timedelta(days=90), "test")
    client = app.server.test_client()
    if environ:
        client.environ_base.update(environ)
    response = client.get(links.PREFIX + token)
    assert response.status_code == 303, response.get_data(as_text=True)
    assert urlsplit(response.headers["Location"]).path == "/"
    return client, link, token


def dependencies(client: FlaskClient) -> list[dict[str, Any]]:
    response = client.get("/_dash-dependencies")
    assert response.status_code == 200
    return response.get_json()


def outputs_of(output: str) -> list[dict[str, str]]:
    names = output[2:-2].split("...") if output.startswith("..") else [output]
    return [dict(zip(("id", "property"), n.rsplit(".", 1), strict=True)) for n in names]


def output_ids(deps: list[dict[str, Any]]) -> set[str]:
    return {o["id"] for d in deps for o in outputs_of(d["output"])}


@dataclass(frozen=True)
class Scenario:
    """What a crafted request claims: a data status, filters and the page it is on."""

    status: dict[str, Any]
    filters: dict[str, Any]
    pathname: str


def crafted(item: dict[str, Any], s: Scenario) -> Any:  # noqa: ANN401 - any JSON value
    """A value for one input or state of a callback, by what it is."""
    return {
        ("data-status", "data"): s.status,
        ("filters", "data"): s.filters,
        ("_pages_location", "pathname"): s.pathname,
        ("_pages_location", "search"): flt.search(s.filters),
        ("url", "pathname"): s.pathname,
        ("url", "search"): flt.search(s.filters),
        ("filter-from", "value"): s.filters["from"],
        ("filter-to", "value"): s.filters["to"],
        ("filter-source", "value"): s.filters["source"],
        ("poll", "n_intervals"): 3,
        ("ping", "data"): 1,
        ("_pages_store", "data"): {"title": "Waiting list", "path": s.pathname},
    }.get((item["id"], item["property"]))


def callback_body(dep: dict[str, Any], s: Scenario) -> dict[str, Any]:
    outs = outputs_of(dep["output"])
    inputs = [
        {"id": i["id"], "property": i["property"], "value": crafted(i, s)} for i in dep["inputs"]
    ]
    state = [
        {"id": i["id"], "property": i["property"], "value": crafted(i, s)} for i in dep["state"]
    ]
    return {
        "output": dep["output"],
        "outputs": outs if dep["output"].startswith("..") else outs[0],
        "inputs": inputs,
        "state": state,
        "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"],
    }


def page_paths() -> list[str]:
    paths = [p["path"] for p in sorted(dash.page_registry.values(), key=lambda p: p["order"])]
    assert {"/", "/waiting-list", "/data-quality"} <= set(paths)
    return paths


def scenarios(status: dict[str, Any]) -> list[Scenario]:
    """The real data status and a made-up version, each filter set (and a hostile one), each
    page's pathname."""
    made_up = {**status, "version": 987654, "as_of": "2031-01-01T00:00:00+00:00"}
    return [
        Scenario(st, f, p)
        for st, f, p in itertools.product((status, made_up), (*FILTERS, HOSTILE), page_paths())
    ]


def bodies(dep: dict[str, Any], status: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every distinct crafted request for `dep`."""
    seen: set[str] = set()
    for s in scenarios(status):
        body = callback_body(dep, s)
        key = json.dumps(body, sort_keys=True)
        if key not in seen:
            seen.add(key)
            yield body


def data_status(client: FlaskClient) -> dict[str, Any]:
    """The data status the poll callback gives (what a browser holds in its store)."""
    dep = {
        "output": "data-status.data",
        "inputs": [{"id": "poll", "property": "n_intervals"}],
        "state": [{"id": "data-status", "property": "data"}],
    }
    response = client.post(UPDATE, json=callback_body(dep, Scenario({}, FILTERS[0], "/")))
    assert response.status_code == 200, response.get_data(as_text=True)
    status = response.get_json()["response"]["data-status"]["data"]
    assert isinstance(status["version"], int)
    return status


def assert_no_data(response: TestResponse) -> None:
    body = response.get_data()
    assert len(body) < 2000, body[:300]
    for marker in DATA_MARKERS:
        assert marker not in body, (marker, body[:300])


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def warehouse(engine: Engine, tmp_path: Path) -> Engine:
    return load_small_service(engine, tmp_path / "exports")


@pytest.fixture
def app(warehouse: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dash.Dash:
    return start_app(warehouse, tmp_path, monkeypatch)


# --- callbacks a commissioner may trigger ------------------------------------------------------


def test_every_callback_outside_the_commissioner_set_gets_403_and_no_data(
    app: dash.Dash, warehouse: Engine
) -> None:
    manager = signed_in(app.server)
    commissioner, _, _ = open_link(app, warehouse)
    every, own = dependencies(manager), dependencies(commissioner)
    every_outputs, own_outputs = {d["output"] for d in every}, {d["output"] for d in own}
    assert own_outputs < every_outputs  # a strict subset
    packed = commissioner.get("/_dash-dependencies", headers={"Accept-Encoding": "gzip"})
    gzipped = packed.headers.get("Content-Encoding") == "gzip"
    unpacked = json.loads(gzip.decompress(packed.data) if gzipped else packed.data)
    assert {d["output"] for d in unpacked} == own_outputs  # filtered before compression
    assert not output_ids(own) & set(MANAGERS_ONLY_CONTENT)
    refused = [d for d in every if d["output"] not in own_outputs]
    assert set(MANAGERS_ONLY_CONTENT) <= output_ids(refused)
    status = data_status(manager)
    for dep in refused:
        sent = list(bodies(dep, status))
        assert len(sent) >= 8, dep["output"]  # both statuses, every filter set
        for body in sent:
            response = commissioner.post(UPDATE, json=body)
            assert response.status_code == 403, (dep["output"], body["inputs"])
            assert_no_data(response)
        # The same request gives a manager the figures: the 403 is what keeps them out.
        answer = manager.post(UPDATE, json=sent[0])
        assert answer.status_code == 200 and b'"response"' in answer.get_data(), dep["output"]


def test_the_commissioner_set_answers_except_for_managers_only_pathnames(
    app: dash.Dash, warehouse: Engine
) -> None:
    manager = signed_in(app.server)
    commissioner, _, _ = open_link(app, warehouse)
    status = data_status(manager)
    managers_only = {p for p in page_paths() if p in ("/waiting-list", "/data-quality")}
    answered = refused = 0
    for dep in dependencies(commissioner):
        if dep.get("clientside_function"):
            continue  # runs in the browser: nothing on the server to answer
        for body in bodies(dep, status):
            response = commissioner.post(UPDATE, json=body)
            pathnames = {i["value"] for i in body["inputs"] if i["property"] == "pathname"}
            if pathnames & managers_only:
                assert response.status_code == 403, (dep["output"], pathnames)
                assert_no_data(response)
                refused += 1
            else:
                assert response.status_code in (200, 204), (dep["output"], body["inputs"])
                answered += 1
    assert answered > 40 and refused >= 2 * len(FILTERS)  # both managers-only pages


def test_a_managers_only_page_is_refused_however_its_pathname_is_spelled(
    app: dash.Dash, warehouse: Engine
) -> None:
    """Any pathname the pages router turns into a managers-only page must be refused to a
    commissioner (Dash's router strips every leading and trailing slash)."""
    manager = signed_in(app.server)
    commissioner, _, _ = open_link(app, warehouse)
    router = next(d for d in dependencies(commissioner) if "_pages_content" in d["output"])
    status = data_status(manager)
    resolved, leaked = [], []
    for path in ("/waiting-list", "/data-quality"):
        for spelling in (path, path + "/", path.upper(), "/" + path, "//" + path, path + "//"):
            body = callback_body(router, Scenario(status, FILTERS[0], spelling))
            shown = manager.post(UPDATE, json=body).get_data(as_text=True)
            if any(f'"{content}"' in shown for content in MANAGERS_ONLY_CONTENT):
                resolved.append(spelling)
                response = commissioner.post(UPDATE, json=body)
                if response.status_code != 403:
                    leaked.append((spelling, response.status_code))
                else:
                    assert_no_data(response)
    assert {"/waiting-list", "/data-quality"} <= set(resolved)
    assert leaked == [], "managers-only pages a commissioner's router request opened"


# --- anonymous visitors ------------------------------------------------------------------------

PUBLIC = ("/login", "/link/", "/healthz", "/assets/", "/_dash-component-suites/", "/_favicon.ico")


def _samples(rule: str, link_id: int) -> list[str]:
    """`rule` with sample values for its converters (every argument must have samples)."""
    values = {
        "path": [p.lstrip("/") for p in page_paths() if p != "/"] + ["admin", "no-such-page"],
        "name": sorted(TABLES),
        "link_id": [str(link_id)],
        "filename": ["style.css"],
    }
    names = re.findall(r"<(?:[^:<>]+:)?([^<>]+)>", rule)
    assert set(names) <= set(values), f"no sample values for {rule}"
    out = []
    for combo in itertools.product(*(values[n] for n in names)):
        path = rule
        for name, value in zip(names, combo, strict=True):
            path = re.sub(r"<(?:[^:<>]+:)?" + name + ">", value, path)
        out.append(path)
    return out


def test_every_route_refuses_an_anonymous_visitor(app: dash.Dash, warehouse: Engine) -> None:
    anonymous = app.server.test_client()
    manager = signed_in(app.server)
    status = data_status(manager)
    link, _ = links.create(warehouse, "BNSSG ICB", None, "test")
    checked: list[str] = []
    for rule in app.server.url_map.iter_rules():
        if rule.rule.startswith(PUBLIC):
            continue
        for path in _samples(rule.rule, link.id):
            if "GET" in rule.methods:
                page = anonymous.get(path, headers=HTML)
                if page.status_code == 302:
                    target = urlsplit(page.headers["Location"])
                    assert target.path == "/login" and target.netloc in ("", "localhost"), path
                    assert parse_qs(target.query)["next"][0].startswith("/"), path
                else:
                    assert page.status_code == 401, (path, page.status_code)
                assert_no_data(page)
                api = anonymous.get(path, headers=JSON)
                assert api.status_code == 401, (path, api.status_code)
                assert_no_data(api)
            if "POST" in rule.methods:
                posts: list[dict[str, Any]] = [{"data": {"label": "x", "csrf_token": "x"}}]
                if path == UPDATE:
                    posts = [{"json": b} for d in dependencies(manager) for b in bodies(d, status)]
                for post in posts:
                    refused = anonymous.post(path, **post)
                    assert refused.status_code == 401, (path, refused.status_code)
                    assert_no_data(refused)
            checked.append(path)
    assert {"/", "/_dash-layout", "/_dash-dependencies", UPDATE, "/admin"} <= set(checked)
    assert "/download/waiting_list.csv" in checked and "/waiting-list" in checked
    if any(r.rule == "/healthz" for r in app.server.url_map.iter_rules()):
        health = anonymous.get("/healthz")  # public: the service's health, no figures
        assert health.status_code == 200 and health.get_json()["database"] == "ok"
        assert_no_data(health)
    assert links.all_links(warehouse) == [links.get(warehouse, link.id)]
    assert links.get(warehouse, link.id).revoked is None  # type: ignore[union-attr]
