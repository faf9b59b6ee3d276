"""`sis kpis --json` on the shared samples gives exactly the figures in their README."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from etl.cli import main
from kpi.report import build_report


def _kpis(engine, *args: str) -> dict:  # noqa: ANN001
    result = CliRunner().invoke(main, ["kpis", "--json", *args], env=_env(engine))
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _env(engine) -> dict[str, str]:  # noqa: ANN001
    url = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name == "postgresql":  # the test's own schema
        schema = engine.dialect.default_schema_name
        with engine.connect() as conn:
            schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
        url += f"?options=-csearch_path%3D{schema}"
    return {"DATABASE_URL": url}


def test_manager_figures_match_the_samples_readme(engine, load, samples) -> None:
    load(*samples)
    report = _kpis(engine, "--as-of", "2025-06-15T17:05")
    m = report["measures"]
    assert report["as_of"] == "2025-06-15T17:05:00+01:00"
    assert report["audience"] == "manager"

    assert m["referrals"]["value"] == 8
    by_month = {p["period"]: p["value"] for p in m["referrals"]["by_month"] if p["value"]}
    assert by_month == {"2025-03": 7, "2025-04": 1}

    c72 = m["contact_72h"]
    assert (c72["numerator"], c72["denominator"], c72["value"], c72["pending"]) == (6, 8, 75.0, 0)
    months = {p["period"]: (p["numerator"], p["denominator"]) for p in c72["by_month"]}
    assert months["2025-03"] == (6, 7) and months["2025-04"] == (0, 1)
    assert c72["target"] == 95.0

    hours = m["hours_to_contact"]
    assert (hours["median"], hours["n"]) == (71.2, 6)

    appt = m["appt_offered_7d"]
    assert (appt["numerator"], appt["denominator"], appt["value"]) == (3, 8, 37.5)

    assert m["sessions"]["value"] == 5
    assert [p["period"] for p in m["sessions"]["by_month"] if p["value"]] == ["2025-03"]
    dna = m["dna_rate"]
    assert (dna["numerator"], dna["denominator"], dna["value"]) == (1, 6, 16.7)
    s90 = m["session_90min"]
    assert (s90["numerator"], s90["denominator"], s90["value"]) == (1, 2, 50.0)
    pos, neg = m["fft_positive"], m["fft_negative"]
    assert (pos["numerator"], pos["denominator"], pos["value"], pos["n"]) == (3, 6, 50.0, 6)
    assert (neg["numerator"], neg["denominator"], neg["value"]) == (1, 6, 16.7)
    assert (m["waiting_now"]["value"], m["waiting_now"]["breaching"]) == (1, 1)


def test_commissioner_figures_pass_through_disclosure_control(engine, load, samples) -> None:
    load(*samples)
    report = _kpis(engine, "--as-of", "2025-06-15T17:05", "--audience", "commissioner")
    m = report["measures"]
    assert report["audience"] == "commissioner"
    assert m["referrals"]["value"] == 10  # 8 -> 10
    assert m["contact_72h"]["numerator"] == "*"  # 6 -> *
    assert m["contact_72h"]["value"] == "*"
    assert m["contact_72h"]["denominator"] == 10
    assert m["hours_to_contact"]["median"] == "*"  # n = 6 < 8
    assert "by_practitioner" not in m["sessions"]
    assert "loads" not in m["data_quality"]
    # Every district has fewer than 8 referrals: all of them are "Other districts".
    assert [g["group"] for g in m["referrals"]["by_postcode_district"]] == ["other_districts"]
    assert m["referrals"]["by_postcode_district"][0]["value"] == 10
    text = json.dumps(report)
    for secret in ("R10", "Peer ", "BS1 "):  # no referral id, practitioner or postcode
        assert secret not in text


def test_the_default_as_of_is_the_newest_export(engine, load, samples) -> None:
    load(*samples)
    assert _kpis(engine)["as_of"] == "2025-06-15T17:05:00+01:00"


def test_settled_cube_and_full_scan_give_the_same_report(engine, load, samples) -> None:
    load(*samples)
    for audience in ("manager", "commissioner"):
        fast = build_report(engine, audience=audience)
        slow = build_report(engine, audience=audience, use_cube=False)
        assert fast == slow


@pytest.mark.parametrize(
    "args, message",
    [
        (["--from", "2025-13"], "YYYY-MM"),
        (["--as-of", "yesterday"], "ISO 8601"),
        (["--from", "2025-05", "--to", "2025-03"], "--from is after --to"),
    ],
)
def test_bad_options_are_refused_in_words(engine, args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["kpis", *args], env=_env(engine))
    assert result.exit_code == 2
    assert message in result.output


def test_readable_table_names_every_measure(engine, load, samples) -> None:
    load(*samples)
    result = CliRunner().invoke(main, ["kpis", "--as-of", "2025-06-15T17:05"], env=_env(engine))
    assert result.exit_code == 0, result.output
    assert "Contacted within 72 hours" in result.output
    assert "75.0%" in result.output and "6 / 8" in result.output
    assert "Waiting for first contact" in result.output


def test_sis_spc_reads_a_series_and_prints_the_chart() -> None:
    series = "period,value\n" + "\n".join(
        f"2025-{m:02d},{v}" for m, v in enumerate([80, 82, 79, 81, 80, 83, 95], start=1)
    )
    result = CliRunner().invoke(
        main, ["spc", "--improvement", "up", "--target", "90"], input=series
    )
    assert result.exit_code == 0, result.output
    chart = json.loads(result.output)
    assert [p["period"] for p in chart["points"]][-1] == "2025-07"
    assert chart["points"][-1]["special_cause"] is True  # 95 is above the upper limit
    assert chart["points"][-1]["variation"] == "improvement"
    assert chart["trial"] is True  # 7 points < 12


def test_sis_spc_says_which_line_is_wrong() -> None:
    result = CliRunner().invoke(main, ["spc"], input="period,value\n2025-01,80\n2025-02,lots\n")
    assert result.exit_code == 2
    assert "line 3" in result.output


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("SIS_KPI_TARGETS", "contact_72h=lots", "not a number"),
        ("SIS_KPI_TARGETS", "contact_27h=95", "no measure called 'contact_27h'"),
        ("SIS_KPI_DIRECTIONS", "sessions=sideways", "not up, down or neutral"),
        ("SIS_SPC_REBASE", "contact_72h=new rota", "measure@YYYY-MM=reason"),
    ],
)
def test_a_malformed_kpi_setting_is_named(engine, name: str, value: str, message: str) -> None:
    env = {**_env(engine), name: value}
    result = CliRunner().invoke(main, ["kpis"], env=env)
    assert result.exit_code == 1
    assert name in result.output and message in result.output


def test_targets_directions_and_rebasing_come_from_settings(
    engine, load, samples, monkeypatch
) -> None:
    load(*samples)
    monkeypatch.setenv("SIS_KPI_TARGETS", "contact_72h=80")
    monkeypatch.setenv("SIS_KPI_DIRECTIONS", "sessions=neutral")
    monkeypatch.setenv("SIS_SPC_REBASE", "contact_72h@2025-04=New triage rota")
    m = build_report(engine)["measures"]
    assert m["contact_72h"]["target"] == 80.0
    assert "target" not in m["appt_offered_7d"]  # a measure left out has no target
    assert m["sessions"]["spc"]["improvement"] == "neutral"
    segments = m["contact_72h"]["spc"]["segments"]
    assert [(s["from"], s["reason"]) for s in segments][-1] == ("2025-04", "New triage rota")
