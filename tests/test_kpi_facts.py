"""The facts derived at load (referral_fact, referral_cube, activity_day) always equal a full
rebuild from the marts, and loading the same inbox again changes none of them."""

from __future__ import annotations

import datetime as dt
import shutil
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, text

from etl import facts, runner
from etl.cube import MINUTE_BOUNDS
from etl.demo import write_demo_exports
from etl.models import ReferralCube
from kpi.percentiles import percentile
from kpi.report import build_report

FACT_TABLES = ("referral_fact", "referral_cube", "activity_day")


@pytest.fixture
def loaded(engine, tmp_path, monkeypatch):  # noqa: ANN001, ANN201
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    monkeypatch.setenv("SIS_INBOX", str(inbox))
    write_demo_exports(inbox, referrals=500, seed=7, months=14)
    reports = runner.run(engine)
    assert all(r.status == "loaded" for r in reports), [r.message for r in reports]
    return inbox


def _snapshot(engine) -> dict:  # noqa: ANN001
    with engine.connect() as conn:
        return {
            t: sorted(tuple(map(str, row)) for row in conn.execute(text(f"SELECT * FROM {t}")))
            for t in FACT_TABLES
        }


def test_incremental_facts_equal_a_full_rebuild(engine, loaded) -> None:
    incremental = _snapshot(engine)
    assert len(incremental["referral_fact"]) > 300
    assert len(incremental["referral_cube"]) > 50
    assert len(incremental["activity_day"]) > 100
    with engine.begin() as conn:
        facts.rebuild(conn)
    assert _snapshot(engine) == incremental


def test_small_batches_and_rebuilt_indexes_give_the_same_facts(
    engine, tmp_path, monkeypatch
) -> None:
    """With batches of 64, a load touching most referrals streams its facts in several batches
    and rebuilds referral_fact's indexes afterwards: the result is the same as a rebuild."""
    monkeypatch.setattr(facts, "_BATCH", 64)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    monkeypatch.setenv("SIS_INBOX", str(inbox))
    write_demo_exports(inbox, referrals=300, seed=11, months=8)
    assert all(r.status == "loaded" for r in runner.run(engine))
    incremental = _snapshot(engine)
    with engine.begin() as conn:
        facts.rebuild(conn)
        indexes = {i.name for i in facts.ReferralFact.__table__.indexes}
        found = {i["name"] for i in inspect(conn).get_indexes("referral_fact")}
    assert _snapshot(engine) == incremental
    assert indexes <= found


def test_loading_the_inbox_again_changes_no_fact(engine, loaded) -> None:
    before = _snapshot(engine)
    for done in (loaded / "archive").iterdir():
        shutil.copy(done, loaded / done.name)
    reports = runner.run(engine)
    assert {r.status for r in reports} == {"skipped"}
    assert _snapshot(engine) == before


def test_every_counted_referral_has_one_fact_row(engine, loaded) -> None:
    with engine.connect() as conn:
        counted = conn.execute(
            text("SELECT COUNT(*) FROM referral WHERE status IS NULL OR status <> 'duplicate'")
        ).scalar()
        facts_n, distinct = conn.execute(
            text("SELECT COUNT(*), COUNT(DISTINCT referral_id) FROM referral_fact")
        ).one()
        orphans = conn.execute(
            text(
                "SELECT COUNT(*) FROM referral_fact f WHERE NOT EXISTS "
                "(SELECT 1 FROM referral r WHERE r.referral_id = f.referral_id)"
            )
        ).scalar()
    assert facts_n == distinct == counted
    assert orphans == 0


@pytest.mark.parametrize("audience", ["manager", "commissioner"])
def test_the_cube_gives_the_same_report_as_a_full_scan(engine, loaded, audience: str) -> None:
    fast = build_report(engine, audience=audience)
    slow = build_report(engine, audience=audience, use_cube=False)
    assert fast["measures"]["referrals"]["value"] not in (0, "*")
    assert fast == slow
    filtered = {"month_from": "2026-01", "month_to": "2026-06", "source": "gp"}
    assert build_report(engine, audience=audience, **filtered) == build_report(
        engine, audience=audience, use_cube=False, **filtered
    )


def test_a_past_as_of_is_computed_without_the_cube(engine, loaded) -> None:
    """Before the newest export, settled figures may not have been settled yet: the report
    is computed from referral_fact alone, and a referral received later is not counted."""
    past = dt.datetime(2026, 3, 31, 23, 59)
    report = build_report(engine, as_of=past)
    months = [p["period"] for p in report["measures"]["referrals"]["by_month"]]
    assert months[-1] == "2026-03"
    late = [p for p in report["measures"]["referrals"]["by_month"] if p["period"] > "2026-03"]
    assert late == []
    now = build_report(engine)
    assert report["measures"]["referrals"]["value"] < now["measures"]["referrals"]["value"]


def test_the_cube_has_one_column_per_bucket_of_minutes() -> None:
    buckets = {c.name for c in ReferralCube.__table__.columns if c.name.startswith("minutes_b")}
    assert buckets == {f"minutes_b{i}" for i in range(len(MINUTE_BOUNDS))}


def test_medians_and_90th_percentiles_equal_numpy(engine, loaded) -> None:
    """The index walks give exactly numpy's percentiles of the minutes stored per referral."""
    report = build_report(engine)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT received_month, referral_source, contact_minutes FROM referral_fact "
                "WHERE contact_minutes IS NOT NULL"
            )
        ).all()
    hours = report["measures"]["hours_to_contact"]
    cells = [(None, hours)] + [(("month", p["period"]), p) for p in hours["by_month"]]
    cells += [(("source", g["group"]), g) for g in hours["by_referral_source"]]
    checked = 0
    for key, shown in cells:
        values = [
            m
            for month, source, m in rows
            if key is None or (month if key[0] == "month" else source) == key[1]
        ]
        if not values:
            assert shown["median"] is None
            continue
        assert shown["n"] == len(values)
        assert shown["median"] == round(float(np.percentile(values, 50)) / 60, 1)
        assert shown["p90"] == round(float(np.percentile(values, 90)) / 60, 1)
        checked += 1
    assert checked > 10


@given(st.dictionaries(st.integers(0, 20_000), st.integers(1, 50), min_size=1, max_size=40))
@settings(max_examples=200, deadline=None)
def test_histogram_percentiles_equal_numpy(histogram: dict[int, int]) -> None:
    values = [v for v, n in histogram.items() for _ in range(n)]
    for q in (0.5, 0.9):
        assert percentile(Counter(histogram), q) == pytest.approx(np.percentile(values, q * 100))
