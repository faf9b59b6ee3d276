"""The marts loaded from a simulated service: keys, relationships, idempotence, privacy.

dbt's habit: every mart's key is not null and unique, every relationship holds; dlt's habit:
loading the same inbox twice changes nothing.
"""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import text

from etl import runner
from etl.demo import NAMES, write_demo_exports

TABLES = ("referral", "contact", "feedback", "outcome", "quarantine", "load_warning")


@pytest.fixture
def demo_inbox(tmp_path, monkeypatch):  # noqa: ANN201
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    monkeypatch.setenv("SIS_INBOX", str(inbox))
    write_demo_exports(inbox, referrals=400, seed=3)
    return inbox


def _scalar(engine, sql: str) -> int:  # noqa: ANN001
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar())


def _snapshot(engine) -> dict:  # noqa: ANN001
    with engine.connect() as conn:
        return {t: sorted(map(tuple, conn.execute(text(f"SELECT * FROM {t}")))) for t in TABLES}


def test_demo_exports_load_and_every_row_is_accounted_for(engine, demo_inbox) -> None:
    reports = runner.run(engine)
    assert len(reports) == 5
    assert all(r.status == "loaded" and r.adds_up for r in reports), [r.message for r in reports]
    assert sum(r.read for r in reports) > 2000
    assert sum(r.quarantined for r in reports) > 0  # the simulated mess is caught...
    assert sum(r.updated for r in reports) > 0  # ...the newer referrals export updates...
    assert sum(r.orphans_linked for r in reports) > 0  # ...and links earlier orphans
    assert sorted(p.name for p in (demo_inbox / "archive").iterdir()) == sorted(
        r.path for r in reports
    )


def test_keys_and_relationships_hold(engine, demo_inbox) -> None:
    runner.run(engine)
    for table, key in (
        ("referral", "referral_id"),
        ("contact", "contact_id"),
        ("feedback", "response_id"),
    ):
        assert _scalar(engine, f"SELECT COUNT(*) FROM {table} WHERE {key} IS NULL") == 0
        assert _scalar(engine, f"SELECT COUNT(*) - COUNT(DISTINCT {key}) FROM {table}") == 0
    for table in ("contact", "feedback", "outcome"):
        # a row is an orphan exactly when its referral is missing
        assert (
            _scalar(
                engine,
                f"""
            SELECT COUNT(*) FROM {table} t WHERE t.referral_id IS NOT NULL AND t.orphan <>
            (NOT EXISTS (SELECT 1 FROM referral r WHERE r.referral_id = t.referral_id))""",
            )
            == 0
        )
    assert (
        _scalar(
            engine,
            """SELECT COUNT(*) FROM referral
        WHERE discharged_on IS NOT NULL AND discharged_on < received_date""",
        )
        == 0
    )


def test_the_same_inbox_again_changes_nothing(engine, demo_inbox, tmp_path) -> None:
    runner.run(engine)
    before = _snapshot(engine)
    for f in (demo_inbox / "archive").iterdir():
        shutil.copy(f, demo_inbox / f.name)
    again = runner.run(engine)
    assert [r.status for r in again] == ["skipped"] * 5
    assert _snapshot(engine) == before


def test_no_simulated_name_reaches_the_warehouse(engine, demo_inbox) -> None:
    runner.run(engine)
    with engine.connect() as conn:
        dump = "\n".join(
            " ".join(map(str, row))
            for t in TABLES
            for row in conn.execute(text(f"SELECT * FROM {t}"))
        )
    assert not [name for name in NAMES if name in dump]
