"""File-level rules of the data contract (shared/spec/data-contract.md), on every backend:
formats, encodings, delimiters, title/footer/blank/repeated-header rows, export time, refusals,
crashes, the inbox, the command line and custom source profiles."""

from __future__ import annotations

import codecs
import datetime as dt
import json
import os
import shutil
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from sqlalchemy import inspect

import etl.load
from etl import cli, runner
from etl.xlsx import OLE_MAGIC
from tests.conftest import table_rows, write_csv

EXPORTED = dt.datetime(2025, 6, 15, 17, 5)
REF = "Referral ID,Client ID,Referral Date,Referral Time,Source"
CON = "Contact ID,Referral ID,Type,Date of Contact,Method,Outcome,Practitioner"
LEDGER = ("etl_run", "etl_file")


def csv_file(
    folder: Path, name: str, *lines: str, sep: str = "\n", encoding: str = "utf-8"
) -> Path:
    return write_csv(folder / name, sep.join(lines) + sep, encoding)


def loaded(load, path: Path, **kw):  # noqa: ANN001, ANN201
    (report,) = load(path, **kw)
    assert report.status == "loaded", report.message
    assert report.adds_up
    return report


def snapshot(engine) -> dict[str, list[str]]:  # noqa: ANN001
    """Every table but the ledger, row by row (order-independent)."""
    return {
        t: sorted(repr(sorted(r.items())) for r in table_rows(engine, t))
        for t in inspect(engine).get_table_names()
        if t not in LEDGER
    }


def ids(engine, table: str = "referral", key: str = "referral_id") -> set[str]:  # noqa: ANN001
    return {r[key] for r in table_rows(engine, table)}


# -- encodings and delimiters ----------------------------------------------------------------------


def _encode(text: str, encoding: str) -> bytes:
    if encoding == "utf-16-le-bom":
        return codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    if encoding == "utf-16-be-bom":
        return codecs.BOM_UTF16_BE + text.encode("utf-16-be")
    return text.encode(encoding)


@pytest.mark.parametrize(
    "encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16", "utf-16-le-bom", "utf-16-be-bom"]
)
def test_csv_encodings(engine, load, tmp_path, encoding) -> None:
    text = "\r\n".join(
        [
            CON + ",Café £",
            "A1,R1,First contact,03/03/2025 11:00,Phone,Attended,Zoë Brontë,€5",
            "A2,R1,First contact,03/03/2025 12:00,Phone,DNA,Siân Ó Briain,",
        ]
    )
    path = tmp_path / "contacts.csv"
    path.write_bytes(_encode(text + "\r\n", encoding))
    report = loaded(load, path)
    assert (report.entity, report.read, report.inserted) == ("contacts", 2, 2)
    assert report.ignored_columns == ["Café £"]
    people = {c["contact_id"]: c["practitioner"] for c in table_rows(engine, "contact")}
    assert people == {"A1": "Zoë Brontë", "A2": "Siân Ó Briain"}


@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_csv_delimiters(engine, load, tmp_path, sep) -> None:
    worker = '"Smith, J"' if sep == "," else "Smith, J"
    rows = [
        CON.replace(",", sep),
        sep.join(["A1", "R1", "First contact", "03/03/2025 11:00", "Phone", "Attended", worker]),
        sep.join(["A2", "R1", "Peer session", "03/03/2025 12:00", "Zoom", "DNA", "Lee; K"]),
    ]
    if sep == ";":
        rows[2] = rows[2].replace("Lee; K", '"Lee; K"')
    report = loaded(load, csv_file(tmp_path, "contacts.csv", *rows))
    assert (report.read, report.inserted, report.quarantined) == (2, 1, 1)  # A2: no booked date
    assert table_rows(engine, "contact")[0]["practitioner"] == "Smith, J"


# -- rows that are not data rows -------------------------------------------------------------------


def test_title_blank_footer_and_repeated_header_rows_are_not_data(engine, load, tmp_path) -> None:
    lines = [
        "Referrals report 01/04/2025 - 30/06/2025",
        "Run by Jane Smith on 14/06/2025 09:12",
        "",
        REF,
        "R1,C1,03/03/2025,10:00,GP",
        ",,,,",
        "",
        "R2,C2,04/03/2025,,Self",
        "REFERRAL ID,client id,Referral Date,Referral Time,SOURCE",  # page break
        "R3,C3,05/03/2025,09:00,IAPT",
        "Total,3,,,",
        "Grand total: 3",
        "Count,3",
        "Report generated 14/06/2025 09:12 by Upshot",
        "",
    ]
    report = loaded(load, csv_file(tmp_path, "referrals.csv", *lines), exported_at=None)
    assert (report.read, report.inserted, report.quarantined) == (3, 3, 0)
    assert ids(engine) == {"R1", "R2", "R3"}
    assert table_rows(engine, "quarantine") == []
    assert report.exported_at == "2025-06-14T09:12+01:00"
    assert report.exported_at_source == "'Run ... on' line"


@pytest.mark.parametrize(
    "footer",
    [
        "Total,2,,,,",
        "Grand Total,,2,,,",
        "Count,2,,,,",
        "Report generated 14/06/2025 by Charitylog,,,,,",
    ],
)
def test_a_footer_label_in_a_column_that_is_not_loaded_is_still_a_footer(
    engine, load, tmp_path, footer
) -> None:
    lines = [
        "Client Name,Referral ID,Client ID,Referral Date,Referral Time,Source",
        "Jane Smith,R1,C1,03/03/2025,10:00,GP",
        "John Doe,R2,C2,04/03/2025,10:00,GP",
        footer,
    ]
    report = loaded(load, csv_file(tmp_path, "referrals.csv", *lines))
    assert (report.read, report.inserted, report.quarantined) == (2, 2, 0)
    assert report.identifying_columns_ignored == ["Client Name"]


def test_a_data_row_whose_unloaded_first_cell_starts_like_a_footer_is_kept(
    engine, load, tmp_path
) -> None:
    lines = [
        "Comments,Response ID,Referral ID,Date,FFT",
        "Total waste of time,101,,2025-03-03,5",
        "Count me in again,102,,2025-03-03,1",
        "Total,2,,,",
    ]
    report = loaded(load, csv_file(tmp_path, "feedback.csv", *lines))
    assert (report.read, report.inserted) == (2, 2)
    assert report.identifying_columns_ignored == ["Comments"]
    assert ids(engine, "feedback", "response_id") == {"101", "102"}


def test_blank_line_after_the_header_and_short_rows(engine, load, tmp_path) -> None:
    lines = [
        REF + ",Discharge Date,Discharge Reason",
        "",
        "R1,C1,03/03/2025,10:00,GP",  # trailing empty cells left out by the exporting system
        "R2,C2,04/03/2025,10:00,GP,05/03/2025,Completed",
    ]
    report = loaded(load, csv_file(tmp_path, "referrals.csv", *lines))
    assert (report.read, report.inserted) == (2, 2)
    # Every row with a trailing delimiter the header does not have.
    wide = [REF, "R3,C3,03/03/2025,10:00,GP,", "R4,C4,04/03/2025,10:00,GP,,"]
    report = loaded(load, csv_file(tmp_path, "wide.csv", *wide))
    assert (report.read, report.inserted) == (2, 2)
    assert {r["referral_id"]: r["discharge_reason"] for r in table_rows(engine, "referral")} == {
        "R1": None,
        "R2": "completed",
        "R3": None,
        "R4": None,
    }


# -- export time -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("referrals_2025-12-31_1730.csv", "2025-12-31T17:30+00:00"),
        ("referrals_20251231T1730.csv", "2025-12-31T17:30+00:00"),
        ("referrals_31122025_1730.csv", "2025-12-31T17:30+00:00"),
        ("Referrals export_2025-06-14_0915.csv", "2025-06-14T09:15+01:00"),
    ],
)
def test_export_time_from_the_file_name(engine, load, tmp_path, name, expected) -> None:
    report = loaded(
        load, csv_file(tmp_path, name, REF, "R1,C1,03/03/2025,10:00,GP"), exported_at=None
    )
    assert (report.exported_at, report.exported_at_source) == (expected, "file name")
    stored = table_rows(engine, "etl_file")[-1]
    assert stored["exported_at_source"] == "file name"


def test_export_time_from_the_modification_time(engine, load, tmp_path) -> None:
    path = csv_file(tmp_path, "referrals.csv", REF, "R1,C1,03/03/2025,10:00,GP")
    when = dt.datetime(2025, 6, 14, 8, 15, tzinfo=dt.UTC).timestamp()
    os.utime(path, (when, when))
    report = loaded(load, path, exported_at=None)
    assert (report.exported_at, report.exported_at_source) == (
        "2025-06-14T09:15+01:00",
        "file modified time",
    )


def test_export_time_order_command_line_then_run_line_then_name(engine, load, tmp_path) -> None:
    lines = ["Run by Sam on 14/06/2025 09:12", REF, "R1,C1,03/03/2025,10:00,GP"]
    named = csv_file(tmp_path, "referrals_2025-12-31_1730.csv", *lines)
    report = loaded(load, named, exported_at=None)
    assert (report.exported_at, report.exported_at_source) == (
        "2025-06-14T09:12+01:00",
        "'Run ... on' line",
    )
    other = csv_file(tmp_path, "referrals_2025-12-30_1730.csv", *lines, "R2,C2,04/03/2025,,GP")
    report = loaded(load, other, exported_at=EXPORTED)
    assert (report.exported_at, report.exported_at_source) == (
        "2025-06-15T17:05+01:00",
        "command line",
    )


def test_the_export_time_decides_what_is_in_the_future(engine, load, tmp_path) -> None:
    lines = [
        "Run by Sam on 03/03/2025 12:00",
        REF,
        "R1,C1,03/03/2025,11:59,GP",
        "R2,C2,03/03/2025,12:01,GP",
    ]
    report = loaded(load, csv_file(tmp_path, "referrals.csv", *lines), exported_at=None)
    assert (report.inserted, report.quarantine_reasons) == (1, {"future_date": 1})


# -- XLSX ------------------------------------------------------------------------------------------


def _sheet(ws, rows: list[list], formats: dict[tuple[int, int], str] | None = None) -> None:
    for row in rows:
        ws.append(row)
    for (r, c), fmt in (formats or {}).items():
        ws.cell(row=r, column=c).number_format = fmt


def test_xlsx_with_real_date_cells(engine, load, tmp_path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Referrals"
    rows = [
        ["Referrals report"],
        ["Run by Sam Peer on", dt.datetime(2025, 6, 14, 9, 12)],
        [],
        ["Referral ID", "Client ID", "Referral Date", "Referral Time", "Source", "Client Name"],
        ["R1", "C1", dt.datetime(2025, 3, 3, 10, 0), None, "GP", "Jane Smith"],
        ["R2", "C2", dt.datetime(2025, 3, 4), None, "Self", "John Doe"],  # a date-only cell
        ["R3", "C3", dt.datetime(2025, 3, 5), None, "GP", None],  # written 00:00
        [12345, 678.0, dt.datetime(2025, 3, 6), dt.time(14, 30), "IAPT", None],
        [None, None, None, None, None, None],
        ["Total", 4],
    ]
    _sheet(
        ws,
        rows,
        {
            (2, 2): "dd/mm/yyyy hh:mm",
            (5, 3): "dd/mm/yyyy hh:mm",
            (6, 3): "dd/mm/yyyy",
            (7, 3): "dd/mm/yyyy hh:mm",
            (8, 3): "dd/mm/yyyy",
            (8, 4): "hh:mm",
        },
    )
    path = tmp_path / "referrals.xlsx"
    wb.save(path)
    report = loaded(load, path, exported_at=None)
    assert (report.read, report.inserted, report.quarantined) == (4, 4, 0)
    assert report.identifying_columns_ignored == ["Client Name"]
    assert (report.exported_at, report.exported_at_source) == (
        "2025-06-14T09:12+01:00",
        "'Run ... on' line",
    )
    refs = {r["referral_id"]: r for r in table_rows(engine, "referral")}
    assert set(refs) == {"R1", "R2", "R3", "12345"}
    assert str(refs["R1"]["received_at"]).startswith("2025-03-03 10:00")
    assert bool(refs["R1"]["time_known"]) and bool(refs["R3"]["time_known"])
    assert not refs["R2"]["time_known"]
    assert str(refs["12345"]["received_at"]).startswith("2025-03-06 14:30")
    assert bool(refs["12345"]["time_known"])


def test_xlsx_reads_the_first_visible_sheet(engine, load, tmp_path) -> None:
    wb = openpyxl.Workbook()
    hidden = wb.active
    hidden.title = "Old"
    _sheet(hidden, [REF.split(","), ["R99", "C99", "01/01/2025", "10:00", "GP"]])
    hidden.sheet_state = "hidden"
    _sheet(wb.create_sheet("Current"), [REF.split(","), ["R1", "C1", "03/03/2025", "10:00", "GP"]])
    _sheet(wb.create_sheet("Later"), [REF.split(","), ["R2", "C2", "03/03/2025", "10:00", "GP"]])
    path = tmp_path / "referrals.xlsx"
    wb.save(path)
    loaded(load, path)
    assert ids(engine) == {"R1"}


def test_a_profile_can_name_the_sheet(engine, load, tmp_path, monkeypatch) -> None:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "upshot.toml").write_text('sheet = "Referrals"\n', encoding="utf-8")
    monkeypatch.setenv("SIS_PROFILES", str(profiles))
    wb = openpyxl.Workbook()
    _sheet(wb.active, [["Summary of the quarter"], ["Referrals", 2]])
    wb.active.title = "Summary"
    _sheet(
        wb.create_sheet("Referrals"), [REF.split(","), ["R1", "C1", "03/03/2025", "10:00", "GP"]]
    )
    path = tmp_path / "report.xlsx"
    wb.save(path)
    (default,) = load(path)
    assert default.status == "refused"
    assert "no header" in default.message.lower()
    (profiles / "wrong.toml").write_text('sheet = "Missing"\n', encoding="utf-8")
    (wrong,) = load(path, profile="wrong")
    assert wrong.status == "refused"
    assert "Missing" in wrong.message and "Referrals" in wrong.message
    loaded(load, path, profile="upshot")
    assert ids(engine) == {"R1"}


# -- refusals --------------------------------------------------------------------------------------


def _pdf(folder: Path) -> Path:
    path = folder / "referrals.pdf"
    path.write_bytes(b"%PDF-1.4\n" + b"R1,C1,Jane Smith\n")
    return path


def _undecodable(folder: Path) -> Path:
    path = folder / "referrals.csv"
    path.write_bytes((REF + "\nR1,C1,03/03/2025,10:00,GP").encode() + b"\x81\x8d\x9d\n")
    return path


def _binary(folder: Path) -> Path:
    path = folder / "referrals.csv"
    path.write_bytes((REF + "\n").encode() + b"R1\x00\x00\x01\x02,C1\n")
    return path


def _no_header(folder: Path) -> Path:
    return csv_file(
        folder,
        "people.csv",
        "Client list",
        "Jane Smith,4010232137,BS1 4DJ,07700900123",
        "John Doe,9434765919,BS5 9XY,07700900456",
    )


def _missing_column(folder: Path) -> Path:
    return csv_file(
        folder,
        "contacts.csv",
        "Contact ID,Referral ID,Type,Date of Contact,Outcome",
        "A1,R1,First contact,03/03/2025 11:00,Attended",
    )


def _header_only(folder: Path) -> Path:
    return csv_file(folder, "referrals.csv", REF)


def _only_footer(folder: Path) -> Path:
    return csv_file(
        folder, "referrals.csv", "Run by Sam on 14/06/2025 09:12", REF, ",,,,", "Total,0"
    )


def _xlsx_header_only(folder: Path) -> Path:
    wb = openpyxl.Workbook()
    _sheet(wb.active, [REF.split(","), [], ["Grand total", 0]])
    path = folder / "referrals.xlsx"
    wb.save(path)
    return path


def _password(folder: Path) -> Path:
    path = folder / "referrals.xlsx"
    path.write_bytes(OLE_MAGIC + b"\xa1\xb1\x1a\xe1" + bytes(504))
    return path


def _corrupt(folder: Path) -> Path:
    wb = openpyxl.Workbook()
    _sheet(wb.active, [REF.split(","), ["R5", "C5", "03/03/2025", "10:00", "GP"]])
    path = folder / "referrals.xlsx"
    wb.save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


REFUSALS = [
    (_pdf, ["not a CSV or Excel"]),
    (_undecodable, ["could not be decoded"]),
    (_binary, ["binary"]),
    (_no_header, ["No header row"]),
    (_missing_column, ["contacts", "missing: method", "Contact ID", "Date of Contact", "Outcome"]),
    (_header_only, ["no data rows"]),
    (_only_footer, ["no data rows"]),
    (_xlsx_header_only, ["no data rows"]),
    (_password, ["password"]),
    (_corrupt, ["damaged"]),
]


@pytest.mark.parametrize(("make", "words"), REFUSALS, ids=[m.__name__[1:] for m, _ in REFUSALS])
def test_a_refused_file_leaves_the_warehouse_unchanged(engine, load, tmp_path, make, words) -> None:
    good = tmp_path / "good"
    good.mkdir()
    loaded(
        load, csv_file(good, "referrals.csv", REF + ",NHS Number", "R1,C1,03/03/2025,10:00,GP,x")
    )
    loaded(
        load,
        csv_file(good, "contacts.csv", CON, "A1,R9,First contact,03/03/2025 11:00,Phone,Maybe,Sam"),
    )
    before = snapshot(engine)
    assert before["referral"] and before["quarantine"] and before["load_warning"]
    bad = tmp_path / "bad"
    bad.mkdir()
    (report,) = load(make(bad))
    assert report.status == "refused"
    for word in words:
        assert word.lower() in report.message.lower(), report.message
    for value in ("Jane", "Smith", "4010232137", "9434765919", "BS1 4DJ", "07700", "R5"):
        assert value not in report.message
    assert (report.read, report.inserted, report.updated, report.unchanged, report.quarantined) == (
        0,
        0,
        0,
        0,
        0,
    )
    assert snapshot(engine) == before
    files = table_rows(engine, "etl_file", order="file_id")
    assert [f["status"] for f in files] == ["loaded", "loaded", "refused"]
    assert files[-1]["message"] == report.message
    assert table_rows(engine, "etl_run", order="run_id")[-1]["status"] == "failed"


def test_a_missing_file_is_refused(engine, load, tmp_path) -> None:
    (report,) = load(tmp_path / "nowhere.csv")
    assert report.status == "refused"
    assert "There is no file" in report.message


def test_the_same_file_again_is_skipped(engine, load, tmp_path) -> None:
    path = csv_file(tmp_path, "referrals.csv", REF, "R1,C1,03/03/2025,10:00,GP")
    loaded(load, path)
    before = snapshot(engine)
    copy = tmp_path / "referrals_copy.csv"
    shutil.copy(path, copy)
    for again in (path, copy):
        (report,) = load(again, exported_at=dt.datetime(2025, 7, 1))
        assert report.status == "skipped"
        assert "loaded before" in report.message
        assert report.inserted == report.read == 0
    assert snapshot(engine) == before
    assert [f["status"] for f in table_rows(engine, "etl_file", order="file_id")] == [
        "loaded",
        "skipped",
        "skipped",
    ]
    # A refused file is not "already loaded": it is refused again, not skipped.
    empty = csv_file(tmp_path, "empty.csv", REF)
    assert [load(empty)[0].status for _ in range(2)] == ["refused", "refused"]


def test_a_crash_part_way_leaves_nothing_behind(engine, load, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SIS_CHUNK_ROWS", "1000")
    loaded(load, csv_file(tmp_path, "first.csv", REF, "R1,C1,03/03/2025,10:00,GP"))
    before = snapshot(engine)
    rows = [f"X{i},C{i},03/03/2025,10:00,{'GP' if i % 7 else 'Pigeon'}" for i in range(2500)]
    rows[1500] = "R1,C1,03/03/2025,10:00,IAPT"  # would update R1
    big = csv_file(tmp_path, "big.csv", REF + ",NHS Number", *(r + ",123" for r in rows))
    seen: list[int] = []

    def crash(rows_read: int) -> None:
        seen.append(rows_read)
        if rows_read >= 2000:
            raise RuntimeError("disk full")

    monkeypatch.setattr(etl.load, "on_rows_staged", crash)
    (report,) = load(big)
    assert seen == [1000, 2000]  # several chunks were staged before the crash
    assert report.status == "refused"
    assert "nothing from this file was kept" in report.message
    assert snapshot(engine) == before
    files = table_rows(engine, "etl_file", order="file_id")
    assert [(f["file_name"], f["status"]) for f in files] == [
        ("first.csv", "loaded"),
        ("big.csv", "refused"),
    ]
    # Nothing was left half-done: the same file loads completely once the fault is gone.
    monkeypatch.setattr(etl.load, "on_rows_staged", None)
    report = loaded(load, big)
    assert (report.read, report.inserted, report.updated, report.quarantined) == (
        2500,
        2141,
        1,
        358,
    )
    assert report.warning_reasons == {"nhs_number_dropped": 2500}


# -- the inbox -------------------------------------------------------------------------------------


def test_the_inbox_moves_files_to_archive_and_failed_and_deletes_nothing(
    engine, tmp_path, monkeypatch
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    monkeypatch.setenv("SIS_INBOX", str(inbox))
    good = csv_file(inbox, "referrals.csv", REF, "R1,C1,03/03/2025,10:00,GP")
    copy = inbox / "referrals_again.csv"
    shutil.copy(good, copy)
    pdf = _pdf(inbox)
    empty = csv_file(inbox, "contacts.csv", CON)
    for age, path in enumerate([good, copy, pdf, empty]):  # oldest first
        os.utime(path, (1_700_000_000 + age, 1_700_000_000 + age))
    contents = {p.name: p.read_bytes() for p in inbox.iterdir()}

    reports = runner.run(engine, exported_at=EXPORTED)
    assert [(r.path, r.status) for r in reports] == [
        ("referrals.csv", "loaded"),
        ("referrals_again.csv", "skipped"),
        ("referrals.pdf", "refused"),
        ("contacts.csv", "refused"),
    ]
    assert [p.name for p in inbox.iterdir() if p.is_file()] == []
    archive, failed = inbox / "archive", inbox / "failed"
    assert sorted(p.name for p in archive.iterdir()) == ["referrals.csv", "referrals_again.csv"]
    assert sorted(p.name for p in failed.iterdir()) == [
        "contacts.csv",
        "contacts.csv.report.txt",
        "referrals.pdf",
        "referrals.pdf.report.txt",
    ]
    for name, data in contents.items():
        folder = failed if (failed / name).exists() else archive
        assert (folder / name).read_bytes() == data
    note = (failed / "referrals.pdf.report.txt").read_text(encoding="utf-8")
    assert "referrals.pdf was not loaded" in note and reports[2].message in note
    assert ids(engine) == {"R1"}

    # A later file with an archived file's name is archived beside it, not over it.
    csv_file(inbox, "referrals.csv", REF, "R2,C2,04/03/2025,10:00,GP")
    reports = runner.run(engine, exported_at=EXPORTED)
    assert [r.status for r in reports] == ["loaded"]
    assert sorted(p.name for p in archive.iterdir()) == [
        "referrals.1.csv",
        "referrals.csv",
        "referrals_again.csv",
    ]
    assert (archive / "referrals.csv").read_bytes() == contents["referrals.csv"]
    assert runner.run(engine) == []


# -- the command line ------------------------------------------------------------------------------


@pytest.fixture
def sis(engine, monkeypatch):  # noqa: ANN001, ANN201
    """sis(*args) -> click Result, against the test warehouse."""
    monkeypatch.setattr(cli, "_engine", lambda: engine)
    cli_runner = CliRunner()
    return lambda *args: cli_runner.invoke(cli.main, [str(a) for a in args])


JSON_KEYS = {
    "path",
    "entity",
    "status",
    "read",
    "inserted",
    "updated",
    "unchanged",
    "quarantined",
    "quarantine_reasons",
    "warnings",
    "orphans",
    "exported_at",
    "message",
}


def test_cli_json_report_and_exit_status(engine, sis, tmp_path) -> None:
    refs = csv_file(
        tmp_path,
        "referrals.csv",
        REF + ",NHS Number",
        "R1,C1,03/03/2025,10:00,GP,4010232138",
        "R2,C2,31/02/2025,10:00,GP,",
    )
    cons = csv_file(
        tmp_path, "contacts.csv", CON, "A1,R7,First contact,03/03/2025 11:00,Phone,Attended,Sam"
    )
    result = sis("etl", "run", refs, cons, "--json", "--exported-at", "2025-06-15T17:05")
    assert result.exit_code == 0, result.output
    files = json.loads(result.stdout)["files"]
    assert [set(f) >= JSON_KEYS for f in files] == [True, True]
    r, c = files
    assert {k: r[k] for k in JSON_KEYS} == {
        "path": "referrals.csv",
        "entity": "referrals",
        "status": "loaded",
        "read": 2,
        "inserted": 1,
        "updated": 0,
        "unchanged": 0,
        "quarantined": 1,
        "quarantine_reasons": {"invalid_datetime": 1},
        "warnings": 1,
        "orphans": 0,
        "exported_at": "2025-06-15T17:05+01:00",
        "message": None,
    }
    assert (c["entity"], c["orphans"], c["inserted"]) == ("contacts", 1, 1)

    bad = csv_file(tmp_path, "empty.csv", REF)
    result = sis("etl", "run", refs, bad, "--json")
    assert result.exit_code == 1
    files = json.loads(result.stdout)["files"]
    assert [f["status"] for f in files] == ["skipped", "refused"]
    assert "no data rows" in files[1]["message"]

    other = csv_file(tmp_path, "referrals_2025-06-14_0915.csv", REF, "R3,C3,03/03/2025,,GP")
    result = sis("etl", "run", other)
    assert result.exit_code == 0
    assert "read 1: inserted 1" in result.stdout and "(adds up)" in result.stdout
    assert "export time 2025-06-14T09:15+01:00 (from the file name)" in result.stdout

    result = sis("etl", "run", bad)  # the human report says it plainly too
    assert result.exit_code == 1
    assert "empty.csv: refused" in result.stdout and "no data rows" in result.stdout


def test_cli_refuses_to_run_without_a_pseudonym_key(engine, sis, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("SIS_PSEUDONYM_KEY")
    refs = csv_file(tmp_path, "referrals.csv", REF, "R1,C1,03/03/2025,10:00,GP")
    result = sis("etl", "run", refs, "--json")
    assert result.exit_code == 2
    assert "SIS_PSEUDONYM_KEY" in result.stderr
    assert "secrets.token_hex(32)" in result.stderr
    assert table_rows(engine, "referral") == [] and table_rows(engine, "etl_file") == []
    monkeypatch.setenv("SIS_ENV", "demo")  # demo mode runs with its public key
    result = sis("etl", "run", refs, "--json", "--exported-at", "2025-06-15T17:05")
    assert result.exit_code == 0, result.output
    assert ids(engine) == {"R1"}


def test_cli_unknown_profile_is_a_configuration_error(engine, sis, tmp_path) -> None:
    refs = csv_file(tmp_path, "referrals.csv", REF, "R1,C1,03/03/2025,10:00,GP")
    result = sis("etl", "run", refs, "--profile", "nosuch")
    assert result.exit_code == 2
    assert "nosuch" in result.stderr
    assert table_rows(engine, "referral") == []


# -- custom profiles -------------------------------------------------------------------------------


def test_a_custom_profile_adds_header_aliases_and_labels(
    engine, load, tmp_path, monkeypatch
) -> None:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "lamplight.toml").write_text(
        '[contacts.columns]\nmethod = ["Channel"]\n\n'
        '[labels.method]\nvideo = ["Jitsi"]\n\n'
        '[labels.outcome]\nattended = ["Came along"]\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("SIS_PROFILES", str(profiles))
    path = csv_file(
        tmp_path,
        "contacts.csv",
        "Contact ID,Referral ID,Type,Date of Contact,Channel,Outcome",
        "A1,R1,First contact,03/03/2025 11:00,Jitsi,Came along",
        "A2,R1,First contact,03/03/2025 12:00,Phone,DNA",
    )
    (default,) = load(path)
    assert default.status == "refused"
    assert "method" in default.message and "Channel" in default.message
    report = loaded(load, path, profile="lamplight")
    assert (report.read, report.inserted, report.quarantined) == (2, 2, 0)
    got = {c["contact_id"]: (c["method"], c["outcome"]) for c in table_rows(engine, "contact")}
    assert got == {"A1": ("video", "attended"), "A2": ("telephone", "dna")}


@pytest.mark.parametrize(
    ("toml", "words"),
    [
        (
            '[labels.outcome]\natended = ["Came along"]\n',
            ["'atended' is not one of the 'outcome' codes"],
        ),
        ('[labels.mood]\nhappy = ["Happy"]\n', ["no labels called 'mood'"]),
        ('[contacts.columns]\nchannel = ["Channel"]\n', ["contacts has no column 'channel'"]),
        ("sheet = [", ["not valid TOML"]),
    ],
)
def test_a_mistaken_profile_is_a_configuration_error(
    engine, sis, tmp_path, monkeypatch, toml, words
) -> None:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "mine.toml").write_text(toml, encoding="utf-8")
    monkeypatch.setenv("SIS_PROFILES", str(profiles))
    refs = csv_file(tmp_path, "referrals.csv", REF, "R1,C1,03/03/2025,10:00,GP")
    result = sis("etl", "run", refs, "--profile", "mine")
    assert result.exit_code == 2
    for word in words:
        assert word in result.stderr
    assert table_rows(engine, "referral") == [] and table_rows(engine, "etl_file") == []
