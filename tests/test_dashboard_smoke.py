"""The first dashboard page serves the ledger of a loaded warehouse, and a hint when empty."""

from __future__ import annotations

import json

from etl import runner
from etl.db import make_engine, upgrade
from tests.conftest import SAMPLE_EXPORTED_AT


def _layout(client) -> str:  # noqa: ANN001
    assert client.get("/").status_code == 200
    assert client.get("/_dash-layout").status_code == 200
    page = client.post(
        "/_dash-update-component",
        json={
            "output": ".._pages_content.children..._pages_store.data..",
            "outputs": [
                {"id": "_pages_content", "property": "children"},
                {"id": "_pages_store", "property": "data"},
            ],
            "inputs": [
                {"id": "_pages_location", "property": "pathname", "value": "/"},
                {"id": "_pages_location", "property": "search", "value": ""},
            ],
            "changedPropIds": ["_pages_location.pathname"],
            "state": [],
        },
    )
    assert page.status_code == 200, page.data[:500]
    return json.dumps(page.get_json())


def test_empty_warehouse_says_how_to_load_a_first_export(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    upgrade(make_engine())
    from dashboard.app import create_app

    assert "sis etl run" in _layout(create_app().server.test_client())


def test_loaded_warehouse_shows_each_file_and_quarantine_reason(
    tmp_path, monkeypatch, samples
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'w.db'}")
    engine = make_engine()
    upgrade(engine)
    runner.run(engine, samples, "default", SAMPLE_EXPORTED_AT)
    from dashboard.app import create_app

    body = _layout(create_app().server.test_client())
    for name in (
        "referrals_basic.csv",
        "contacts_report.xlsx",
        "feedback_cp1252.csv",
        "before_referral",
        "unknown_code",
        "invalid_datetime",
    ):
        assert name in body
