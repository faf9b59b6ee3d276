"""Row-level rules of the data contract (shared/spec/data-contract.md), on every backend.

Every loaded file must account for every row it read: inserted, updated, unchanged or
quarantined (with a reason code), with warnings and orphans counted beside them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from pathlib import Path

import pytest
from sqlalchemy import inspect

from tests.conftest import table_rows, write_csv

KEY = b"test-key-not-secret"  # the key conftest puts in SIS_PSEUDONYM_KEY
REF = "Referral ID,Client ID,Referral Date,Referral Time,Source"
CON = "Contact ID,Referral ID,Type,Appointment Date,Date of Contact,Method,Outcome"
FEED = "Response ID,Referral ID,Date,FFT"
OUT = "Referral ID,Measure,Date," + ",".join(f"Q{i}" for i in range(1, 11)) + ",Total"
R1 = "R1,C1,03/03/2025,10:00,GP"  # 03/03/2025 10:00 GMT = 10:00 UTC
T0, T1, T2 = dt.datetime(2025, 5, 1, 9), dt.datetime(2025, 6, 1, 9), dt.datetime(2025, 6, 10, 9)


def csv_file(folder: Path, name: str, header: str, *rows: str) -> Path:
    return write_csv(folder / name, "\n".join([header, *rows]) + "\n")


def loaded(load, path: Path, **kw):  # noqa: ANN001, ANN201
    """Load one file that must load; its counts must add up to the rows read."""
    (report,) = load(path, **kw)
    assert report.status == "loaded", report.message
    assert report.inserted + report.updated + report.unchanged + report.quarantined == report.read
    assert report.adds_up
    return report


def counts(report) -> tuple[int, int, int, int, int]:  # noqa: ANN001
    return report.read, report.inserted, report.updated, report.unchanged, report.quarantined


def quarantined(engine) -> set[tuple]:  # noqa: ANN001
    return {
        (q["record_key"], q["reason_code"], q["column_name"])
        for q in table_rows(engine, "quarantine")
    }


def by_key(engine, table: str, key: str) -> dict:  # noqa: ANN001
    return {r[key]: r for r in table_rows(engine, table)}


def pseudonym(prefix: str, value: str) -> str:
    return hmac.new(KEY, (prefix + value).encode(), hashlib.sha256).hexdigest()


def warehouse_text(engine) -> str:  # noqa: ANN001
    """Every value of every table, as one string (to prove something is NOT stored)."""
    parts = []
    for table in inspect(engine).get_table_names():
        parts += [repr(row) for row in table_rows(engine, table)]
    return "\n".join(parts)


@pytest.fixture
def r1(load, tmp_path: Path) -> None:
    """Referral R1 (03/03/2025 10:00) is already in the warehouse."""
    loaded(load, csv_file(tmp_path, "base_referrals.csv", REF, R1))


# -- quarantine reasons ----------------------------------------------------------------------------


def test_a_missing_required_value_quarantines_the_row(engine, load, tmp_path) -> None:
    refs = csv_file(
        tmp_path,
        "refs.csv",
        REF,
        R1,
        "R2,,03/03/2025,10:00,GP",
        "R3,C3,,10:00,GP",
        "R4,C4,03/03/2025,10:00,",
        ",C5,03/03/2025,10:00,GP",
    )
    report = loaded(load, refs)
    assert counts(report) == (5, 1, 0, 0, 4)
    assert report.quarantine_reasons == {"missing_required": 4}
    assert quarantined(engine) == {
        ("R2", "missing_required", "client_id"),
        ("R3", "missing_required", "referral_received_at"),
        ("R4", "missing_required", "referral_source"),
        (None, "missing_required", "referral_id"),
    }
    cons = csv_file(
        tmp_path,
        "cons.csv",
        CON,
        "A1,R1,First contact,,03/03/2025 11:00,Phone,",
        "A2,R1,,,03/03/2025 11:00,Phone,Attended",
        "A3,R1,First contact,,03/03/2025 11:00,,Attended",
        "A4,,First contact,,03/03/2025 11:00,Phone,Attended",
        "A5,R1,First contact,,03/03/2025 11:00,Phone,Attended",
    )
    report = loaded(load, cons)
    assert counts(report) == (5, 1, 0, 0, 4)
    assert report.quarantine_reasons == {"missing_required": 4}
    assert {(k, c) for k, _, c in quarantined(engine) if k and k.startswith("A")} == {
        ("A1", "outcome"),
        ("A2", "contact_type"),
        ("A3", "method"),
        ("A4", "referral_id"),
    }


@pytest.mark.parametrize("sentinel", ["01/01/1900", "00/00/0000", "30/12/1899", "0"])
def test_a_sentinel_date_is_blank_so_a_required_date_is_missing(
    engine, load, tmp_path, sentinel
) -> None:
    refs = csv_file(tmp_path, "refs.csv", REF, R1, f"R2,C2,{sentinel},10:00,GP")
    report = loaded(load, refs)
    assert counts(report) == (2, 1, 0, 0, 1)
    assert quarantined(engine) == {("R2", "missing_required", "referral_received_at")}


def test_a_sentinel_optional_date_loads_as_blank(engine, load, tmp_path) -> None:
    refs = csv_file(tmp_path, "refs.csv", REF + ",Discharge Date", R1 + ",01/01/1900")
    loaded(load, refs)
    assert by_key(engine, "referral", "referral_id")["R1"]["discharged_on"] is None


GOOD = {
    REF: "R2,C2,03/03/2025,10:00,GP",
    CON: "A1,R1,Peer session,03/03/2025 11:00,03/03/2025 11:00,Phone,Attended",
    FEED: "F1,R1,04/03/2025,Good",
    OUT: "R1,CORE-10,04/03/2025,1,1,1,1,1,1,1,1,1,1,",
}
BAD = [
    (REF, "R9,C9,31/02/2025,10:00,GP", "invalid_datetime", "referral_received_at"),
    (REF, "R9,C9,13/25/2025,10:00,GP", "invalid_datetime", "referral_received_at"),
    (REF, "R9,C9,03/03/2025,25:61,GP", "invalid_time", "referral_received_at__time"),
    (REF, "R9,C9,03/03/2025,10:00,Carrier pigeon", "unknown_code", "referral_source"),
    (
        CON,
        "A9,R1,Peer session,03/03/2025 11:00,2025-03-45 11:00,Phone,Attended",
        "invalid_datetime",
        "occurred_at",
    ),
    (
        CON,
        "A9,R1,Peer session,31/04/2025 11:00,03/03/2025 11:00,Phone,Attended",
        "invalid_datetime",
        "scheduled_at",
    ),
    (
        CON,
        "A9,R1,Peer session,03/03/2025 11:00,03/03/2025 11:00,Phone,Maybe",
        "unknown_code",
        "outcome",
    ),
    (
        CON,
        "A9,R1,Peer session,03/03/2025 11:00,03/03/2025 11:00,Pigeon,Attended",
        "unknown_code",
        "method",
    ),
    (
        CON,
        "A9,R1,Coffee,03/03/2025 11:00,03/03/2025 11:00,Phone,Attended",
        "unknown_code",
        "contact_type",
    ),
    (FEED, "F9,R1,30/02/2025,Good", "invalid_date", "submitted_at"),
    (FEED, "F9,R1,04/03/2025,Excellent", "unknown_code", "fft_response"),
    (OUT, "R1,PHQ-9,05/03/2025,1,1,1,1,1,1,1,1,1,1,", "unknown_code", "measure"),
    (OUT, "R1,CORE-10,05/03/2025,1,1,x,1,1,1,1,1,1,1,", "invalid_int", "item_3"),
    (OUT, "R1,CORE-10,05/03/2025,1,1,9,1,1,1,1,1,1,1,", "invalid_int", "item_3"),
    (OUT, "R1,CORE-10,05/03/2025,5,1,1,1,1,1,1,1,1,1,", "out_of_range", "item_1"),
    (OUT, "R1,SWEMWBS,05/03/2025,0,1,1,1,1,1,1,,,,", "out_of_range", "item_1"),
    (OUT, "R1,CORE-10,05/03/2025,1,1,1,1,1,1,5,1,1,1,", "out_of_range", "item_7"),
    (OUT, "R1,CORE-10,05/03/2025,1,1,1,1,1,1,1,1,1,1,lots", "invalid_number", "total"),
    (OUT, "R1,CORE-10,32/03/2025,1,1,1,1,1,1,1,1,1,1,", "invalid_date", "administered_at"),
]


@pytest.mark.parametrize(("header", "row", "code", "column"), BAD)
def test_an_unparseable_or_out_of_range_value_quarantines_the_row(
    engine, load, tmp_path, r1, header, row, code, column
) -> None:
    report = loaded(load, csv_file(tmp_path, "file.csv", header, GOOD[header], row))
    assert counts(report) == (2, 1, 0, 0, 1)
    assert report.quarantine_reasons == {code: 1}
    key = row.split(",")[0]
    assert quarantined(engine) == {(key, code, column)}


@pytest.mark.parametrize(
    ("extra", "value", "code", "column"),
    [
        ("Discharge Date", "32/03/2025", "invalid_date", "discharged_at"),
        ("Age", "130", "invalid_int", "age"),
        ("Age", "forty", "invalid_int", "age"),
        ("Gender", "Sometimes", "unknown_code", "gender"),
        ("Ethnicity", "Martian", "unknown_code", "ethnicity"),
        ("Status", "Pending", "unknown_code", "status"),
        ("DOB", "31/02/1990", "invalid_date", "date_of_birth"),
    ],
)
def test_optional_referral_values_that_do_not_parse_quarantine_the_row(
    engine, load, tmp_path, extra, value, code, column
) -> None:
    refs = csv_file(
        tmp_path, "refs.csv", f"{REF},{extra}", f"{R1},", f"R2,C2,03/03/2025,,GP,{value}"
    )
    report = loaded(load, refs)
    assert counts(report) == (2, 1, 0, 0, 1)
    assert quarantined(engine) == {("R2", code, column)}
    if column in ("age", "date_of_birth"):  # secrets are never copied into the quarantine
        assert all(q["value"] is None for q in table_rows(engine, "quarantine"))


def test_an_id_too_long_to_store_quarantines_the_row(engine, load, tmp_path) -> None:
    long_id = "X" * 250
    refs = csv_file(tmp_path, "refs.csv", REF, R1, f"{long_id},C2,03/03/2025,10:00,GP")
    report = loaded(load, refs)
    assert counts(report) == (2, 1, 0, 0, 1)
    assert quarantined(engine) == {(long_id[:200], "invalid_id", "referral_id")}
    cons = csv_file(
        tmp_path, "cons.csv", CON, f"A1,{'R' * 65},First contact,,03/03/2025 11:00,Phone,Attended"
    )
    assert counts(loaded(load, cons)) == (1, 0, 0, 0, 1)


def test_durations_in_every_accepted_form_and_out_of_range(engine, load, tmp_path, r1) -> None:
    forms = ["90", "90 mins", "1:30", "1.5 hrs", "1h 30m"]
    rows = [
        f"D{i},R1,Peer session,03/03/2025 11:00,03/03/2025 11:00,Phone,Attended,{d}"
        for i, d in enumerate([*forms, "601", "a while"])
    ]
    report = loaded(load, csv_file(tmp_path, "cons.csv", CON + ",Duration", *rows))
    assert counts(report) == (7, 5, 0, 0, 2)
    assert report.quarantine_reasons == {"invalid_duration": 2}
    stored = by_key(engine, "contact", "contact_id")
    assert {stored[f"D{i}"]["duration_minutes"] for i in range(5)} == {90}
    assert quarantined(engine) == {
        ("D5", "invalid_duration", "duration_minutes"),
        ("D6", "invalid_duration", "duration_minutes"),
    }


def test_contact_more_than_an_hour_before_its_referral(engine, load, tmp_path) -> None:
    # R1 at 10:00 GMT; R2 date-only on a BST day: checked against 00:00 London (23:00 UTC before).
    loaded(load, csv_file(tmp_path, "refs.csv", REF, R1, "R2,C2,10/06/2025,,Self"))
    cons = csv_file(
        tmp_path,
        "cons.csv",
        CON,
        "A1,R1,First contact,,03/03/2025 08:59,Phone,Attended",
        "A2,R1,First contact,,03/03/2025 09:00,Phone,Attended",
        "A3,R1,First contact,,03/03/2025 09:30,Phone,Attended",
        "A4,R2,First contact,,09/06/2025 23:00,Phone,Attended",
        "A5,R2,First contact,,09/06/2025 22:59,Phone,Attended",
    )
    report = loaded(load, cons)
    assert counts(report) == (5, 3, 0, 0, 2)
    assert report.quarantine_reasons == {"before_referral": 2}
    assert {k for k, c, _ in quarantined(engine) if c == "before_referral"} == {"A1", "A5"}
    assert set(by_key(engine, "contact", "contact_id")) == {"A2", "A3", "A4"}


def test_discharged_before_the_referral_date(engine, load, tmp_path) -> None:
    refs = csv_file(
        tmp_path,
        "refs.csv",
        REF + ",Discharge Date",
        R1 + ",02/03/2025",
        "R2,C2,03/03/2025,10:00,GP,03/03/2025",
    )
    report = loaded(load, refs)
    assert counts(report) == (2, 1, 0, 0, 1)
    assert quarantined(engine) == {("R1", "discharged_before_referral", "discharged_at")}
    assert str(by_key(engine, "referral", "referral_id")["R2"]["discharged_on"]) == "2025-03-03"


def test_future_dates_are_quarantined_only_when_the_outcome_says_it_happened(
    engine, load, tmp_path, r1
) -> None:
    # Exported 15/06/2025 17:05 London (16:05 UTC).
    happened = ["Attended", "Late seen", "Late not seen", "DNA", "No answer", "Message left"]
    ahead = ["Booked", "Client cancelled", "Service cancelled"]
    rows = [f"H{i},R1,First contact,,15/06/2025 17:30,Phone,{o}" for i, o in enumerate(happened)]
    rows += [f"K{i},R1,Peer session,20/06/2025 10:00,,Phone,{o}" for i, o in enumerate(ahead)]
    rows += [
        "K8,R1,First contact,,15/06/2025 17:00,Phone,Attended",  # before the export: fine
        "H8,R1,Peer session,20/06/2025 10:00,,Phone,DNA",  # booked ahead, yet "did not attend"
    ]
    report = loaded(load, csv_file(tmp_path, "cons.csv", CON, *rows))
    assert counts(report) == (11, 4, 0, 0, 7)
    assert report.quarantine_reasons == {"future_date": 7}
    assert {k for k, c, _ in quarantined(engine)} == {f"H{i}" for i in (0, 1, 2, 3, 4, 5, 8)}
    assert set(by_key(engine, "contact", "contact_id")) == {"K0", "K1", "K2", "K8"}


def test_referrals_feedback_and_outcomes_dated_after_the_export_are_quarantined(
    engine, load, tmp_path
) -> None:
    # Received, submitted and administered all say it happened.
    refs = csv_file(tmp_path, "refs.csv", REF, R1, "R2,C2,15/06/2025,17:30,GP")
    assert counts(loaded(load, refs)) == (2, 1, 0, 0, 1)
    feed = csv_file(tmp_path, "feed.csv", FEED, "F1,R1,15/06/2025,Good", "F2,R1,16/06/2025,Good")
    assert counts(loaded(load, feed)) == (2, 1, 0, 0, 1)
    outs = csv_file(
        tmp_path,
        "outs.csv",
        OUT,
        "R1,CORE-10,15/06/2025,1,1,1,1,1,1,1,1,1,1,",
        "R2,CORE-10,16/06/2025,1,1,1,1,1,1,1,1,1,1,",
    )
    assert counts(loaded(load, outs)) == (2, 1, 0, 0, 1)
    assert quarantined(engine) == {
        ("R2", "future_date", "referral_received_at"),
        ("F2", "future_date", "submitted_at"),
        ("R2", "future_date", "administered_at"),
    }


def test_conflicting_duplicates_are_both_quarantined(engine, load, tmp_path) -> None:
    refs = csv_file(
        tmp_path, "refs.csv", REF, R1, "R1,C1,03/03/2025,10:00,Self", "R2,C2,04/03/2025,,GP"
    )
    report = loaded(load, refs)
    assert counts(report) == (3, 1, 0, 0, 2)
    assert report.quarantine_reasons == {"conflicting_duplicate": 2}
    rows = [q for q in table_rows(engine, "quarantine")]
    assert sorted((q["record_key"], q["source_row"]) for q in rows) == [("R1", 2), ("R1", 3)]
    assert set(by_key(engine, "referral", "referral_id")) == {"R2"}


def test_identical_duplicates_are_collapsed_and_counted_unchanged(engine, load, tmp_path) -> None:
    # The copies differ only in an identifying and an unknown column: equal in every loaded one.
    refs = csv_file(
        tmp_path,
        "refs.csv",
        REF + ",Client Name,Team",
        R1 + ",Jane Smith,North",
        R1 + ",Jane Smyth,South",
        R1 + ",Jane Smith,North",
        "R2,C2,04/03/2025,,GP,John Doe,North",
    )
    report = loaded(load, refs)
    assert counts(report) == (4, 2, 0, 2, 0)
    assert len(table_rows(engine, "referral")) == 2
    assert table_rows(engine, "quarantine") == []


def test_duplicates_are_found_across_chunks(engine, load, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SIS_CHUNK_ROWS", "1000")
    rows = [f"R{i},C{i},03/03/2025,00:00,GP" for i in range(1000)]  # chunk 1: all at midnight
    rows += [f"S{i},D{i},03/03/2025,09:30,GP" for i in range(500)]
    rows += ["R10,C10,03/03/2025,00:00,GP", "R20,C20,03/03/2025,00:00,Self"]  # chunk 2
    report = loaded(load, csv_file(tmp_path, "refs.csv", REF, *rows))
    assert counts(report) == (1502, 1499, 0, 1, 2)
    assert report.quarantine_reasons == {"conflicting_duplicate": 2}
    assert {k for k, _, _ in quarantined(engine)} == {"R20"}


def test_appointments_need_a_booked_date_and_every_contact_a_date(
    engine, load, tmp_path, r1
) -> None:
    cons = csv_file(
        tmp_path,
        "cons.csv",
        CON,
        "B1,R1,Assessment,,03/03/2025 11:00,Phone,Attended",
        "B2,R1,Peer session,,03/03/2025 11:00,Phone,Attended",
        "B3,R1,Group session,,03/03/2025 11:00,Phone,Attended",
        "B4,R1,Assessment,01/01/1900,03/03/2025 11:00,Phone,Attended",
        "B5,R1,First contact,,03/03/2025 11:00,Phone,Attended",
        "B6,R1,Check in,,03/03/2025 11:00,Phone,Attended",
        "B7,R1,Attempt,,,Phone,No answer",
        "B8,R1,Attempt,01/01/1900,01/01/1900,Phone,No answer",
        "B9,R1,Assessment,03/03/2025 11:00,,Phone,Booked",
    )
    report = loaded(load, cons)
    assert counts(report) == (9, 3, 0, 0, 6)
    assert report.quarantine_reasons == {"missing_required": 6}
    assert {(k, col) for k, _, col in quarantined(engine)} == {
        ("B1", "scheduled_at"),
        ("B2", "scheduled_at"),
        ("B3", "scheduled_at"),
        ("B4", "scheduled_at"),
        ("B7", "occurred_at"),
        ("B8", "occurred_at"),
    }
    assert set(by_key(engine, "contact", "contact_id")) == {"B5", "B6", "B9"}


# -- warnings: a value dropped, the row kept -------------------------------------------------------


def test_bad_nhs_numbers_and_postcodes_are_dropped_with_a_warning(engine, load, tmp_path) -> None:
    refs = csv_file(
        tmp_path,
        "refs.csv",
        REF + ",NHS Number,Postcode",
        R1 + ",401 023 2137,BS1 4DJ",
        "R2,C2,03/03/2025,10:00,GP,4010232138,BS59XY",
        "R3,C3,03/03/2025,10:00,GP,4.01023E+09,NOT A POSTCODE",
        "R4,C4,03/03/2025,10:00,GP,'4010232137,bs1 4dj",
        "R5,C5,03/03/2025,10:00,GP,4010232137.0,",
    )
    report = loaded(load, refs)
    assert counts(report) == (5, 5, 0, 0, 0)
    assert report.warning_reasons == {"nhs_number_dropped": 2, "postcode_dropped": 1}
    assert report.warnings == 3
    refs_ = by_key(engine, "referral", "referral_id")
    valid = pseudonym("nhs:", "4010232137")
    assert {k: r["nhs_key"] for k, r in refs_.items()} == {
        "R1": valid,
        "R2": None,
        "R3": None,
        "R4": valid,
        "R5": valid,
    }
    assert {k: r["postcode_district"] for k, r in refs_.items()} == {
        "R1": "BS1",
        "R2": "BS5",
        "R3": None,
        "R4": "BS1",
        "R5": None,
    }
    warned = {(w["record_key"], w["code"]) for w in table_rows(engine, "load_warning")}
    assert warned == {
        ("R2", "nhs_number_dropped"),
        ("R3", "nhs_number_dropped"),
        ("R3", "postcode_dropped"),
    }
    stored = warehouse_text(engine)
    for secret in (
        "4010232137",
        "4010232138",
        "4.01023E+09",
        "401 023",
        "BS1 4DJ",
        "BS59XY",
        "4DJ",
        "NOT A POSTCODE",
    ):
        assert secret not in stored


def test_client_ids_are_pseudonymised_and_normalised(engine, load, tmp_path) -> None:
    refs = csv_file(
        tmp_path,
        "refs.csv",
        REF,
        "R1,7780129.0,03/03/2025,10:00,GP",
        "'R2,'7780129,03/03/2025,10:00,GP",
    )
    loaded(load, refs)
    refs_ = by_key(engine, "referral", "referral_id")
    assert set(refs_) == {"R1", "R2"}
    assert {r["client_key"] for r in refs_.values()} == {pseudonym("client:", "7780129")}
    assert "7780129" not in warehouse_text(engine)


def test_age_band_from_date_of_birth_or_age_and_the_birth_date_is_never_stored(
    engine, load, tmp_path
) -> None:
    refs = csv_file(
        tmp_path,
        "refs.csv",
        REF + ",DOB,Age",
        R1 + ",04/03/2000,",  # 24 on 03/03/2025, 25 the day after
        "R2,C2,03/03/2025,10:00,GP,03/03/2000,",  # 25 that day
        "R3,C3,03/03/2025,10:00,GP,,40",
        "R4,C4,03/03/2025,10:00,GP,,",
    )
    loaded(load, refs)
    bands = {k: r["age_band"] for k, r in by_key(engine, "referral", "referral_id").items()}
    assert bands == {"R1": "18-24", "R2": "25-34", "R3": "35-44", "R4": None}
    stored = warehouse_text(engine)
    assert "2000-03-04" not in stored and "04/03/2000" not in stored


# -- updates, orphans and keys ---------------------------------------------------------------------


def test_a_newer_export_updates_and_an_older_one_does_not_overwrite(engine, load, tmp_path) -> None:
    v1 = csv_file(tmp_path, "v1.csv", REF, R1, "R2,C2,04/03/2025,,Self")
    assert counts(loaded(load, v1, exported_at=T1)) == (2, 2, 0, 0, 0)
    v2 = csv_file(
        tmp_path,
        "v2.csv",
        REF,
        "R1,C1,03/03/2025,10:00,IAPT",
        "R2,C2,04/03/2025,,Self",
        "R3,C3,05/03/2025,,GP",
    )
    report = loaded(load, v2, exported_at=T2)
    assert counts(report) == (3, 1, 1, 1, 0)
    refs = by_key(engine, "referral", "referral_id")
    assert refs["R1"]["referral_source"] == "iapt"
    assert str(refs["R1"]["exported_at"]).startswith("2025-06-10 08:00")  # 09:00 BST in UTC
    v0 = csv_file(tmp_path, "v0.csv", REF, "R1,C1,03/03/2025,10:00,A&E", "R2,C2,04/03/2025,,VCSE")
    report = loaded(load, v0, exported_at=T0)
    assert counts(report) == (2, 0, 0, 2, 0)
    assert report.warning_reasons == {"older_export": 2}
    refs = by_key(engine, "referral", "referral_id")
    assert (refs["R1"]["referral_source"], refs["R2"]["referral_source"]) == ("iapt", "self")


def test_orphans_are_held_reported_then_linked_or_quarantined(engine, load, tmp_path, r1) -> None:
    cons = csv_file(
        tmp_path,
        "cons.csv",
        CON,
        "C1,R5,First contact,,05/03/2025 12:00,Phone,Attended",
        "C2,R5,First contact,,05/03/2025 07:00,Phone,Attended",  # 3 h before R5 arrives
        "C3,R1,First contact,,03/03/2025 12:00,Phone,Attended",
    )
    report = loaded(load, cons)
    assert counts(report) == (3, 3, 0, 0, 0)
    assert report.orphans == 2
    feed = loaded(load, csv_file(tmp_path, "feed.csv", FEED, "F1,R5,06/03/2025,Good"))
    assert feed.orphans == 1
    outs = loaded(
        load, csv_file(tmp_path, "outs.csv", OUT, "R5,CORE-10,06/03/2025,1,1,1,1,1,1,1,1,1,1,")
    )
    assert outs.orphans == 1
    contacts = by_key(engine, "contact", "contact_id")
    assert {k: bool(c["orphan"]) for k, c in contacts.items()} == {
        "C1": True,
        "C2": True,
        "C3": False,
    }

    refs = csv_file(tmp_path, "refs5.csv", REF, "R5,C5,05/03/2025,10:00,GP")
    report = loaded(load, refs)
    assert counts(report) == (1, 1, 0, 0, 0)
    assert report.orphans_linked == 3  # C1, F1 and the outcome; C2 failed its check
    assert report.warning_reasons == {"orphan_failed_check": 1}
    contacts = by_key(engine, "contact", "contact_id")
    assert {k: bool(c["orphan"]) for k, c in contacts.items()} == {"C1": False, "C3": False}
    assert not table_rows(engine, "feedback")[0]["orphan"]
    assert not table_rows(engine, "outcome")[0]["orphan"]
    assert quarantined(engine) == {("C2", "before_referral", "occurred_at")}


def test_anonymous_feedback_gets_stable_content_keys(engine, load, tmp_path) -> None:
    rows = [",03/03/2025,Very good", ",03/03/2025,Very good", ",03/03/2025,Poor", "R1,04/03/2025,6"]
    first = csv_file(tmp_path, "feedback_june.csv", "Referral ID,Date,FFT", *rows)
    assert counts(loaded(load, first, exported_at=T1)) == (4, 4, 0, 0, 0)
    keys = set(by_key(engine, "feedback", "response_id"))
    assert len(keys) == 4 and all(k.startswith("anon-") for k in keys)
    # The same content re-exported: another file (a trailing blank line), the same keys.
    again = write_csv(tmp_path / "feedback_again.csv", first.read_text() + "\n\n")
    report = loaded(load, again, exported_at=T2)
    assert report.status == "loaded"
    assert counts(report) == (4, 0, 0, 4, 0)
    assert set(by_key(engine, "feedback", "response_id")) == keys
    # A third identical anonymous response is a new response.
    more = csv_file(
        tmp_path, "feedback_more.csv", "Referral ID,Date,FFT", *rows, ",03/03/2025,Very good"
    )
    assert counts(loaded(load, more, exported_at=T2)) == (5, 1, 0, 4, 0)
    stored = by_key(engine, "feedback", "response_id")
    assert len(stored) == 5
    assert sorted(f["fft_response"] for f in stored.values()) == [
        "dont_know",
        "poor",
        "very_good",
        "very_good",
        "very_good",
    ]


def test_outcomes_are_keyed_and_core10_is_scored_by_the_etl(engine, load, tmp_path, r1) -> None:
    rows = [
        "R1,CORE-10,03/03/2025,2,3,4,1,0,2,1,3,2,1,13",  # items 2 and 3 reversed: 13
        "R1,CORE-10,10/03/2025,2,3,4,1,0,2,1,3,2,,13.3",  # prorated 12 x 10/9 = 13.33
        "R1,CORE-10,17/03/2025,2,3,4,1,0,2,1,3,,,",  # two missing: no score
        "R1,CORE-10,24/03/2025,2,3,4,1,0,2,1,3,2,1,20",  # total mismatch
        "R1,CORE-10,31/03/2025,2,3,4,1,0,2,1,3,2,,14",  # prorated total mismatch
        "R1,CORE-10,07/04/2025,0,0,0,0,0,0,0,0,0,0,",  # reversed items give 4 + 4
        "R1,SWEMWBS,03/03/2025,1,2,3,4,5,1,2,,,,18",
    ]
    report = loaded(load, csv_file(tmp_path, "outs.csv", OUT, *rows), exported_at=T1)
    assert counts(report) == (7, 7, 0, 0, 0)
    assert report.warning_reasons == {"total_mismatch": 2}
    mismatched = {str(w["source_row"]) for w in table_rows(engine, "load_warning")}
    assert mismatched == {"5", "6"}
    got = {(o["measure"], str(o["administered_on"])): o for o in table_rows(engine, "outcome")}
    assert got[("core10", "2025-03-03")]["score"] == 13
    assert got[("core10", "2025-03-10")]["score"] == pytest.approx(120 / 9)
    assert got[("core10", "2025-03-10")]["prorated"] in (True, 1)
    assert got[("core10", "2025-03-17")]["score"] is None
    assert got[("core10", "2025-04-07")]["score"] == 8
    assert got[("core10", "2025-03-03")]["prorated"] in (False, 0)
    assert got[("swemwbs", "2025-03-03")]["score"] == 18
    # The same (referral, measure, date) in a newer export is an update, not a new row.
    changed = [rows[0].replace(",1,13", ",4,16"), *rows[1:]]
    report = loaded(load, csv_file(tmp_path, "outs2.csv", OUT, *changed), exported_at=T2)
    assert counts(report) == (7, 0, 1, 6, 0)
    got = {(o["measure"], str(o["administered_on"])): o for o in table_rows(engine, "outcome")}
    assert len(got) == 7 and got[("core10", "2025-03-03")]["score"] == 16
    # Two rows with one key and different items in one file: both held back.
    dup = csv_file(tmp_path, "outs3.csv", OUT, rows[0], changed[0])
    assert counts(loaded(load, dup, exported_at=T2)) == (2, 0, 0, 0, 2)


# -- labels, aliases and headers -------------------------------------------------------------------


CONTACT_LABELS = [
    # (type, method, outcome) as exported -> as stored
    (("First contact", "F2F", "Attended"), ("first_contact", "face_to_face", "attended")),
    (("Assessment", "In person", "Seen"), ("assessment", "face_to_face", "attended")),
    (("1:1", "Telephone", "DNA"), ("peer_session", "telephone", "dna")),
    (("Peer session", "Call", "Did not attend"), ("peer_session", "telephone", "dna")),
    (("Group", "Zoom", "No show"), ("group_session", "video", "dna")),
    (
        ("group session", "TEAMS", "Client cancelled"),
        ("group_session", "video", "cancelled_by_client"),
    ),
    (("Check-in", "SMS", "Cancelled by us"), ("check_in", "text", "cancelled_by_service")),
    (("Check in", "WhatsApp", "Service cancelled"), ("check_in", "text", "cancelled_by_service")),
    (("Contact attempt", "Text", "No answer"), ("attempt", "text", "no_answer")),
    (("Attempt", "Phone", "Voicemail"), ("attempt", "telephone", "message_left")),
    (("Attempt", "Phone", "Message left"), ("attempt", "telephone", "message_left")),
    (("Peer session", "Email", "Late but seen"), ("peer_session", "email", "late_seen")),
    (("Peer session", "Other", "Late not seen"), ("peer_session", "other", "late_not_seen")),
    (("Peer session", "Video", "Booked"), ("peer_session", "video", "future")),
    (("PEER_SESSION", "FACE_TO_FACE", "Late_Seen"), ("peer_session", "face_to_face", "late_seen")),
    (("peer_session", "talk_type", "Future"), ("peer_session", "talk_type", "future")),
    # MHSDS consultation medium and attendance codes
    (("Peer session", "01", "5"), ("peer_session", "face_to_face", "attended")),
    (("Peer session", "02", "6"), ("peer_session", "telephone", "late_seen")),
    (("Peer session", "04", "7"), ("peer_session", "talk_type", "late_not_seen")),
    (("Peer session", "11", "2"), ("peer_session", "video", "cancelled_by_client")),
    (("Peer session", "09", "3"), ("peer_session", "text", "dna")),
    (("Peer session", "05", "4"), ("peer_session", "email", "cancelled_by_service")),
    (("Peer session", "98", "0"), ("peer_session", "other", "future")),
]


def test_contact_labels_and_mhsds_codes_map_to_codes(engine, load, tmp_path, r1) -> None:
    rows = [
        f"L{i},R1,{t},03/03/2025 11:00,03/03/2025 11:00,{m},{o}"
        for i, ((t, m, o), _) in enumerate(CONTACT_LABELS)
    ]
    report = loaded(load, csv_file(tmp_path, "cons.csv", CON, *rows))
    assert report.quarantined == 0, report.quarantine_reasons
    stored = by_key(engine, "contact", "contact_id")
    got = [
        (stored[f"L{i}"]["contact_type"], stored[f"L{i}"]["method"], stored[f"L{i}"]["outcome"])
        for i in range(len(CONTACT_LABELS))
    ]
    assert got == [want for _, want in CONTACT_LABELS]


def test_referral_labels_map_to_codes(engine, load, tmp_path) -> None:
    header = REF + ",Gender,Ethnicity,Status,Discharge Date,Discharge Reason"
    cases = [
        (
            ("UTC", "Male", "White British", "Active", "Completed"),
            ("urgent_care", "1", "A", "open", "completed"),
        ),
        (
            ("MIU", "woman", "White Irish", "Open", "Planned ending"),
            ("urgent_care", "2", "B", "open", "completed"),
        ),
        (
            (
                "Talking Therapies",
                "Non-binary",
                "Any other White background",
                "Closed",
                "Disengaged",
            ),
            ("iapt", "3", "C", "closed", "client_ended"),
        ),
        (
            (
                "NHS Talking Therapies",
                "Other",
                "White and Black Caribbean",
                "Discharged",
                "Client ended",
            ),
            ("iapt", "4", "D", "closed", "client_ended"),
        ),
        (
            (
                "General Practice",
                "Prefer not to say",
                "White and Black African",
                "Declined",
                "Unable to contact",
            ),
            ("gp", "Z", "E", "declined", "no_contact"),
        ),
        (
            (
                "Self-referral",
                "Not stated",
                "Any other mixed background",
                "Not accepted",
                "No contact",
            ),
            ("self", "Z", "G", "declined", "no_contact"),
        ),
        (
            ("A&E", "", "Indian", "Withdrawn", "Signposted"),
            ("ae", "X", "H", "withdrawn", "referred_on"),
        ),
        (
            ("Emergency Department", "Unknown", "Pakistani", "Duplicate", "Referred on"),
            ("ae", "X", "J", "duplicate", "referred_on"),
        ),
        (("ED", "M", "Bangladeshi", "closed", "Moved away"), ("ae", "1", "K", "closed", "other")),
        (("Charity", "F", "Any other Asian background", "", ""), ("vcse", "2", "L", None, None)),
        (("VCSE", "Man", "Caribbean", "", ""), ("vcse", "1", "M", None, None)),
        (("Other", "Female", "African", "", ""), ("other", "2", "N", None, None)),
        (("Self", "2", "Any other Black background", "", ""), ("self", "2", "P", None, None)),
        (("IAPT", "Z", "Chinese", "", ""), ("iapt", "Z", "R", None, None)),
        (
            ("Urgent Care", "X", "Any other ethnic group", "", ""),
            ("urgent_care", "X", "S", None, None),
        ),
        (("urgent_care", "x", "Not known", "", ""), ("urgent_care", "X", "99", None, None)),
        (("gp", "", "Mixed - other", "", ""), ("gp", "X", "G", None, None)),
        (("GP", "", "White and Asian", "", ""), ("gp", "X", "F", None, None)),
        (("GP", "", "Prefer not to say", "", ""), ("gp", "X", "Z", None, None)),
        (("GP", "", "a", "", ""), ("gp", "X", "A", None, None)),
    ]
    rows = []
    for i, ((src, gender, eth, status, reason), _) in enumerate(cases):
        discharged = "04/03/2025" if reason else ""
        rows.append(
            f"R{i},C{i},03/03/2025,10:00,{src},{gender},{eth},{status},{discharged},{reason}"
        )
    report = loaded(load, csv_file(tmp_path, "refs.csv", header, *rows))
    assert report.quarantined == 0, report.quarantine_reasons
    stored = by_key(engine, "referral", "referral_id")
    cols = ("referral_source", "gender", "ethnicity", "status", "discharge_reason")
    got = [tuple(stored[f"R{i}"][c] for c in cols) for i in range(len(cases))]
    assert got == [want for _, want in cases]


def test_fft_labels_and_numbers(engine, load, tmp_path) -> None:
    labels = [
        "Very good",
        "good",
        "Neither good nor poor",
        "Poor",
        "VERY POOR",
        "Don't know",
        "Don\u2019t know",
        "1",
        "2",
        "3",
        "4",
        "5",
        "6",
        "very_good",
        "DONT_KNOW",
    ]
    rows = [f"F{i},,03/03/2025,{label}" for i, label in enumerate(labels)]
    report = loaded(load, csv_file(tmp_path, "feed.csv", FEED, *rows))
    assert report.quarantined == 0
    stored = by_key(engine, "feedback", "response_id")
    assert [stored[f"F{i}"]["fft_response"] for i in range(len(labels))] == [
        "very_good",
        "good",
        "neither",
        "poor",
        "very_poor",
        "dont_know",
        "dont_know",
        "very_good",
        "good",
        "neither",
        "poor",
        "very_poor",
        "dont_know",
        "very_good",
        "dont_know",
    ]


def test_headers_match_by_alias_ignoring_case_space_and_punctuation(engine, load, tmp_path) -> None:
    header = (
        "REFERRAL-ID,service user id,Date Received,time_received,REFERRED BY,Client Name,"
        "Home Address,Phone Number,Email,Notes,Team,Favourite Colour,nhs no,POST CODE"
    )
    row = (
        "R1,C1,03/03/2025,10:00,gp,Jane Smith,1 High Street,07700 900123,jane@example.org,"
        "Self-harm history noted,North,Teal,401 023 2137,BS1 4DJ"
    )
    report = loaded(load, csv_file(tmp_path, "refs.csv", header, row))
    assert report.entity == "referrals"
    assert counts(report) == (1, 1, 0, 0, 0)
    assert report.identifying_columns_ignored == [
        "Client Name",
        "Home Address",
        "Phone Number",
        "Email",
        "Notes",
    ]
    assert report.ignored_columns == ["Team", "Favourite Colour"]
    ref = table_rows(engine, "referral")[0]
    assert (ref["referral_source"], ref["postcode_district"]) == ("gp", "BS1")
    assert str(ref["received_at"]).startswith("2025-03-03 10:00")
    assert ref["nhs_key"] == pseudonym("nhs:", "4010232137")
    stored = warehouse_text(engine)
    for value in ("Jane", "High Street", "07700", "example.org", "Self-harm", "Teal", "North"):
        assert value not in stored
    # Contacts by other aliases: Activity ID, Case ID, Session Type, Session Date/Time, ...
    cons = csv_file(
        tmp_path,
        "cons.csv",
        "activity id,Case ID,Session Type,Booked For,Session Date,Session Time,Medium,"
        "ATTENDANCE,Worker,Length",
        "A1,R1,Peer session,03/03/2025 11:00,03/03/2025,11:05,Zoom,Seen,Sam Peer,45 mins",
    )
    report = loaded(load, cons)
    assert (report.entity, report.inserted) == ("contacts", 1)
    c = table_rows(engine, "contact")[0]
    assert (c["method"], c["outcome"], c["practitioner"], c["duration_minutes"]) == (
        "video",
        "attended",
        "Sam Peer",
        45,
    )
    assert str(c["occurred_at"]).startswith("2025-03-03 11:05")


# -- "unchanged" means equal in every loaded column ------------------------------------------------


def test_a_re_export_differing_only_in_ignored_columns_is_unchanged(engine, load, tmp_path) -> None:
    header = REF + ",Client Name,Team,DOB,NHS Number"
    v1 = csv_file(tmp_path, "v1.csv", header, R1 + ",Jane Smith,North,04/06/1990,4010232137")
    loaded(load, v1, exported_at=T1)
    before = table_rows(engine, "referral")
    # Another name and team, another birth date in the same age band, the NHS number written
    # differently: nothing that is loaded has changed.
    v2 = csv_file(tmp_path, "v2.csv", header, R1 + ",Jane Smyth,South,05/06/1990,401 023 2137")
    report = loaded(load, v2, exported_at=T2)
    assert counts(report) == (1, 0, 0, 1, 0)
    assert table_rows(engine, "referral") == before


def test_unchanged_does_not_depend_on_the_other_rows_of_the_file(engine, load, tmp_path) -> None:
    # R1 at a written midnight, alone; then re-exported beside a referral with another time.
    v1 = csv_file(tmp_path, "v1.csv", REF, "R1,C1,03/03/2025,00:00,GP")
    loaded(load, v1, exported_at=T1)
    v2 = csv_file(tmp_path, "v2.csv", REF, "R1,C1,03/03/2025,00:00,GP", "R2,C2,04/03/2025,09:30,GP")
    assert counts(loaded(load, v2, exported_at=T2)) == (2, 1, 0, 1, 0)
    # A contact with no occurred_at, alone; then beside a contact that has one.
    c1 = csv_file(tmp_path, "c1.csv", CON, "A1,R1,Peer session,04/03/2025 10:00,,Phone,Booked")
    loaded(load, c1, exported_at=T1)
    c2 = csv_file(
        tmp_path,
        "c2.csv",
        CON,
        "A1,R1,Peer session,04/03/2025 10:00,,Phone,Booked",
        "A2,R1,First contact,,03/03/2025 11:00,Phone,Attended",
    )
    assert counts(loaded(load, c2, exported_at=T2)) == (2, 1, 0, 1, 0)


# -- dates, times and time known -------------------------------------------------------------------


def test_uk_date_formats_are_read_day_first(engine, load, tmp_path) -> None:
    forms = [
        "04/03/2025",
        "4/3/25",
        "04-Mar-2025",
        "4 March 2025",
        "2025-03-04",
        "2025-03-04T09:30",
        "04/03/2025 2:30 PM",
        "45720",
        "04.03.2025",
    ]
    rows = [f"R{i},C{i},{d},,GP" for i, d in enumerate(forms)]
    report = loaded(load, csv_file(tmp_path, "refs.csv", REF, *rows))
    assert report.quarantined == 0, report.quarantine_reasons
    stored = by_key(engine, "referral", "referral_id")
    assert {str(r["received_date"]) for r in stored.values()} == {"2025-03-04"}
    assert str(stored["R5"]["received_at"]).startswith("2025-03-04 09:30")
    assert str(stored["R6"]["received_at"]).startswith("2025-03-04 14:30")


def test_time_known_only_when_a_time_is_given(engine, load, tmp_path) -> None:
    loaded(
        load, csv_file(tmp_path, "a.csv", REF, "R1,C1,03/03/2025,,GP", "R2,C2,03/03/2025,00:00,GP")
    )
    loaded(
        load,
        csv_file(
            tmp_path,
            "b.csv",
            "Referral ID,Client ID,Date Received,Source",
            "R3,C3,03/03/2025 00:00,GP",
            "R4,C4,03/03/2025,GP",
        ),
    )
    known = {k: bool(r["time_known"]) for k, r in by_key(engine, "referral", "referral_id").items()}
    assert known == {"R1": False, "R2": True, "R3": True, "R4": False}


def test_london_wall_clock_is_stored_as_utc_across_clock_changes(engine, load, tmp_path) -> None:
    rows = [
        "R1,C1,30/03/2025,01:30,GP",  # never happens (spring): moved forward to 02:30 BST
        "R2,C2,26/10/2025,01:30,GP",  # happens twice (autumn): the first, BST reading
        "R3,C3,15/06/2025,12:00,GP",  # BST
        "R4,C4,15/01/2025,12:00,GP",  # GMT
    ]
    loaded(load, csv_file(tmp_path, "refs.csv", REF, *rows), exported_at=dt.datetime(2025, 11, 1))
    got = {
        k: str(r["received_at"])[:16] for k, r in by_key(engine, "referral", "referral_id").items()
    }
    assert got == {
        "R1": "2025-03-30 01:30",
        "R2": "2025-10-26 00:30",
        "R3": "2025-06-15 11:00",
        "R4": "2025-01-15 12:00",
    }
