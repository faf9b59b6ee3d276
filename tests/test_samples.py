"""The shared samples load with exactly the counts in their README, on every backend."""

from __future__ import annotations

from tests.conftest import table_rows

EXPECTED = {
    "referrals_basic.csv": dict(read=10, inserted=9, unchanged=0, quarantined=1, updated=0),
    "contacts_report.xlsx": dict(read=20, inserted=17, unchanged=1, quarantined=2, updated=0),
    "feedback_cp1252.csv": dict(read=7, inserted=6, unchanged=0, quarantined=1, updated=0),
}


def test_samples_load_with_the_readme_counts(load, samples) -> None:
    reports = {r.path: r for r in load(*samples)}
    for name, expected in EXPECTED.items():
        got = reports[name]
        assert got.status == "loaded", got.message
        assert {k: getattr(got, k) for k in expected} == expected, name
        assert got.adds_up
    assert reports["referrals_basic.csv"].quarantine_reasons == {"invalid_datetime": 1}
    assert reports["referrals_basic.csv"].warning_reasons == {"nhs_number_dropped": 1}
    assert reports["referrals_basic.csv"].identifying_columns_ignored == ["Client Name"]
    assert reports["contacts_report.xlsx"].quarantine_reasons == {
        "unknown_code": 1,
        "before_referral": 1,
    }
    assert reports["contacts_report.xlsx"].orphans == 1
    assert reports["contacts_report.xlsx"].identifying_columns_ignored == ["Notes"]
    assert reports["feedback_cp1252.csv"].quarantine_reasons == {"unknown_code": 1}
    assert reports["feedback_cp1252.csv"].identifying_columns_ignored == ["Comments"]


def test_the_right_rows_are_quarantined(engine, load, samples) -> None:
    load(*samples)
    quarantined = {
        (q["entity"], q["record_key"], q["reason_code"]) for q in table_rows(engine, "quarantine")
    }
    assert quarantined == {
        ("referrals", "R1009", "invalid_datetime"),
        ("contacts", "A17", "unknown_code"),
        ("contacts", "A19", "before_referral"),
        ("feedback", "F7", "unknown_code"),
    }
    orphans = [c["contact_id"] for c in table_rows(engine, "contact") if c["orphan"]]
    assert orphans == ["A18"]
    anonymous = [f for f in table_rows(engine, "feedback") if f["referral_id"] is None]
    assert [f["response_id"] for f in anonymous] == ["F3"]


def test_loading_the_samples_again_changes_nothing(engine, load, samples) -> None:
    load(*samples)
    before = {t: table_rows(engine, t) for t in ("referral", "contact", "feedback", "quarantine")}
    again = load(*samples)
    assert [r.status for r in again] == ["skipped"] * 3
    after = {t: table_rows(engine, t) for t in ("referral", "contact", "feedback", "quarantine")}
    assert after == before


def test_clock_change_and_date_only_referrals_are_stored_in_utc(engine, load, samples) -> None:
    load(*samples)
    refs = {r["referral_id"]: r for r in table_rows(engine, "referral")}
    # 30/03/2025 00:30 is before the spring change (GMT): UTC equals wall clock.
    assert str(refs["R1007"]["received_at"]).startswith("2025-03-30 00:30")
    # 29/03/2025 08:30 GMT; its contact on 01/04 09:00 BST is 08:00 UTC: 71.5 elapsed hours.
    contacts = {c["contact_id"]: c for c in table_rows(engine, "contact")}
    assert str(contacts["A15"]["occurred_at"]).startswith("2025-04-01 08:00")
    assert refs["R1003"]["time_known"] in (False, 0)
    assert refs["R1001"]["time_known"] in (True, 1)
