"""The dashboard's callbacks, called directly (as Dash's own tests do), on a seeded warehouse.

Every figure a page shows must be the KPI report's (never a second calculation); the cache must
serve a data version once and move on when a new load lands; failures and an empty warehouse
must read as plain words.
"""

from __future__ import annotations

import csv
import io
from contextvars import copy_context
from pathlib import Path
from typing import Any

import dash
import flask
import pytest
from dash import no_update
from dash._callback_context import context_value
from dash._utils import AttributeDict
from dash.exceptions import PreventUpdate
from sqlalchemy import Engine, text

from dashboard import data, fmt, shell
from dashboard import filters as flt
from dashboard.access.principal import Principal
from dashboard.app import create_app
from dashboard.pages import activity, data_quality, equity, feedback, overview, timeliness
from dashboard.pages import waiting_list as waiting_page
from etl import runner
from etl.demo import write_demo_exports
from kpi.report import build_report
from tests.conftest import PG_URL, signed_in

MANAGER = Principal("user", "manager", "test manager", 1)

PAGES = (overview, timeliness, activity, feedback, equity, waiting_page, data_quality)


def _url(engine: Engine) -> str:
    if engine.dialect.name == "sqlite":
        return str(engine.url)
    with engine.connect() as conn:
        schema = conn.execute(text("select current_schema()")).scalar()
    return f"{PG_URL}?options=-csearch_path%3D{schema}"


@pytest.fixture
def demo(engine: Engine, tmp_path: Path) -> Engine:
    """A warehouse holding a small simulated service (seeded)."""
    inbox = tmp_path / "demo"
    paths = write_demo_exports(inbox, 400, seed=7)
    runner.run(engine, sorted(paths))
    return engine


@pytest.fixture
def app(demo: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    monkeypatch.setenv("DATABASE_URL", _url(demo))
    monkeypatch.setenv("SIS_CACHE_DIR", str(tmp_path / "cache"))
    dash_app = create_app()
    with dash_app.server.test_request_context():
        flask.g.principal = MANAGER  # what the guard sets for a signed-in manager
        yield dash_app


def props(node: Any) -> dict:  # noqa: ANN401
    """A component's props, whether a Dash component or the JSON tree a page callback returns."""
    if isinstance(node, dict):
        return node.get("props", {})
    return getattr(node, "__dict__", {})


def find(node: Any, id_: str) -> Any:  # noqa: ANN401
    """The props of the component with `id_` in a page's tree (None when absent)."""
    if isinstance(node, list | tuple):
        return next((f for f in (find(n, id_) for n in node) if f is not None), None)
    if isinstance(node, str | int | float) or node is None:
        return None
    p = props(node)
    if p.get("id") == id_:
        return p
    return find(p.get("children"), id_)


def text_of(node: Any) -> str:  # noqa: ANN401
    if isinstance(node, str | int | float):
        return str(node)
    if node is None:
        return ""
    if isinstance(node, list | tuple):
        return " ".join(text_of(n) for n in node)
    return text_of(props(node).get("children"))


def test_poll_gives_the_data_version_and_nothing_when_unchanged(app) -> None:
    status = shell.poll(1, None)
    assert isinstance(status["version"], int)
    assert status["as_of"].startswith("2026-")  # the demo's newest export
    assert status["last_run"] == "ok"
    assert shell.poll(2, status) is no_update


@pytest.mark.parametrize("filters", [{}, {"source": "gp"}, {"from": "2025-03", "to": "2025-12"}])
def test_overview_cards_are_the_reports_figures(app, demo, filters) -> None:
    status = shell.poll(1, None)
    page = overview.update(status, filters)
    report = build_report(
        demo, None, "manager", filters.get("from"), filters.get("to"), filters.get("source")
    )
    for measure_id in overview.HEADLINE:
        m = report["measures"][measure_id]
        shown = find(page, f"card-{measure_id}-value")["children"]
        assert shown == fmt.measure_value(m, overview.KINDS[measure_id]), measure_id
        detail = find(page, f"card-{measure_id}-detail")["children"]
        if "denominator" in m:
            assert f"{m['numerator']:,} of {m['denominator']:,}" in detail


def test_a_filter_changes_the_figures(app) -> None:
    status = shell.poll(1, None)
    everyone = find(overview.update(status, {}), "card-sessions-value")["children"]
    gp_only = find(overview.update(status, {"source": "gp"}), "card-sessions-value")["children"]
    assert int(gp_only.replace(",", "")) < int(everyone.replace(",", ""))


def test_every_page_renders_without_error(app) -> None:
    status = shell.poll(1, None)
    for page in PAGES:
        body = page.update(status, {"source": "self"})
        words = text_of(body)
        assert "could not be fetched" not in words, page.__name__
        assert words.strip(), page.__name__


def test_spc_chart_draws_the_reports_limits_target_and_special_causes(app, demo) -> None:
    status = shell.poll(1, None)
    report = build_report(demo)
    spc = report["measures"]["contact_72h"]["spc"]
    graph = find(timeliness.update(status, {}), "graph-contact_72h_by_month")
    traces = {t["name"]: t for t in graph["figure"]["data"]}
    assert traces["Target"]["y"][0] == spc["target"] == 95.0
    assert traces["Mean"]["y"][0] == pytest.approx(spc["mean"])
    assert traces["Upper process limit"]["y"][-1] == pytest.approx(spc["upper"])
    assert traces["Value"]["x"] == [p["period"] for p in spc["points"]]
    marked = {p["period"] for p in spc["points"] if p["variation"] in ("improvement", "concern")}
    drawn = {x for name, t in traces.items() if name.startswith("Special cause") for x in t["x"]}
    assert drawn == marked
    assert graph["figure"]["layout"]["title"]["text"].startswith("Contacted within 72 hours")


def test_hours_distribution_adds_up_to_the_referrals_contacted(app, demo) -> None:
    status = shell.poll(1, None)
    hours = build_report(demo)["measures"]["hours_to_contact"]
    graph = find(timeliness.update(status, {}), "graph-hours_distribution")
    bars = graph["figure"]["data"][0]["y"]
    assert sum(bars) == hours["n"] > 0
    assert graph["figure"]["layout"]["shapes"][0]["x0"] == timeliness.LINE_72H
    assert graph["figure"]["data"][0]["x"][24] == "72-96"  # the line falls just before it


def test_waiting_list_is_exactly_who_waiting_now_counts(app, demo) -> None:
    status = shell.poll(1, None)
    by_source = build_report(demo)["measures"]["waiting_now"]["by_referral_source"]
    busiest = max(by_source, key=lambda r: r["value"])["group"]
    for filters in ({}, {"source": busiest}):
        waiting = build_report(demo, source=filters.get("source"))["measures"]["waiting_now"]
        rows = data.waiting(status["version"], filters)
        assert len(rows) == waiting["value"] > 0
        assert sum(r["breaching"] for r in rows) == waiting["breaching"]
        hours = [r["hours_waited"] for r in rows]
        assert hours == sorted(hours, reverse=True)
    summary = find(waiting_page.update(status, {}), "waiting-summary")["children"]
    assert summary.startswith(f"{len(data.waiting(status['version'], {})):,} waiting")


def test_csv_download_equals_the_table_on_the_page(app, demo) -> None:
    client = signed_in(app.server)
    response = client.get("/download/contact_72h_by_month.csv?source=gp&from=2025-01")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    by_month = build_report(demo, month_from="2025-01", source="gp")["measures"]["contact_72h"][
        "by_month"
    ]
    assert [r["Month"] for r in rows] == [m["period"] for m in by_month]
    assert [int(r["Contacted within 72 h"]) for r in rows] == [m["numerator"] for m in by_month]
    assert client.get("/download/no_such_table.csv").status_code == 404


def test_the_cache_serves_a_data_version_once(app, monkeypatch) -> None:
    calls = []
    real = data.build_report

    def counting(*args: Any, **kwargs: Any) -> dict:  # noqa: ANN401
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(data, "build_report", counting)
    version = shell.poll(1, None)["version"]
    first = data.report(version, {"source": "iapt"})
    assert data.report(version, {"source": "iapt"}) == first
    assert len(calls) == 1
    data.report(version + 1, {"source": "iapt"})  # a new load: a new key
    assert len(calls) == 2


def test_a_failed_query_shows_plain_words_and_no_traceback(app, monkeypatch, caplog) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> dict:  # noqa: ANN401
        raise RuntimeError("connection refused: secret detail")

    monkeypatch.setattr(data, "build_report", broken)
    status = shell.poll(1, None)
    words = text_of(overview.update({**status, "version": -1}, {}))
    assert "could not be fetched" in words
    assert "secret detail" not in words and "Traceback" not in words
    assert "secret detail" in caplog.text  # the details go to the server log


def test_filters_from_the_address_are_checked() -> None:
    assert flt.parse("?from=2025-01&to=2025-06&source=gp") == {
        "from": "2025-01",
        "to": "2025-06",
        "source": "gp",
    }
    assert flt.parse("?from=2025-13&to=x&source=' OR 1=1 --") == {
        "from": None,
        "to": None,
        "source": None,
    }
    assert flt.parse("?from=2026-02&to=2025-06")["from"] == "2025-06"  # swapped
    assert (
        flt.search({"from": None, "to": "2025-06", "source": "self"}) == "?to=2025-06&source=self"
    )


def _sync(trigger: str, *args: Any) -> tuple:  # noqa: ANN401
    def run() -> tuple:
        context_value.set(AttributeDict(triggered_inputs=[{"prop_id": trigger, "value": None}]))
        return shell.sync(*args)

    return copy_context().run(run)


def test_filters_and_address_stay_in_step(app) -> None:
    status = shell.poll(1, None)
    out = _sync("url.search", "?source=gp&from=2025-02", None, None, None, status)
    search, from_options, _to_options, start, end, source, stored, nav = out
    assert (start, end, source) == ("2025-02", None, "gp")
    assert stored == {"from": "2025-02", "to": None, "source": "gp"}
    hrefs = [item.children.href for item in nav]
    assert "/timeliness?from=2025-02&source=gp" in hrefs
    assert "/waiting-list?from=2025-02&source=gp" in hrefs  # a manager's navigation
    assert {"label": "Feb 2025", "value": "2025-02"} in from_options
    out = _sync("filter-source.value", "?source=gp&from=2025-02", "2025-02", None, "self", status)
    assert out[0] == "?from=2025-02&source=self"
    assert out[6]["source"] == "self"


def test_an_address_month_is_kept_before_the_data_months_arrive(app) -> None:
    """Dash 4's dropdown drops a value missing from its options: the address's month must be
    among them even before the first poll has answered."""
    out = _sync("url.search", "?from=2019-01", None, None, None, None)
    assert out[1] == [{"label": "Jan 2019", "value": "2019-01"}]
    assert out[3] == "2019-01"


def test_new_data_changes_only_the_month_options(app) -> None:
    status = shell.poll(1, None)
    out = _sync("data-status.data", "?source=gp", None, None, "gp", status)
    assert out[1] == out[2] and len(out[1]) >= 12
    assert all(v is no_update for v in (out[0], *out[3:]))


def test_banner_tone_follows_age_and_last_run() -> None:
    fresh = {"version": 3, "as_of": "2026-11-26T06:00:00+00:00", "last_run": "ok", "stale": False}
    words, tone = shell.banner(fresh)
    assert tone == "banner banner-green" and "Thu 26 Nov 2026 06:00" in text_of(words)
    assert shell.banner({**fresh, "stale": True})[1] == "banner banner-amber"
    failed = {
        **fresh,
        "last_run": "failed",
        "last_run_at": "2026-11-26T07:00:00+00:00",
        "last_run_message": "1 of 1 files refused: x.csv: it has no referral_id column.",
    }
    words, tone = shell.banner(failed)
    assert tone == "banner banner-red" and "no referral_id column" in text_of(words)
    assert shell.banner({"version": None, "unavailable": True})[1] == "banner banner-red"


def test_staleness_is_measured_against_the_setting(monkeypatch) -> None:
    monkeypatch.setenv("SIS_STALE_HOURS", "26")
    assert shell._stale("2000-01-01T00:00:00+00:00") is True
    assert shell._stale(None) is False


def test_empty_warehouse_says_how_to_load_a_first_export(tmp_path, monkeypatch) -> None:
    from etl.db import make_engine, upgrade

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    upgrade(make_engine(url))
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("SIS_CACHE_DIR", str(tmp_path / "cache"))
    with create_app().server.test_request_context():
        status = shell.poll(1, None)
        assert status["version"] is None
        assert "sis etl run" in text_of(overview.update(status, {}))
        assert "no data loaded yet" in text_of(shell.banner(status)[0])


def test_responses_are_compressed(app) -> None:
    client = signed_in(app.server)
    page = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert page.status_code == 200
    assert page.headers.get("Content-Encoding") == "gzip"


def _routed(trigger: str, path: str) -> Any:  # noqa: ANN401
    """What Dash's pages router gets from a page's layout when `trigger` fired."""

    def run() -> Any:  # noqa: ANN401
        context_value.set(AttributeDict(triggered_inputs=[{"prop_id": trigger, "value": path}]))
        page = next(p for p in dash.page_registry.values() if p["path"] == path)
        return page["layout"]()

    return copy_context().run(run)


def test_a_filter_change_keeps_the_page_mounted(app) -> None:
    """Only the query changed: the router leaves the page alone (the filters store updates the
    figures); a new path mounts the page's skeleton."""
    with pytest.raises(PreventUpdate):
        _routed("_pages_location.search", "/timeliness")
    mounted = _routed("_pages_location.pathname", "/timeliness")
    assert find(mounted, "timeliness-content") is not None


def test_dash_sends_each_page_exactly_as_the_callback_renders_it(app) -> None:
    """Through Dash's own route, a page's cached JSON goes out as it was cached (not parsed and
    serialised again): what the browser receives, first time and from the cache, is the tree
    the callback returns when called directly."""
    client = signed_in(app.server)
    status = shell.poll(1, None)
    for module in PAGES:
        for filters in ({}, {"from": "2025-01", "to": "2025-06", "source": "gp"}):
            expected = module.update(status, filters)
            body = {
                "output": f"{module.CONTENT}.children",
                "outputs": {"id": module.CONTENT, "property": "children"},
                "inputs": [
                    {"id": "data-status", "property": "data", "value": status},
                    {"id": "filters", "property": "data", "value": filters},
                ],
                "changedPropIds": ["filters.data"],
                "state": [],
            }
            for _ in range(2):  # computed by the direct call above, then from the cache
                response = client.post("/_dash-update-component", json=body)
                assert response.status_code == 200, response.get_data(as_text=True)[:200]
                sent = response.get_json()["response"][module.CONTENT]["children"]
                assert sent == expected, module.__name__
            assert find(sent, module.CONTENT) is None  # the page's content, not the page again
