"""Hand-worked figures for every measure in shared/spec/kpis.md, on every backend.

Each test writes a tiny export (a few referrals and contacts as CSV), loads it through the ETL and
asserts figures worked out by hand from the spec; the arithmetic is in the comments. Times in the
exports are Europe/London wall clock; "UTC" notes give the stored instant where it matters.
British Summer Time 2025: from 30/03/2025 01:00 GMT to 26/10/2025 02:00 BST.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path

import pytest

from tests.conftest import write_csv

# -- export writers --------------------------------------------------------------------------------

REFERRALS = (
    "Referral ID,Client ID,Referral Date,Referral Time,Source,Age,Gender,Ethnicity,Postcode,"
    "Status,Discharge Date"
)
CONTACTS = (
    "Contact ID,Referral ID,Type,Appointment Date,Date of Contact,Duration,Method,Outcome,"
    "Practitioner"
)
FEEDBACK = "Response ID,Referral ID,Date,FFT"
OUTCOMES = "Referral ID,Measure,Date," + ",".join(f"Q{i}" for i in range(1, 11))
HAPPENED = {"Attended", "Late seen"}  # outcomes for which an appointment also has occurred_at


def referral(
    rid: str,
    received: str,
    *,
    source: str = "GP",
    age: str = "",
    gender: str = "",
    ethnicity: str = "",
    postcode: str = "",
    status: str = "Open",
    discharged: str = "",
) -> str:
    """A referrals row; `received` is "dd/mm/yyyy hh:mm", or "dd/mm/yyyy" if the time is unknown."""
    date, _, time = received.partition(" ")
    if discharged and status == "Open":
        status = "Closed"
    cells = [rid, f"C-{rid}", date, time, source, age, gender, ethnicity, postcode, status]
    return ",".join([*cells, discharged])


def contact(
    cid: str,
    rid: str,
    when: str,
    *,
    type_: str = "First contact",
    method: str = "Phone",
    outcome: str = "Attended",
    booked: str = "",
) -> str:
    """A non-appointment contact (first contact, check-in, attempt) that occurred at `when`."""
    return ",".join([cid, rid, type_, booked, when, "", method, outcome, ""])


def appointment(
    cid: str,
    rid: str,
    when: str,
    *,
    type_: str = "Peer session",
    outcome: str = "Attended",
    duration: str = "",
    method: str = "Face to face",
    practitioner: str = "",
    occurred: str | None = None,
) -> str:
    """An appointment booked for `when`; unless `occurred` is given, it occurred at `when` when it
    was attended or late seen, and has no occurred time otherwise."""
    if occurred is None:
        occurred = when if outcome in HAPPENED else ""
    return ",".join([cid, rid, type_, when, occurred, duration, method, outcome, practitioner])


def feedback(fid: str, rid: str, date: str, response: str) -> str:
    return ",".join([fid, rid, date, response])


def core10(rid: str, date: str, items: list[int | None]) -> str:
    assert len(items) == 10
    cells = ["" if i is None else str(i) for i in items]
    return ",".join([rid, "CORE-10", date, *cells])


@pytest.fixture
def export(load, tmp_path: Path):  # noqa: ANN001, ANN201
    """export(referrals=[...], contacts=[...], feedback=[...], outcomes=[...], exported_at=...).

    Writes one CSV per non-empty entity, loads them in that order and insists that every row
    loaded: a quarantined row would mean the hand-worked figures are about another export.
    """
    counter = itertools.count()

    def _export(
        referrals=(),  # noqa: ANN001
        contacts=(),  # noqa: ANN001
        feedback=(),  # noqa: ANN001
        outcomes=(),  # noqa: ANN001
        *,
        exported_at: dt.datetime,
    ) -> None:
        paths = []
        n = next(counter)
        for name, header, rows in (
            ("referrals", REFERRALS, referrals),
            ("contacts", CONTACTS, contacts),
            ("feedback", FEEDBACK, feedback),
            ("outcomes", OUTCOMES, outcomes),
        ):
            if rows:
                text = "\n".join([header, *rows]) + "\n"
                paths.append(write_csv(tmp_path / f"{name}_{n}.csv", text))
        for report in load(*paths, exported_at=exported_at):
            assert report.status == "loaded", (report.path, report.message)
            assert report.quarantined == 0, (report.path, report.quarantine_reasons)

    return _export


# -- reading the report ----------------------------------------------------------------------------

RATE = ("value", "numerator", "denominator", "pending")
RATIO = ("value", "numerator", "denominator")
HOURS = ("median", "p90", "n")
COUNT_FIELDS = ("value", "numerator", "denominator", "pending", "n", "breaching")


def kpis(engine, **kwargs) -> dict:  # noqa: ANN001
    """build_report(...)["measures"]; imported here so a missing engine fails each test plainly."""
    from kpi.report import build_report

    return build_report(engine, **kwargs)["measures"]


def fig(measure: dict, *fields: str) -> tuple | object:
    """The named fields of a measure (or of a by_month / breakdown item)."""
    got = tuple(measure[f] for f in fields)
    return got[0] if len(fields) == 1 else got


def _empty(item: dict) -> bool:
    """A month or group with nothing in it (in case empty months are listed)."""
    return all(item.get(f) in (0, None) for f in COUNT_FIELDS if f in item)


def months(measure: dict, *fields: str) -> dict:
    """{period: fields} of a measure's by_month, leaving out empty months."""
    fields = fields or ("value",)
    return {m["period"]: fig(m, *fields) for m in measure["by_month"] if not _empty(m)}


def groups(measure: dict, breakdown: str, *fields: str) -> dict:
    """{group: fields} of a breakdown list such as by_referral_source."""
    fields = fields or ("value",)
    return {g["group"]: fig(g, *fields) for g in measure[breakdown]}


def nonzero(grouped: dict) -> dict:
    return {k: v for k, v in grouped.items() if v}


# -- referrals -------------------------------------------------------------------------------------


def test_referrals_count_every_status_but_duplicate_by_london_month(engine, export) -> None:
    export(
        referrals=[
            referral("R1", "28/02/2025 23:59"),  # February
            referral("R2", "01/03/2025 00:30"),  # March (GMT)
            referral("R3", "31/03/2025 23:30"),  # BST: 22:30 UTC, still March
            referral("R4", "01/04/2025 00:30"),  # BST: 31/03 23:30 UTC, but April in London
            referral("R5", "15/03/2025 10:00", status="Declined"),  # counted
            referral("R6", "16/03/2025 10:00", status="Withdrawn"),  # counted
            referral("R7", "17/03/2025 10:00", status="Duplicate"),  # not counted
            referral("R8", "02/04/2025"),  # date only, April
        ],
        exported_at=dt.datetime(2025, 4, 30, 12, 0),
    )
    m = kpis(engine)["referrals"]
    # 8 rows - R7 = 7; February R1; March R2 R3 R5 R6; April R4 R8.
    assert m["value"] == 7
    assert months(m) == {"2025-02": 1, "2025-03": 4, "2025-04": 2}


# -- contact_72h and hours_to_contact: elapsed hours, clock changes, day rule ---------------------


def test_contact_72h_across_the_spring_clock_change_uses_elapsed_hours(engine, export) -> None:
    # Clocks go forward at 01:00 GMT on 30/03/2025: 72 wall-clock hours are only 71 elapsed.
    export(
        referrals=[
            referral("S1", "28/03/2025 10:00"),  # 10:00 UTC
            referral("S2", "28/03/2025 10:00"),
            referral("S3", "28/03/2025 10:00"),
        ],
        contacts=[
            contact("C1", "S1", "31/03/2025 10:00"),  # 09:00 UTC: 71 h (72 by the wall clock)
            contact("C2", "S2", "31/03/2025 10:30"),  # 09:30 UTC: 71.5 h (72.5 by the clock)
            contact("C3", "S3", "31/03/2025 11:01"),  # 10:01 UTC: 72 h 1 min, outside
        ],
        exported_at=dt.datetime(2025, 4, 10, 12, 0),
    )
    m = kpis(engine)
    # within: S1, S2 of 3 matured -> 2/3 = 66.7%
    assert fig(m["contact_72h"], *RATE) == (66.7, 2, 3, 0)
    assert m["contact_72h"]["target"] == 95
    assert months(m["contact_72h"], *RATE) == {"2025-03": (66.7, 2, 3, 0)}
    # hours [71, 71.5, 72.0167]: median 71.5; p90 rank 0.9*2 = 1.8 -> 71.5 + 0.8*0.5167 = 71.91
    assert fig(m["hours_to_contact"], *HOURS) == (71.5, 71.9, 3)
    assert m["hours_to_contact"]["value"] == 71.5


def test_contact_72h_across_the_autumn_clock_change_uses_elapsed_hours(engine, export) -> None:
    # Clocks go back at 02:00 BST on 26/10/2025: 72 wall-clock hours are 73 elapsed.
    export(
        referrals=[
            referral("U1", "24/10/2025 10:00"),  # BST: 09:00 UTC
            referral("U2", "24/10/2025 10:00"),
            referral("U3", "24/10/2025 10:00"),
        ],
        contacts=[
            contact("C1", "U1", "27/10/2025 10:00"),  # GMT 10:00 UTC: 73 h, outside
            contact("C2", "U2", "27/10/2025 09:00"),  # 09:00 UTC: exactly 72:00, within
            contact("C3", "U3", "27/10/2025 09:30"),  # 72.5 h: outside (71.5 by the wall clock)
        ],
        exported_at=dt.datetime(2025, 11, 5, 12, 0),
    )
    m = kpis(engine)
    # within: U2 only -> 1/3 = 33.3%
    assert fig(m["contact_72h"], *RATE) == (33.3, 1, 3, 0)
    # hours [72, 72.5, 73]: median 72.5; p90 = 72.5 + 0.8*0.5 = 72.9
    assert fig(m["hours_to_contact"], *HOURS) == (72.5, 72.9, 3)
    assert months(m["hours_to_contact"], "median", "n") == {"2025-10": (72.5, 3)}


DATE_ONLY = dict(
    referrals=[
        referral("D1", "10/03/2025"),  # time unknown: within if contacted by 13/03 (any time)
        referral("D2", "10/03/2025"),
        referral("D3", "10/03/2025"),  # never contacted
        referral("T1", "10/03/2025 09:00"),
        referral("T2", "10/03/2025 09:00"),  # never contacted; matured 13/03 09:00
    ],
    contacts=[
        contact("C1", "D1", "13/03/2025 23:30"),  # received date + 3 days: within
        contact("C2", "D2", "14/03/2025 00:10"),  # + 4 days: outside
        contact("C3", "T1", "10/03/2025 12:00"),  # 3 h
    ],
    exported_at=dt.datetime(2025, 3, 20, 12, 0),
)


def test_a_referral_without_a_time_uses_the_day_rule(engine, export) -> None:
    export(**DATE_ONLY)
    m = kpis(engine)
    # All matured. within: D1 (day rule), T1 -> 2 of 5 = 40.0%
    assert fig(m["contact_72h"], *RATE) == (40.0, 2, 5, 0)
    # date-only referrals are left out of hours_to_contact: only T1 (3 h)
    assert fig(m["hours_to_contact"], *HOURS) == (3.0, 3.0, 1)
    # waiting: D3 (as_of date 20/03 after 10/03 + 3) and T2 (>72 h): both breaching
    assert fig(m["waiting_now"], "value", "breaching") == (2, 2)
    # every contact here is also an attempt, under the same day rule
    assert fig(m["contact_attempt_72h"], *RATE) == (40.0, 2, 5, 0)


def test_a_referral_without_a_time_matures_and_breaches_by_date(engine, export) -> None:
    export(**DATE_ONLY)
    # as_of 13/03 23:00: D1's and D2's contacts are still to come. The as_of date 13/03 is not
    # after 10/03 + 3 days, so D1-D3 are pending and not breaching; T2 (received 09:00 on 10/03,
    # 86 h ago) is matured and breaching. contact_72h: T1 within, T2 not -> 1/2 = 50.0%.
    m = kpis(engine, as_of=dt.datetime(2025, 3, 13, 23, 0))
    assert fig(m["contact_72h"], *RATE) == (50.0, 1, 2, 3)
    assert fig(m["waiting_now"], "value", "breaching") == (4, 1)
    # as_of 14/03 00:30: the date is after 13/03, D3 matured and breaching; D1 contacted (within
    # by the day rule), D2 contacted on day 4 (outside). within D1, T1 -> 2/5.
    m = kpis(engine, as_of=dt.datetime(2025, 3, 14, 0, 30))
    assert fig(m["contact_72h"], *RATE) == (40.0, 2, 5, 0)
    assert fig(m["waiting_now"], "value", "breaching") == (2, 2)


def test_a_referral_exactly_72_hours_old_is_matured_and_younger_is_pending(engine, export) -> None:
    export(
        referrals=[
            referral("M1", "02/06/2025 09:00"),  # no contact: exactly 72 h old at as_of
            referral("M2", "02/06/2025 09:01"),  # no contact: 71 h 59 min, pending
            referral("M3", "02/06/2025 08:00"),
            referral("M4", "04/06/2025 12:00"),  # young, but already contacted
        ],
        contacts=[
            contact("C3", "M3", "05/06/2025 08:00"),  # exactly 72:00 elapsed: within
            contact("C4", "M4", "04/06/2025 15:00"),  # 3 h
        ],
        exported_at=dt.datetime(2025, 6, 5, 9, 0),  # as_of
    )
    m = kpis(engine)
    # denominator M1 (matured), M3, M4 (contacted); numerator M3, M4; pending M2 -> 2/3
    assert fig(m["contact_72h"], *RATE) == (66.7, 2, 3, 1)
    assert months(m["contact_72h"], *RATE) == {"2025-06": (66.7, 2, 3, 1)}
    # hours [3, 72]: median 37.5; p90 = 3 + 0.9*69 = 65.1
    assert fig(m["hours_to_contact"], *HOURS) == (37.5, 65.1, 2)
    # M1 and M2 wait; breaching is "waited over 72 h": M1 has waited exactly 72 h -> none
    assert fig(m["waiting_now"], "value", "breaching") == (2, 0)


def test_a_contact_up_to_an_hour_before_the_referral_counts_as_zero_hours(engine, export) -> None:
    export(
        referrals=[
            referral("E1", "03/03/2025 10:00"),
            referral("E2", "03/03/2025 10:00"),
            referral("E3", "03/03/2025 10:00"),
        ],
        contacts=[
            contact("C1", "E1", "03/03/2025 09:00"),  # an hour before: 0 h (not -1)
            contact("C2", "E2", "03/03/2025 12:00"),  # 2 h
            contact("C3", "E3", "03/03/2025 09:45"),  # 0 h (not -0.25)
        ],
        exported_at=dt.datetime(2025, 3, 20, 12, 0),
    )
    m = kpis(engine)
    assert fig(m["contact_72h"], *RATE) == (100.0, 3, 3, 0)
    # hours [0, 0, 2]: median 0; p90 = 0 + 0.8*2 = 1.6
    assert fig(m["hours_to_contact"], *HOURS) == (0.0, 1.6, 3)


def test_contact_attempt_72h_counts_any_contact_except_future(engine, export) -> None:
    export(
        referrals=[
            referral("A1", "03/03/2025 10:00"),
            referral("A2", "03/03/2025 10:00"),
            referral("A3", "03/03/2025 10:00"),
            referral("A4", "03/03/2025 10:00"),
            referral("A5", "19/03/2025 10:00"),  # immature at as_of
            referral("A6", "03/03/2025 10:00"),
        ],
        contacts=[
            contact(
                "C1",
                "A1",
                "04/03/2025 10:00",
                type_="Attempt",
                method="Text",
                outcome="Message left",
            ),
            contact("C2", "A2", "04/03/2025 10:00", type_="Attempt", outcome="No answer"),
            contact("C3", "A3", "", booked="04/03/2025 10:00", outcome="Booked"),  # future
            contact("C4", "A4", "04/03/2025 10:00"),  # qualifying telephone contact
            contact(
                "C5",
                "A5",
                "19/03/2025 12:00",
                type_="Attempt",
                method="Text",
                outcome="Message left",
            ),
            contact("C6", "A6", "07/03/2025 10:00", type_="Attempt", outcome="No answer"),  # 96 h
        ],
        exported_at=dt.datetime(2025, 3, 20, 12, 0),
    )
    m = kpis(engine)
    # attempts within 72 h: A1 (text), A2 (no answer), A4, A5 -> 4; denominator: A1-A4, A6
    # matured, A5 already has an attempt -> 6; A3's only contact is `future`: not an attempt.
    assert fig(m["contact_attempt_72h"], *RATE) == (66.7, 4, 6, 0)
    # qualifying contact: only A4. A5 is immature without one: pending. 1/5 = 20.0%
    assert fig(m["contact_72h"], *RATE) == (20.0, 1, 5, 1)
    # waiting: every open referral with no qualifying contact: A1 A2 A3 A5 A6; A5 not breaching
    assert fig(m["waiting_now"], "value", "breaching") == (5, 4)


def test_only_attended_or_late_seen_calls_visits_and_video_are_contact(engine, export) -> None:
    export(
        referrals=[referral(f"Q{i}", "03/03/2025 10:00") for i in range(1, 5)],
        contacts=[
            contact("C1", "Q1", "03/03/2025 12:00", method="Email"),
            contact("C2", "Q2", "03/03/2025 12:00", method="Other"),
            contact("C3", "Q3", "03/03/2025 12:00", outcome="Late seen"),  # qualifying
            contact("C4", "Q4", "03/03/2025 12:00", outcome="Late not seen"),
        ],
        exported_at=dt.datetime(2025, 3, 20, 12, 0),
    )
    m = kpis(engine)
    # contact: Q3 only -> 1/4; attempts: all four -> 4/4
    assert fig(m["contact_72h"], *RATE) == (25.0, 1, 4, 0)
    assert fig(m["contact_attempt_72h"], *RATE) == (100.0, 4, 4, 0)
    assert fig(m["hours_to_contact"], *HOURS) == (2.0, 2.0, 1)
    assert fig(m["waiting_now"], "value", "breaching") == (3, 3)


def test_contact_time_is_occurred_else_scheduled_but_appointment_day_is_scheduled(
    engine, export
) -> None:
    export(
        referrals=[
            referral("O1", "03/03/2025 09:00"),
            referral("O2", "03/03/2025 10:00"),
        ],
        contacts=[
            # booked for 73 h after referral, but took place at 71.5 h
            appointment(
                "A1", "O1", "06/03/2025 10:00", type_="Assessment", occurred="06/03/2025 08:30"
            ),
            # booked for day 7, took place on day 8 (192.5 h)
            appointment("A2", "O2", "10/03/2025 10:00", occurred="11/03/2025 10:30"),
        ],
        exported_at=dt.datetime(2025, 3, 20, 12, 0),
    )
    m = kpis(engine)
    # first qualifying contact time = occurred: O1 71.5 h within, O2 192.5 h outside
    assert fig(m["contact_72h"], *RATE) == (50.0, 1, 2, 0)
    # [71.5, 192.5]: median 132.0; p90 = 71.5 + 0.9*121 = 180.4
    assert fig(m["hours_to_contact"], *HOURS) == (132.0, 180.4, 2)
    # appointment dates are scheduled dates: O1 day 3, O2 day 7 -> both within
    assert fig(m["appt_offered_7d"], *RATE) == (100.0, 2, 2, 0)
    assert fig(m["appt_attended_7d"], *RATE) == (100.0, 2, 2, 0)


def test_declined_and_withdrawn_referrals_count_but_do_not_wait(engine, export) -> None:
    export(
        referrals=[
            referral("D1", "03/03/2025 10:00", status="Declined"),  # never contacted
            referral("D2", "03/03/2025 10:00", status="Withdrawn"),
            referral("D3", "03/03/2025 10:00"),  # open, never contacted
        ],
        contacts=[contact("C2", "D2", "03/03/2025 12:00")],
        exported_at=dt.datetime(2025, 3, 20, 12, 0),
    )
    m = kpis(engine)
    assert m["referrals"]["value"] == 3
    # D2 within; D1 and D3 matured without contact -> 1/3
    assert fig(m["contact_72h"], *RATE) == (33.3, 1, 3, 0)
    # waiting counts open referrals only: D3
    assert fig(m["waiting_now"], "value", "breaching") == (1, 1)


def test_an_orphan_contact_counts_once_its_referral_arrives(engine, export) -> None:
    export(
        contacts=[
            contact("C1", "R1", "03/03/2025 12:00"),
            appointment("S1", "R1", "05/03/2025 10:00", type_="Assessment"),
        ],
        exported_at=dt.datetime(2025, 3, 20, 12, 0),
    )
    m = kpis(engine)
    # orphans are left out of every measure
    assert m["referrals"]["value"] == 0
    assert m["sessions"]["value"] == 0
    export(referrals=[referral("R1", "03/03/2025 10:00")], exported_at=dt.datetime(2025, 3, 20, 13))
    m = kpis(engine)
    assert fig(m["contact_72h"], *RATE) == (100.0, 1, 1, 0)
    assert m["sessions"]["value"] == 1
    assert fig(m["appt_offered_7d"], *RATE) == (100.0, 1, 1, 0)


# -- duplicates and orphans ------------------------------------------------------------------------


def test_duplicates_and_their_contacts_and_orphan_contacts_are_left_out(engine, export) -> None:
    export(
        referrals=[
            referral("R1", "03/03/2025 10:00"),
            referral("R2", "03/03/2025 10:00", status="Duplicate"),
            referral("R3", "04/03/2025 10:00", status="Duplicate"),  # would be waiting
        ],
        contacts=[
            contact("C1", "R1", "03/03/2025 12:00"),
            appointment("P1", "R1", "05/03/2025 10:00", duration="90"),
            contact("C2", "R2", "03/03/2025 11:00"),
            appointment("P2", "R2", "05/03/2025 10:00", duration="60"),
            appointment("P3", "R2", "06/03/2025 10:00", outcome="DNA"),
            appointment("P9", "R99", "05/03/2025 10:00", duration="60"),  # orphan: R99 not loaded
        ],
        exported_at=dt.datetime(2025, 3, 20, 12, 0),
    )
    m = kpis(engine)
    # Only R1 and its contacts count.
    assert m["referrals"]["value"] == 1
    assert fig(m["contact_72h"], *RATE) == (100.0, 1, 1, 0)
    assert fig(m["hours_to_contact"], *HOURS) == (2.0, 2.0, 1)
    assert fig(m["appt_offered_7d"], *RATE) == (100.0, 1, 1, 0)
    assert m["sessions"]["value"] == 1
    assert fig(m["dna_rate"], *RATIO) == (0.0, 0, 1)
    assert fig(m["session_90min"], *RATIO) == (100.0, 1, 1)
    assert fig(m["waiting_now"], "value", "breaching") == (0, 0)


# -- appointments within a week --------------------------------------------------------------------


def test_appointment_offered_and_attended_within_7_days(engine, export) -> None:
    export(
        referrals=[
            referral("R1", "03/03/2025 10:00"),
            referral("R2", "03/03/2025 10:00"),
            referral("R3", "03/03/2025 10:00"),
            referral("R4", "03/03/2025 10:00"),
            referral("R5", "03/03/2025 10:00"),
            referral("R6", "03/03/2025 10:00"),
            referral("R7", "15/03/2025 10:00"),  # 15/03 + 7 = 22/03 > as_of date 20/03
            referral("R8", "18/03/2025 10:00"),  # immature too
        ],
        contacts=[
            appointment("A1", "R1", "10/03/2025 17:00", type_="Assessment"),  # day 7 exactly
            appointment("A2", "R2", "11/03/2025 09:00", type_="Assessment"),  # day 8
            # R3: the service cancelled the day-2 one, so its first appointment is day 9
            appointment("A3a", "R3", "05/03/2025 10:00", outcome="Service cancelled"),
            appointment("A3b", "R3", "12/03/2025 10:00"),
            # R4: the client cancelled the day-2 one: still the first appointment offered;
            # first attended is day 11
            appointment("A4a", "R4", "05/03/2025 10:00", outcome="Client cancelled"),
            appointment("A4b", "R4", "14/03/2025 10:00"),
            # R5: DNA on day 3, then attended on day 6
            appointment("A5a", "R5", "06/03/2025 10:00", outcome="DNA"),
            appointment("A5b", "R5", "09/03/2025 10:00"),
            contact("A6", "R6", "04/03/2025 10:00"),  # a first contact is not an appointment
            appointment("A7", "R7", "25/03/2025 10:00", outcome="Booked"),  # only booking: day 10
            appointment("A8", "R8", "21/03/2025 10:00", outcome="Booked"),  # booked for day 3
        ],
        exported_at=dt.datetime(2025, 3, 20, 12, 0),
    )
    m = kpis(engine)
    # offered: numerator R1, R4, R5, R8 (already has one within 7 days) = 4;
    # denominator R1-R6 (matured) + R8 = 7; pending R7 -> 4/7 = 57.1%
    assert fig(m["appt_offered_7d"], *RATE) == (57.1, 4, 7, 1)
    assert m["appt_offered_7d"]["target"] == 90
    assert months(m["appt_offered_7d"], *RATE) == {"2025-03": (57.1, 4, 7, 1)}
    # attended: numerator R1 (day 7), R5 (day 6) = 2; denominator R1-R6 = 6; R7 and R8 have
    # no attended appointment and are immature: pending 2 -> 2/6 = 33.3%
    assert fig(m["appt_attended_7d"], *RATE) == (33.3, 2, 6, 2)


def test_appointment_days_are_london_calendar_dates(engine, export) -> None:
    export(
        referrals=[
            referral("L1", "02/06/2025 00:30"),  # BST: 01/06 23:30 UTC, London date 02/06
            referral("L2", "02/06/2025 10:00"),
        ],
        contacts=[
            appointment("A1", "L1", "09/06/2025 12:00"),  # London day 7 (a UTC-date rule: 8)
            appointment("A2", "L2", "10/06/2025 00:30"),  # 09/06 23:30 UTC; London day 8
        ],
        exported_at=dt.datetime(2025, 6, 20, 12, 0),
    )
    m = kpis(engine)
    assert fig(m["appt_offered_7d"], *RATE) == (50.0, 1, 2, 0)
    assert fig(m["appt_attended_7d"], *RATE) == (50.0, 1, 2, 0)


def test_an_appointment_cancelled_by_the_service_is_not_an_offer(engine, export) -> None:
    export(
        referrals=[
            referral("R1", "03/03/2025 10:00"),  # matured
            referral("R2", "18/03/2025 10:00", source="Self"),  # immature
        ],
        contacts=[
            appointment("A1", "R1", "05/03/2025 10:00", outcome="Service cancelled"),
            appointment("A2", "R2", "20/03/2025 09:00", outcome="Service cancelled"),
        ],
        exported_at=dt.datetime(2025, 3, 20, 12, 0),
    )
    m = kpis(engine)
    # R1 matured with no offer: 0/1; R2 immature with no offer: pending
    assert fig(m["appt_offered_7d"], *RATE) == (0.0, 0, 1, 1)
    assert fig(m["appt_attended_7d"], *RATE) == (0.0, 0, 1, 1)
    # only the pending one: no denominator, so no percentage
    m = kpis(engine, source="self")
    assert fig(m["appt_offered_7d"], *RATE) == (None, 0, 0, 1)


# -- sessions, DNA rate, 90-minute sessions --------------------------------------------------------

SESSIONS = dict(
    referrals=[
        referral("R1", "01/03/2025 10:00", source="GP"),
        referral("R2", "01/03/2025 10:00", source="Self"),
        referral("R3", "01/03/2025 10:00", source="GP", status="Duplicate"),
    ],
    contacts=[
        appointment("S01", "R1", "05/03/2025 10:00", type_="Assessment", practitioner="Sam"),
        appointment("S02", "R1", "12/03/2025 10:00", duration="90", practitioner="Sam"),
        appointment(
            "S03", "R1", "19/03/2025 10:00", type_="Group", duration="90", practitioner="Kit"
        ),
        appointment(
            "S04", "R2", "19/03/2025 10:00", type_="Group", duration="90", practitioner="Kit"
        ),
        appointment(
            "S05", "R2", "02/04/2025 10:00", outcome="Late seen", duration="60", practitioner="Sam"
        ),
        appointment(
            "S06", "R2", "09/04/2025 10:00", outcome="DNA", duration="90", practitioner="Sam"
        ),
        appointment("S07", "R2", "16/04/2025 10:00", outcome="Late not seen", practitioner="Sam"),
        contact("S08", "R1", "02/03/2025 10:00"),  # first contact: not an appointment
        contact("S09", "R1", "20/03/2025 10:00", type_="Check in"),  # not an appointment
        appointment("S10", "R2", "23/04/2025 10:00", outcome="Client cancelled"),
        appointment("S11", "R1", "24/04/2025 10:00", outcome="Service cancelled"),
        appointment("S12", "R3", "12/03/2025 10:00", duration="90", practitioner="Sam"),  # dup
        appointment("S13", "R2", "26/03/2025 10:00", practitioner="Kit"),  # no duration
        appointment("S14", "R1", "26/03/2025 11:00", duration="80", practitioner="Kit"),
        appointment("S15", "R1", "27/03/2025 10:00", duration="1:19", practitioner="Kit"),
    ],
    exported_at=dt.datetime(2025, 4, 30, 12, 0),
)


def test_sessions_count_person_sessions_attended_or_late_seen(engine, export) -> None:
    export(**SESSIONS)
    m = kpis(engine)["sessions"]
    # attended/late-seen appointments of counted referrals: S01-S05, S13, S14, S15 = 8
    # (group session S03/S04 counts once per attendee row; S05 late seen counts)
    assert m["value"] == 8
    # March: S01 S02 S03 S04 S13 S14 S15 = 7; April: S05 = 1
    assert months(m) == {"2025-03": 7, "2025-04": 1}
    assert groups(m, "by_contact_type") == {"assessment": 1, "peer_session": 5, "group_session": 2}
    # R1 (gp): S01 S02 S03 S14 S15; R2 (self): S04 S05 S13
    assert groups(m, "by_referral_source") == {"gp": 5, "self": 3}
    # Sam: S01 S02 S05; Kit: S03 S04 S13 S14 S15 (the spec does not say whether a practitioner
    # with appointments but no sessions, here "not recorded" for S10 S11, is listed with 0)
    assert nonzero(groups(m, "by_practitioner")) == {"Sam": 3, "Kit": 5}


def test_dna_rate_leaves_out_cancellations(engine, export) -> None:
    export(**SESSIONS)
    m = kpis(engine)["dna_rate"]
    # denominator: 8 attended/late seen + S06 dna + S07 late not seen = 10 (S10, S11 cancelled,
    # S12 a duplicate's); numerator S06 -> 1/10 = 10.0%
    assert fig(m, *RATIO) == (10.0, 1, 10)
    assert m["target"] == 10
    # March 0/7; April S05, S06, S07 -> 1/3
    assert months(m, *RATIO) == {"2025-03": (0.0, 0, 7), "2025-04": (33.3, 1, 3)}


def test_session_90min_counts_attended_peer_sessions_with_a_duration(engine, export) -> None:
    export(**SESSIONS)
    m = kpis(engine)["session_90min"]
    # attended peer sessions with a duration: S02 (90), S05 (60, late seen), S14 (80), S15 (79);
    # not S13 (no duration), S03/S04 (group), S06 (dna), S12 (duplicate).
    # >= 80 minutes: S02, S14 -> 2/4 = 50.0%
    assert fig(m, *RATIO) == (50.0, 2, 4)
    assert m["target"] == 90
    # March S02, S14, S15 -> 2/3; April S05 -> 0/1
    assert months(m, *RATIO) == {"2025-03": (66.7, 2, 3), "2025-04": (0.0, 0, 1)}


def test_sessions_per_referral_includes_discharged_referrals_with_no_sessions(
    engine, export
) -> None:
    weekly = ["17/03/2025", "24/03/2025", "31/03/2025", "07/04/2025", "14/04/2025"]
    export(
        referrals=[
            referral("P1", "03/03/2025 10:00", discharged="31/03/2025"),
            referral("P2", "03/03/2025 10:00", discharged="20/03/2025"),  # never seen
            referral("P3", "03/03/2025 10:00", discharged="10/04/2025"),
            referral("P4", "03/03/2025 10:00"),  # open: not in the measure
            referral("P5", "03/03/2025 10:00", discharged="15/04/2025"),
            referral("P6", "03/03/2025 10:00", status="Duplicate", discharged="31/03/2025"),
        ],
        contacts=[
            appointment("A11", "P1", "05/03/2025 10:00", type_="Assessment"),
            appointment("A12", "P1", "12/03/2025 10:00", outcome="Late seen"),
            appointment("A13", "P1", "19/03/2025 10:00", type_="Group"),
            appointment("A14", "P1", "26/03/2025 10:00", outcome="DNA"),
            contact("A31", "P3", "04/03/2025 10:00"),  # a first contact is not an appointment
            appointment("A32", "P3", "10/03/2025 10:00"),
            *[appointment(f"A4{i}", "P4", f"{d} 10:00") for i, d in enumerate(weekly[:4])],
            *[appointment(f"A5{i}", "P5", f"{d} 10:00") for i, d in enumerate(weekly)],
            *[appointment(f"A6{i}", "P6", f"{d} 11:00") for i, d in enumerate(weekly[:2])],
        ],
        exported_at=dt.datetime(2025, 5, 15, 12, 0),
    )
    m = kpis(engine)["sessions_per_referral"]
    # discharged: P1 3, P2 0, P3 1, P5 5 -> mean 9/4 = 2.25; median (1 + 3)/2 = 2.0; n 4
    assert fig(m, "value", "mean", "median", "n") == (2.25, 2.25, 2.0, 4)
    # by month discharged: March P1 3, P2 0 -> 1.5; April P3 1, P5 5 -> 3.0
    assert months(m, "mean", "median", "n") == {
        "2025-03": (1.5, 1.5, 2),
        "2025-04": (3.0, 3.0, 2),
    }


# -- feedback and outcomes -------------------------------------------------------------------------


def test_fft_counts_dont_know_in_the_denominator_and_anonymous_feedback(engine, export) -> None:
    export(
        referrals=[referral("R1", "03/03/2025 10:00")],
        feedback=[
            feedback("F1", "R1", "05/03/2025", "Very good"),
            feedback("F2", "", "06/03/2025", "Very good"),  # anonymous
            feedback("F3", "R77", "07/03/2025", "Good"),  # its referral has not arrived yet
            feedback("F4", "", "08/03/2025", "Don't know"),
            feedback("F5", "", "02/04/2025", "Poor"),
            feedback("F6", "", "03/04/2025", "Neither good nor poor"),
            feedback("F7", "", "04/04/2025", "Very poor"),
            feedback("F8", "", "05/04/2025", "Good"),
        ],
        exported_at=dt.datetime(2025, 4, 30, 12, 0),
    )
    m = kpis(engine)
    # positive F1 F2 F3 F8 = 4 of 8 = 50.0%; negative F5 F7 = 2 of 8 = 25.0%
    assert fig(m["fft_positive"], "value", "numerator", "denominator", "n") == (50.0, 4, 8, 8)
    assert fig(m["fft_negative"], "value", "numerator", "denominator", "n") == (25.0, 2, 8, 8)
    assert m["fft_positive"]["target"] == 90
    # March F1-F4: positive 3/4, negative 0/4; April F5-F8: positive 1/4, negative 2/4
    assert months(m["fft_positive"], *RATIO) == {"2025-03": (75.0, 3, 4), "2025-04": (25.0, 1, 4)}
    assert months(m["fft_negative"], *RATIO) == {"2025-03": (0.0, 0, 4), "2025-04": (50.0, 2, 4)}


# CORE-10 item sets (items 2 and 3 reverse-scored: 4 - x). Items 2 and 3 are 4, so they add 0.
SCORE_20 = [4, 4, 4, 4, 4, 4, 4, 0, 0, 0]  # 4 + 0 + 0 + 4 + 4 + 4 + 4 = 20
SCORE_15 = [4, 4, 4, 4, 4, 3, 0, 0, 0, 0]  # 4 + 4 + 4 + 3 = 15
SCORE_14 = [4, 4, 4, 4, 4, 2, 0, 0, 0, 0]  # 4 + 4 + 4 + 2 = 14
SCORE_10 = [4, 4, 4, 4, 2, 0, 0, 0, 0, 0]  # 4 + 4 + 2 = 10
PRORATED_14_44 = [4, 4, 4, 4, 4, 1, 0, 0, 0, None]  # 9 items sum 13 -> 13 x 10/9 = 14.444
PRORATED_20 = [4, 4, 4, 4, 4, 4, 2, 0, 0, None]  # 9 items sum 18 -> 18 x 10/9 = 20.0
UNSCORABLE = [0, 4, 4, 0, 0, 0, 0, 0, None, None]  # two missing: no score (not 0)


def test_core10_improvement_pairs_first_and_last_scorable_14_days_apart(engine, export) -> None:
    done = "10/04/2025"
    export(
        referrals=[
            *[
                referral(f"C{i}", "01/03/2025 10:00", discharged=done)
                for i in (1, 2, 3, 4, 5, 6, 8, 9)
            ],
            referral("C7", "01/03/2025 10:00"),  # still open
        ],
        outcomes=[
            core10("C1", "03/03/2025", SCORE_20),
            core10("C1", "31/03/2025", SCORE_14),  # fell by 6: improved
            core10("C2", "03/03/2025", SCORE_20),
            core10("C2", "31/03/2025", PRORATED_14_44),  # fell by 5.56 (not rounded to 6): not
            core10("C3", "03/03/2025", PRORATED_20),
            core10("C3", "31/03/2025", SCORE_14),  # 20.0 -> 14: fell by 6: improved
            core10("C4", "03/03/2025", SCORE_20),
            core10("C4", "24/03/2025", SCORE_15),  # last scorable: fell by 5: not improved
            core10("C4", "31/03/2025", UNSCORABLE),  # not scorable: not the last of the pair
            core10("C5", "03/03/2025", SCORE_20),
            core10("C5", "16/03/2025", SCORE_10),  # 13 days apart: no pair
            core10("C6", "03/03/2025", SCORE_20),
            core10("C6", "17/03/2025", SCORE_15),  # 14 days apart, fell by 5: not improved
            core10("C7", "03/03/2025", SCORE_20),
            core10("C7", "31/03/2025", SCORE_10),  # not discharged
            core10("C8", "03/03/2025", SCORE_20),  # one administration: no pair
            core10("C9", "03/03/2025", SCORE_20),
            core10("C9", "17/03/2025", SCORE_14),  # exactly 14 days, fell by 6: improved
        ],
        exported_at=dt.datetime(2025, 4, 30, 12, 0),
    )
    m = kpis(engine)["core10_improvement"]
    # pairs: C1 C2 C3 C4 C6 C9 = 6; improved C1 C3 C9 = 3 -> 50.0%
    assert fig(m, *RATIO) == (50.0, 3, 6)
    assert months(m, *RATIO) == {"2025-04": (50.0, 3, 6)}


# -- waiting now -----------------------------------------------------------------------------------


def test_waiting_now_counts_open_referrals_without_qualifying_contact(engine, export) -> None:
    export(
        referrals=[
            referral("W1", "10/03/2025 10:00"),  # nothing yet: waiting, breaching
            referral("W2", "19/03/2025 10:00", source="Self"),  # 26 h: waiting, not breaching
            referral("W3", "10/03/2025 10:00"),  # only attempts: waiting, breaching
            referral("W4", "10/03/2025 10:00"),  # contacted: not waiting
            referral("W5", "10/03/2025 10:00", discharged="15/03/2025"),  # closed
            referral("W6", "10/03/2025 10:00", status="Duplicate"),
            referral("W7", "18/03/2025 10:00"),  # booked only: waiting 50 h, not breaching
            referral("W8", "10/03/2025 10:00"),  # talk_type contact: not waiting
            referral("W9", "10/03/2025 10:00"),  # did not attend: waiting, breaching
        ],
        contacts=[
            contact(
                "C31",
                "W3",
                "11/03/2025 10:00",
                type_="Attempt",
                method="Text",
                outcome="Message left",
            ),
            contact("C32", "W3", "12/03/2025 10:00", type_="Attempt", outcome="No answer"),
            contact("C4", "W4", "11/03/2025 10:00", method="Video"),
            appointment("C7", "W7", "22/03/2025 10:00", type_="Assessment", outcome="Booked"),
            contact("C8", "W8", "11/03/2025 10:00", method="talk_type"),
            appointment("C9", "W9", "12/03/2025 10:00", type_="Assessment", outcome="DNA"),
        ],
        exported_at=dt.datetime(2025, 3, 20, 12, 0),
    )
    m = kpis(engine)["waiting_now"]
    # waiting W1 W2 W3 W7 W9 = 5; breaching W1 W3 W9 = 3
    assert fig(m, "value", "breaching") == (5, 3)
    assert groups(m, "by_referral_source", "value", "breaching") == {
        "gp": (4, 3),
        "self": (1, 0),
    }


# -- as_of -----------------------------------------------------------------------------------------


def test_as_of_defaults_to_the_newest_export_and_can_be_set_in_the_past(engine, export) -> None:
    export(
        referrals=[
            referral("P1", "01/06/2025 10:00"),
            referral("P2", "06/06/2025 10:00"),  # received after the past as_of
            referral("P3", "03/06/2025 09:00"),
            referral("P4", "01/06/2025 08:00"),  # never contacted
        ],
        exported_at=dt.datetime(2025, 6, 10, 9, 0),
    )
    export(
        contacts=[
            contact("C1", "P1", "02/06/2025 10:00"),  # 24 h
            contact("C2", "P2", "06/06/2025 12:00"),  # 2 h
            contact("C3", "P3", "05/06/2025 10:00"),  # 49 h, but after the past as_of
        ],
        exported_at=dt.datetime(2025, 6, 15, 17, 5),
    )
    from kpi.report import build_report

    report = build_report(engine)
    assert report["as_of"] == "2025-06-15T17:05:00+01:00"
    assert report["audience"] == "manager"
    m = report["measures"]
    # P1, P2, P3 within; P4 matured without contact -> 3/4
    assert m["referrals"]["value"] == 4
    assert fig(m["contact_72h"], *RATE) == (75.0, 3, 4, 0)
    assert fig(m["waiting_now"], "value", "breaching") == (1, 1)

    report = build_report(engine, as_of=dt.datetime(2025, 6, 5, 9, 0))
    assert report["as_of"] == "2025-06-05T09:00:00+01:00"
    m = report["measures"]
    # P2 not yet received. P1 within. P3 (48 h old) has no contact yet: pending. P4 (97 h)
    # matured, not contacted -> 1/2 = 50.0%
    assert m["referrals"]["value"] == 3
    assert fig(m["contact_72h"], *RATE) == (50.0, 1, 2, 1)
    assert fig(m["hours_to_contact"], *HOURS) == (24.0, 24.0, 1)
    # waiting: P3 (48 h, not breaching), P4 (breaching)
    assert fig(m["waiting_now"], "value", "breaching") == (2, 1)


def test_london_months_for_referral_and_activity_measures(engine, export) -> None:
    export(
        referrals=[
            referral("R1", "31/03/2025 23:30"),  # BST: 22:30 UTC -> March
            referral("R2", "01/04/2025 00:30"),  # BST: 31/03 23:30 UTC -> April
        ],
        contacts=[
            contact("C1", "R1", "01/04/2025 00:30"),  # 1 h
            contact("C2", "R2", "01/04/2025 02:30"),  # 2 h
            appointment("S1", "R1", "30/04/2025 23:30"),  # 22:30 UTC: April
            appointment("S2", "R2", "01/05/2025 00:15"),  # 30/04 23:15 UTC: May in London
        ],
        exported_at=dt.datetime(2025, 5, 10, 12, 0),
    )
    m = kpis(engine)
    assert months(m["referrals"]) == {"2025-03": 1, "2025-04": 1}
    assert months(m["contact_72h"], *RATE) == {
        "2025-03": (100.0, 1, 1, 0),
        "2025-04": (100.0, 1, 1, 0),
    }
    assert months(m["hours_to_contact"], "median", "n") == {
        "2025-03": (1.0, 1),
        "2025-04": (2.0, 1),
    }
    assert months(m["sessions"]) == {"2025-04": 1, "2025-05": 1}


# -- breakdowns ------------------------------------------------------------------------------------

BREAKDOWN_REFERRALS = [
    referral(
        "B1",
        "03/03/2025 10:00",
        source="GP",
        age="17",
        gender="Female",
        ethnicity="A",
        postcode="BS1 4DJ",
    ),
    referral(
        "B2",
        "03/03/2025 10:00",
        source="Self",
        age="24",
        gender="Male",
        ethnicity="White Irish",
        postcode="BS1 1AA",
    ),
    referral(
        "B3",
        "03/03/2025 10:00",
        source="GP",
        age="30",
        gender="Non-binary",
        ethnicity="D",
        postcode="BS5 6XX",
    ),
    referral(
        "B4", "03/03/2025 10:00", source="IAPT", age="40", gender="Not stated", ethnicity="Indian"
    ),
    referral(
        "B5", "03/03/2025 10:00", source="A&E", age="50", ethnicity="African", postcode="BS5 7YY"
    ),
    referral(
        "B6",
        "03/03/2025 10:00",
        source="VCSE",
        age="70",
        gender="Other",
        ethnicity="Chinese",
        postcode="BA1 1AA",
    ),
    referral(
        "B7",
        "03/03/2025 10:00",
        source="Urgent Care",
        gender="Female",
        ethnicity="Z",
        postcode="BS1 2BB",
    ),
    referral(
        "B8",
        "03/03/2025 10:00",
        source="Other",
        age="18",
        gender="Female",
        ethnicity="99",
        postcode="BS16 1QY",
    ),
    referral("B9", "03/03/2025 10:00", source="GP", age="20", gender="Male", postcode="BS1 3CC"),
    referral(
        "B0", "03/03/2025 10:00", source="GP", age="20", status="Duplicate", postcode="BS9 1AA"
    ),
]
BREAKDOWN_CONTACTS = [
    contact("C1", "B1", "03/03/2025 12:00"),  # 2 h
    contact("C2", "B2", "07/03/2025 14:00"),  # 100 h
    contact("C5", "B5", "04/03/2025 10:00"),  # 24 h
]


def test_referral_breakdowns(engine, export) -> None:
    export(
        referrals=BREAKDOWN_REFERRALS,
        contacts=BREAKDOWN_CONTACTS,
        exported_at=dt.datetime(2025, 3, 31, 12, 0),
    )
    m = kpis(engine)
    r = m["referrals"]
    assert r["value"] == 9
    assert groups(r, "by_referral_source") == {
        "gp": 3,  # B1 B3 B9 (B0 is a duplicate)
        "self": 1,
        "iapt": 1,
        "ae": 1,
        "vcse": 1,
        "urgent_care": 1,
        "other": 1,
    }
    assert groups(r, "by_age_band") == {
        "under 18": 1,
        "18-24": 3,  # B2 24, B8 18, B9 20
        "25-34": 1,
        "35-44": 1,
        "45-64": 1,
        "65+": 1,
        "not_known": 1,  # B7
    }
    # blank gender is X (not known); "Not stated" is Z
    assert groups(r, "by_gender") == {"2": 3, "1": 2, "3": 1, "Z": 1, "X": 1, "4": 1}
    assert groups(r, "by_ethnicity") == {
        "white": 2,  # A, B
        "mixed": 1,  # D
        "asian": 1,  # H
        "black": 1,  # N
        "other": 1,  # R
        "not_known": 3,  # Z, 99, blank
    }
    assert groups(r, "by_postcode_district") == {
        "BS1": 4,  # B1 B2 B7 B9
        "BS5": 2,
        "BA1": 1,
        "BS16": 1,
        "not_known": 1,  # B4 has no postcode
    }
    # contact_72h: within B1 (2 h), B5 (24 h); B2 late (100 h); the rest never contacted.
    assert fig(m["contact_72h"], *RATE) == (22.2, 2, 9, 0)
    assert groups(m["contact_72h"], "by_referral_source", *RATE) == {
        "gp": (33.3, 1, 3, 0),
        "self": (0.0, 0, 1, 0),
        "iapt": (0.0, 0, 1, 0),
        "ae": (100.0, 1, 1, 0),
        "vcse": (0.0, 0, 1, 0),
        "urgent_care": (0.0, 0, 1, 0),
        "other": (0.0, 0, 1, 0),
    }
    assert groups(m["contact_72h"], "by_ethnicity", *RATE) == {
        "white": (50.0, 1, 2, 0),
        "mixed": (0.0, 0, 1, 0),
        "asian": (0.0, 0, 1, 0),
        "black": (100.0, 1, 1, 0),
        "other": (0.0, 0, 1, 0),
        "not_known": (0.0, 0, 3, 0),
    }
    hours = groups(m["hours_to_contact"], "by_gender", "median", "n")
    assert (hours["2"], hours["1"], hours["X"]) == ((2.0, 1), (100.0, 1), (24.0, 1))
    assert hours["3"][1] == 0
    # waiting: B3 B4 B6 B7 B8 B9 (all breaching)
    assert groups(m["waiting_now"], "by_age_band", "value", "breaching") == {
        "under 18": (0, 0),
        "18-24": (2, 2),
        "25-34": (1, 1),
        "35-44": (1, 1),
        "45-64": (0, 0),
        "65+": (1, 1),
        "not_known": (1, 1),
    }
    assert groups(m["appt_offered_7d"], "by_postcode_district", *RATE) == {
        "BS1": (0.0, 0, 4, 0),
        "BS5": (0.0, 0, 2, 0),
        "BA1": (0.0, 0, 1, 0),
        "BS16": (0.0, 0, 1, 0),
        "not_known": (0.0, 0, 1, 0),
    }


def test_data_quality_completeness_and_loads(engine, load, tmp_path) -> None:
    # The brief gives no field list for data_quality; this follows the engine's shape
    # ("completeness" -> {field: {value, numerator, denominator}}, "loads" -> ledger rows).
    rows = [*BREAKDOWN_REFERRALS[:-1], referral("B10", "03/03/2025"), referral("BX", "31/02/2025")]
    path = write_csv(tmp_path / "referrals.csv", "\n".join([REFERRALS, *rows]) + "\n")
    (report,) = load(path, exported_at=dt.datetime(2025, 3, 31, 12, 0))
    assert (report.read, report.inserted, report.quarantined) == (11, 10, 1)
    dq = kpis(engine)["data_quality"]
    done = {k: fig(v, *RATIO) for k, v in dq["completeness"].items()}
    assert done == {
        "ethnicity": (60.0, 6, 10),  # Z, 99 and blank are not known: B7 B8 B9 B10
        "gender": (70.0, 7, 10),  # Z (B4) and X (B5, B10: blank) are not known
        "age": (80.0, 8, 10),  # B7, B10 have no age
        "time": (90.0, 9, 10),  # B10 is date-only
    }
    (latest,) = [x for x in dq["loads"] if x["file_name"] == "referrals.csv"]
    assert (latest["rows_read"], latest["inserted"], latest["quarantined"]) == (11, 10, 1)
    assert (latest["updated"], latest["unchanged"], latest["orphans"]) == (0, 0, 0)
    # "quarantined by reason" (kpis.md, data_quality)
    assert any(isinstance(v, dict) and v.get("invalid_datetime") == 1 for v in latest.values()), (
        latest
    )


# -- later exports ---------------------------------------------------------------------------------


def test_a_newer_export_changes_the_measures(engine, export) -> None:
    export(
        referrals=[referral("R1", "03/03/2025 10:00"), referral("R2", "03/03/2025 10:00")],
        contacts=[
            appointment("S1", "R1", "05/03/2025 10:00"),  # 48 h
            appointment("S2", "R1", "12/03/2025 10:00", outcome="Booked"),
            appointment("S3", "R2", "06/03/2025 10:00", type_="Assessment"),
        ],
        exported_at=dt.datetime(2025, 3, 10, 12, 0),
    )
    m = kpis(engine)
    assert m["referrals"]["value"] == 2
    assert groups(m["sessions"], "by_referral_source") == {"gp": 2}
    assert fig(m["dna_rate"], *RATIO) == (0.0, 0, 2)
    # R1 was self-referred after all, R2 is a duplicate, and S2 was not attended.
    export(
        referrals=[
            referral("R1", "03/03/2025 10:00", source="Self"),
            referral("R2", "03/03/2025 10:00", status="Duplicate"),
        ],
        contacts=[appointment("S2", "R1", "12/03/2025 10:00", outcome="DNA")],
        exported_at=dt.datetime(2025, 3, 20, 12, 0),
    )
    m = kpis(engine)
    assert groups(m["referrals"], "by_referral_source") == {"self": 1}
    assert fig(m["contact_72h"], *RATE) == (100.0, 1, 1, 0)  # S1 after 48 h
    # sessions: S1 only (S3 belongs to a duplicate); DNA S2 -> 1/2
    assert m["sessions"]["value"] == 1
    assert groups(m["sessions"], "by_referral_source") == {"self": 1}
    assert fig(m["dna_rate"], *RATIO) == (50.0, 1, 2)
    assert groups(m["dna_rate"], "by_referral_source", *RATIO) == {"self": (50.0, 1, 2)}


# -- filters ---------------------------------------------------------------------------------------

FILTERED = dict(
    referrals=[
        referral("R1", "15/02/2025 10:00", discharged="20/03/2025"),
        referral("R2", "10/03/2025 10:00"),
        referral("R3", "20/03/2025 10:00", source="Self"),  # never contacted
        referral("R4", "05/04/2025 10:00", discharged="25/04/2025"),
    ],
    contacts=[
        contact("C1", "R1", "15/02/2025 12:00"),
        appointment("S11", "R1", "20/02/2025 10:00"),
        appointment("S12", "R1", "10/03/2025 10:00"),
        contact("C2", "R2", "11/03/2025 10:00"),
        appointment("S21", "R2", "14/03/2025 10:00"),
        appointment("S22", "R2", "02/04/2025 10:00"),
        contact("C4", "R4", "05/04/2025 11:00"),
        appointment("S41", "R4", "08/04/2025 10:00"),
    ],
    feedback=[
        feedback("F1", "", "20/02/2025", "Very good"),
        feedback("F2", "", "10/03/2025", "Good"),
        feedback("F3", "", "15/04/2025", "Poor"),
    ],
    exported_at=dt.datetime(2025, 4, 30, 12, 0),
)


def test_month_filters(engine, export) -> None:
    export(**FILTERED)
    from kpi.report import build_report

    report = build_report(engine, month_from="2025-03", month_to="2025-03")
    assert report["period"] == {"from": "2025-03", "to": "2025-03"}
    m = report["measures"]
    # received in March: R2 (contacted in 24 h), R3 (never) -> 1/2
    assert m["referrals"]["value"] == 2
    assert months(m["referrals"]) == {"2025-03": 2}
    assert fig(m["contact_72h"], *RATE) == (50.0, 1, 2, 0)
    # sessions occurred in March: S12, S21
    assert m["sessions"]["value"] == 2
    # feedback submitted in March: F2
    assert fig(m["fft_positive"], "value", "n") == (100.0, 1)
    # discharged in March: R1 with 2 attended sessions (S11 in February counts too)
    assert fig(m["sessions_per_referral"], "mean", "median", "n") == (2.0, 2.0, 1)

    m = kpis(engine, month_from="2025-04")
    # received from April: R4; sessions S22, S41; feedback F3; discharged R4 (1 session)
    assert m["referrals"]["value"] == 1
    assert m["sessions"]["value"] == 2
    assert fig(m["fft_negative"], "value", "n") == (100.0, 1)
    assert fig(m["sessions_per_referral"], "mean", "n") == (1.0, 1)

    m = kpis(engine, month_to="2025-02")
    # up to February: R1 (contacted in 2 h); session S11; F1
    assert m["referrals"]["value"] == 1
    assert fig(m["contact_72h"], *RATE) == (100.0, 1, 1, 0)
    assert m["sessions"]["value"] == 1
    assert fig(m["fft_positive"], "value", "n") == (100.0, 1)


def test_source_filter(engine, export) -> None:
    export(**FILTERED)
    m = kpis(engine, source="gp")
    # GP: R1, R2, R4, all contacted within 72 h; their sessions S11 S12 S21 S22 S41
    assert m["referrals"]["value"] == 3
    assert fig(m["contact_72h"], *RATE) == (100.0, 3, 3, 0)
    assert m["sessions"]["value"] == 5
    m = kpis(engine, source="self")
    assert m["referrals"]["value"] == 1
    assert fig(m["contact_72h"], *RATE) == (0.0, 0, 1, 0)
    assert m["sessions"]["value"] == 0
    assert fig(m["waiting_now"], "value", "breaching") == (1, 1)


def test_targets_are_the_spec_defaults(engine, export) -> None:
    export(**FILTERED)
    m = kpis(engine)
    targets = {k: m[k].get("target") for k in m if m[k].get("target") is not None}
    assert targets == {
        "contact_72h": 95,
        "appt_offered_7d": 90,
        "dna_rate": 10,
        "session_90min": 90,
        "fft_positive": 90,
    }


# -- commissioner disclosure -----------------------------------------------------------------------


def _commissioner_export(export) -> None:  # noqa: ANN001
    """31 referrals on 05/05/2025 10:00 (BST) in four districts, as of 31/05/2025 12:00.

    BS1 K01-K13 (gp): contacted after 2 h. K01-K12 one 90-minute peer session each; K13 a DNA.
    BS5 K14-K22 (self): K14-K17 after 10 h, K18-K20 after 100 h, K21-K22 never; K14, K15 DNA.
    BS16 K23-K27 (gp): never contacted; K27 received 31/05/2025 09:00 (3 h old: pending).
    BA1 K28-K31 (iapt): K28 after 5 h, discharged 20/05 with no sessions; K29-K31 never.
    Feedback: 7 good, 2 poor.
    """
    ids = [f"K{i:02d}" for i in range(1, 32)]
    day = "05/05/2025 10:00"
    refs = [referral(k, day, postcode="BS1 1AA") for k in ids[:13]]
    refs += [referral(k, day, source="Self", postcode="BS5 1AA") for k in ids[13:22]]
    refs += [referral(k, day, postcode="BS16 1AA") for k in ids[22:26]]
    refs += [referral("K27", "31/05/2025 09:00", postcode="BS16 1AA")]
    refs += [referral("K28", day, source="IAPT", postcode="BA1 1AA", discharged="20/05/2025")]
    refs += [referral(k, day, source="IAPT", postcode="BA1 1AA") for k in ids[28:]]
    cons = [contact(f"C{k}", k, "05/05/2025 12:00") for k in ids[:13]]
    cons += [contact(f"C{k}", k, "05/05/2025 20:00") for k in ids[13:17]]
    cons += [contact(f"C{k}", k, "09/05/2025 14:00") for k in ids[17:20]]
    cons += [contact("CK28", "K28", "05/05/2025 15:00")]
    cons += [
        appointment(f"S{k}", k, "12/05/2025 10:00", duration="90", practitioner="Sam Peer")
        for k in ids[:12]
    ]
    cons += [appointment(f"S{k}", k, "12/05/2025 10:00", outcome="DNA") for k in ("K13",)]
    cons += [appointment(f"S{k}", k, "13/05/2025 10:00", outcome="DNA") for k in ("K14", "K15")]
    feed = [feedback(f"F{i}", "", "20/05/2025", "Good") for i in range(7)]
    feed += [feedback(f"F{i}", "", "21/05/2025", "Poor") for i in range(7, 9)]
    export(
        referrals=refs, contacts=cons, feedback=feed, exported_at=dt.datetime(2025, 5, 31, 12, 0)
    )


def test_the_commissioner_fixture_in_the_manager_view(engine, export) -> None:
    _commissioner_export(export)
    m = kpis(engine)
    assert m["referrals"]["value"] == 31
    # within: 13 + 4 + 1 = 18; denominator 31 - K27 = 30 -> 60.0%
    assert fig(m["contact_72h"], *RATE) == (60.0, 18, 30, 1)
    # hours: 13 x 2, 5, 4 x 10, 3 x 100 (21 values): median (11th) 2.0; p90 rank 18 -> 100.0
    assert fig(m["hours_to_contact"], *HOURS) == (2.0, 100.0, 21)
    # waiting: K21 K22, K23-K27, K29-K31 = 10; breaching all but K27 = 9
    assert fig(m["waiting_now"], "value", "breaching") == (10, 9)
    assert groups(m["referrals"], "by_postcode_district") == {
        "BS1": 13,
        "BS5": 9,
        "BS16": 5,
        "BA1": 4,
    }
    assert m["sessions"]["value"] == 12
    assert nonzero(groups(m["sessions"], "by_practitioner")) == {"Sam Peer": 12}
    assert fig(m["dna_rate"], *RATIO) == (20.0, 3, 15)  # 3 / (12 + 3)
    assert fig(m["fft_positive"], *RATIO) == (77.8, 7, 9)
    assert fig(m["sessions_per_referral"], "mean", "median", "n") == (0.0, 0.0, 1)


def test_commissioner_view_applies_disclosure_control(engine, export) -> None:
    _commissioner_export(export)
    from kpi.report import build_report

    report = build_report(engine, audience="commissioner")
    assert report["audience"] == "commissioner"
    m = report["measures"]
    # 31 -> 30
    assert m["referrals"]["value"] == 30
    assert months(m["referrals"]) == {"2025-05": 30}
    # numerator 18 -> 20, denominator 30 -> 30, pending 1 -> *; 20/30 = 66.7% (not 60.0)
    assert fig(m["contact_72h"], *RATE) == (66.7, 20, 30, "*")
    assert m["contact_72h"]["target"] == 95
    # n 21 -> 20; the median and p90 are shown (based on 21 >= 8)
    assert fig(m["hours_to_contact"], *HOURS) == (2.0, 100.0, 20)
    assert fig(m["waiting_now"], "value", "breaching") == (10, 10)  # 9 -> 10
    # districts with fewer than 8 referrals (BS16 5, BA1 4) merged: 9 -> 10
    assert groups(m["referrals"], "by_postcode_district") == {
        "BS1": 15,  # 13
        "BS5": 10,  # 9
        "other_districts": 10,
    }
    assert groups(m["contact_72h"], "by_postcode_district", *RATE) == {
        "BS1": (100.0, 15, 15, 0),  # 13/13
        "BS5": ("*", "*", 10, 0),  # 4/9
        "other_districts": ("*", "*", 10, "*"),  # 1/8, 1 pending
    }
    hours = groups(m["hours_to_contact"], "by_postcode_district", *HOURS)
    assert hours["BS1"] == (2.0, 2.0, 15)  # n 13
    assert hours["BS5"] == ("*", "*", "*")  # n 7: under 8
    # gp 13 + 5 = 18 -> 20; self 9 -> 10; iapt 4 -> *
    assert groups(m["referrals"], "by_referral_source") == {"gp": 20, "self": 10, "iapt": "*"}
    # sessions 12 -> 10, and no practitioner anywhere
    assert m["sessions"]["value"] == 10
    assert "by_practitioner" not in m["sessions"]
    assert "Sam Peer" not in json.dumps(report, default=str)
    # dna 3 -> *, denominator 15
    assert fig(m["dna_rate"], *RATIO) == ("*", "*", 15)
    assert fig(m["session_90min"], *RATIO) == (100.0, 10, 10)
    # FFT 7 -> *, 9 -> 10; negative 2 -> *
    assert fig(m["fft_positive"], "value", "numerator", "denominator", "n") == ("*", "*", 10, 10)
    assert fig(m["fft_negative"], "value", "numerator", "n") == ("*", "*", 10)
    # one discharged referral: the mean and median are hidden, n 1 -> *
    assert fig(m["sessions_per_referral"], "value", "mean", "median", "n") == ("*", "*", "*", "*")


# -- disclosure helpers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "shown"),
    [(0, 0), (1, "*"), (2, "*"), (7, "*"), (8, 10), (12, 10), (13, 15), (17, 15), (18, 20),
     (20, 20), (22, 20), (23, 25), (31, 30), (1003, 1005)],
)  # fmt: skip
def test_round_count(count, shown) -> None:
    from kpi.disclosure import round_count

    assert round_count(count) == shown


@pytest.mark.parametrize(
    ("num", "den", "shown"),
    [
        (20, 30, 66.7),  # from 18/31 rounded: not 58.1
        (10, 10, 100.0),
        (0, 10, 0.0),
        (15, 45, 33.3),
        ("*", 10, "*"),
        (10, "*", "*"),
        ("*", "*", "*"),
        (0, 0, None),
    ],
)
def test_percentage_from_rounded_counts(num, den, shown) -> None:
    from kpi.disclosure import percentage

    assert percentage(num, den) == shown


def test_statistics_are_hidden_under_8() -> None:
    from kpi.disclosure import statistic

    assert statistic(71.2, 7) == "*"
    assert statistic(71.2, 1) == "*"
    assert statistic(71.2, 8) == 71.2
    assert statistic(2.25, 31) == 2.25
