"""Edges found in review: hours waited, months after as_of, a feedback load moving the cube on,
a corrected referral time, commissioner SPC to one decimal, the CLI's checks."""

from __future__ import annotations

import datetime as dt

from click.testing import CliRunner
from sqlalchemy import text

from etl import facts
from etl.cli import main
from kpi.report import build_report
from tests.test_kpi_measures import appointment, contact, export, referral  # noqa: F401


def test_hours_waited_count_from_the_referral_time_or_midnight(engine, export) -> None:  # noqa: F811
    export(
        referrals=[
            referral("H1", "19/03/2025 10:00"),  # 26 h by as_of 20/03 12:00 (GMT)
            referral("H2", "19/03/2025"),  # no time: from 00:00 on 19/03, 36 h
        ],
        exported_at=dt.datetime(2025, 3, 20, 12, 0),
    )
    m = build_report(engine)["measures"]["waiting_now"]
    # n = 2: median (26 + 36) / 2 = 31; p90 = 26 + 0.9 * (36 - 26) = 35
    assert (m["value"], m["n"], m["median"], m["p90"]) == (2, 2, 31.0, 35.0)
    hidden = build_report(engine, audience="commissioner")["measures"]["waiting_now"]
    assert (hidden["value"], hidden["median"], hidden["p90"]) == ("*", "*", "*")


def test_months_stop_at_the_as_of_month(engine, export) -> None:  # noqa: F811
    export(
        referrals=[referral("M1", "03/03/2025 10:00")],
        contacts=[appointment("A1", "M1", "04/03/2025 10:00")],
        exported_at=dt.datetime(2025, 4, 10, 9, 0),
    )
    report = build_report(engine, month_from="2025-01", month_to="2025-12")
    sessions = report["measures"]["sessions"]
    assert [p["period"] for p in sessions["by_month"]] == [
        "2025-01",
        "2025-02",
        "2025-03",
        "2025-04",
    ]
    assert report["period"] == {"from": "2025-01", "to": "2025-04"}
    assert [p["period"] for p in sessions["spc"]["points"]][-1] == "2025-04"


def test_a_feedback_load_moves_the_settled_cube_on(engine, export) -> None:  # noqa: F811
    export(
        referrals=[referral("S1", "03/03/2025 10:00"), referral("S2", "04/03/2025 10:00")],
        contacts=[contact("C1", "S1", "03/03/2025 12:00"), contact("C2", "S2", "05/03/2025 9:00")],
        exported_at=dt.datetime(2025, 3, 5, 12, 0),
    )
    export(feedback=["F1,,20/03/2025,Good"], exported_at=dt.datetime(2025, 3, 20, 12, 0))
    with engine.connect() as conn:
        incremental = sorted(map(tuple, conn.execute(text("SELECT * FROM referral_cube"))))
    assert incremental  # both referrals settled by 20/03: in the cube
    with engine.begin() as conn:
        facts.rebuild(conn)
        rebuilt = sorted(map(tuple, conn.execute(text("SELECT * FROM referral_cube"))))
    assert rebuilt == incremental


def test_a_contact_left_early_by_a_corrected_referral_time_is_removed(engine, export) -> None:  # noqa: F811
    export(
        referrals=[referral("T1", "03/03/2025 10:00")],
        contacts=[contact("C1", "T1", "04/03/2025 09:00")],
        exported_at=dt.datetime(2025, 3, 10, 9, 0),
    )
    assert build_report(engine)["measures"]["contact_72h"]["numerator"] == 1
    # The newer export moves the referral to 05/03 12:00: the contact is now 27 h before it.
    export(
        referrals=[referral("T1", "05/03/2025 12:00")], exported_at=dt.datetime(2025, 3, 11, 9, 0)
    )
    with engine.connect() as conn:
        left = conn.execute(text("SELECT COUNT(*) FROM contact")).scalar()
        held = conn.execute(
            text("SELECT reason_code FROM quarantine WHERE record_key = 'C1'")
        ).scalars()
        held = list(held)
    assert left == 0 and held == ["before_referral"]
    c72 = build_report(engine)["measures"]["contact_72h"]
    assert (c72["numerator"], c72["denominator"]) == (0, 1)


def test_commissioner_charts_are_given_to_one_decimal(engine, export) -> None:  # noqa: F811
    referrals = [
        referral(f"R{i}", f"{1 + i % 27:02d}/{1 + i // 27:02d}/2025 10:00") for i in range(81)
    ]
    contacts = [
        contact(f"C{i}", f"R{i}", f"{1 + i % 27:02d}/{1 + i // 27:02d}/2025 12:00")
        for i in range(0, 81, 3)
    ]
    export(referrals=referrals, contacts=contacts, exported_at=dt.datetime(2025, 4, 30, 9, 0))
    chart = build_report(engine, audience="commissioner")["measures"]["contact_72h"]["spc"]
    numbers = [chart["mean"], chart["upper"]] + [
        p["value"] for p in chart["points"] if isinstance(p["value"], float)
    ]
    assert numbers and all(round(x, 1) == x for x in numbers if x is not None)


def test_an_unknown_source_is_refused_by_the_command_line() -> None:
    result = CliRunner().invoke(main, ["kpis", "--source", "GPs"])
    assert result.exit_code == 2
    assert "urgent_care" in result.output  # the choices are listed


def test_a_month_with_a_trailing_newline_is_refused() -> None:
    result = CliRunner().invoke(main, ["kpis", "--from", "2025-03\n"])
    assert result.exit_code == 2
    assert "YYYY-MM" in result.output
