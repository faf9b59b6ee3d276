"""The demo-data simulator: deterministic, the documented shapes, counts and mess."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import time
import zipfile
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from etl import demo
from etl.demo import write_demo_exports

N = 400
STAMP = re.compile(r"_(\d{4}-\d{2}-\d{2})_(\d{2})(\d{2})\.")
FOOTER = ("Total",)


def _nhs_ok(digits: str) -> bool:
    check = 11 - sum(int(c) * (10 - i) for i, c in enumerate(digits[:9])) % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def _norm(value: object) -> str:
    text = "" if value is None else str(value)
    return text[:-2] if re.fullmatch(r"\d+\.0", text) else text


def _csv_rows(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    if raw.startswith(b"\xff\xfe"):
        text = raw[2:].decode("utf-16-le")
    elif raw.startswith(b"\xef\xbb\xbf"):
        text = raw[3:].decode("utf-8")
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("cp1252")
    header = next(line for line in text.splitlines() if "ID" in line)
    delim = next((d for d in ";\t" if d in header), ",")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delim))


def _date(text: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(text, "%d/%m/%Y").date()
    except ValueError:
        return None


def _rows(path: Path) -> list[list[str]]:
    if path.suffix == ".xlsx":
        ws = openpyxl.load_workbook(path, read_only=True).active
        return [["" if v is None else v for v in r] for r in ws.iter_rows(values_only=True)]
    return _csv_rows(path)


def _table(path: Path, header0: str) -> tuple[list, list[list]]:
    """(preamble rows, data rows) without blank, repeated-header and footer rows."""
    rows = _rows(path)
    at = next(k for k, r in enumerate(rows) if r and r[0] == header0)
    data = [r for r in rows[at + 1 :] if any(str(c) for c in r) and r[0] not in (header0, *FOOTER)]
    return rows[:at], [rows[at], *data]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_demo_exports(tmp_path_factory.mktemp("mixed"), referrals=N, seed=3)


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_demo_exports(tmp_path_factory.mktemp("csv"), referrals=3000, shapes="csv")


def test_files_and_load_order(mixed: list[Path], plain: list[Path]) -> None:
    assert [p.name for p in mixed] == [
        "referrals_2026-10-24_1730.csv",
        "contacts_2026-10-31_1700.xlsx",
        "feedback_2026-10-31_1705.csv",
        "outcomes_2026-10-31_1710.csv",
        "referrals_2026-10-31_1730.csv",
    ]
    stamps = [STAMP.search(p.name).groups() for p in mixed]
    assert stamps == sorted(stamps)  # oldest export first
    assert [p.name.split("_")[0] for p in plain] == [
        "referrals",
        "contacts",
        "feedback",
        "outcomes",
    ]
    for paths in (mixed, plain):  # an inbox sorted by (mtime, name) loads them in this order
        folder = paths[0].parent
        assert sorted(folder.iterdir(), key=lambda f: (f.stat().st_mtime, f.name)) == paths
    london = dt.datetime(2026, 10, 31, 17, 30, tzinfo=ZoneInfo("Europe/London"))
    assert mixed[-1].stat().st_mtime == london.timestamp() + 4


@pytest.mark.parametrize("shapes", ["mixed", "csv"])
def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path, shapes: str) -> None:
    a = write_demo_exports(tmp_path / "a", referrals=200, seed=5, shapes=shapes)
    b = write_demo_exports(tmp_path / "b", referrals=200, seed=5, shapes=shapes)
    c = write_demo_exports(tmp_path / "c", referrals=200, seed=6, shapes=shapes)
    assert [p.name for p in a] == [p.name for p in b]
    assert all(x.read_bytes() == y.read_bytes() for x, y in zip(a, b, strict=True))
    assert all(x.read_bytes() != z.read_bytes() for x, z in zip(a, c, strict=False))


def test_encodings_and_delimiters(mixed: list[Path], plain: list[Path]) -> None:
    ref_a, contacts, feedback, outcomes, ref_b = mixed
    for p in (ref_a, ref_b, *plain):
        raw = p.read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf") and b"\r\n" not in raw
        raw.decode("utf-8")
    with zipfile.ZipFile(contacts) as z:
        assert z.testzip() is None
    raw = feedback.read_bytes()
    raw.decode("cp1252")
    assert raw.count(b"\r\n") == raw.count(b"\n") and b";" in raw
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # the pound signs and curly quotes are cp1252 bytes
    raw = outcomes.read_bytes()
    assert raw.startswith(b"\xff\xfe")
    assert "\t" in raw[2:].decode("utf-16-le")


def test_headers_and_preamble(mixed: list[Path], plain: list[Path]) -> None:
    expected = [demo.REF_HEAD, demo.CON_HEAD, demo.FB_HEAD, demo.OUT_HEAD, demo.REF_HEAD]
    for path, head in zip(mixed, expected, strict=True):
        pre, table = _table(path, head[0])
        assert table[0] == head
        assert pre[0][0].endswith("report 01/11/2024 - " + pre[1][0][-16:-6])
        day, hh, mm = STAMP.search(path.name).groups()
        y, m, d = day.split("-")
        assert pre[1][0] == f"Run by Demo Admin on {d}/{m}/{y} {hh}:{mm}"
    assert demo.REF_HEAD[:3] == ["Referral ID", "Client ID", "Client Name"]
    assert "Notes" in demo.CON_HEAD and "Comments" in demo.FB_HEAD
    heads = [_rows(p)[0] for p in plain]
    assert heads[0] == [h if h != "Date of Birth" else "Age" for h in demo.REF_HEAD]
    assert heads[1:] == [demo.CON_HEAD[:-1], demo.FB_HEAD, demo.OUT_HEAD]


def test_referral_counts_mixed(mixed: list[Path]) -> None:
    a = _table(mixed[0], "Referral ID")[1][1:]
    b = _table(mixed[-1], "Referral ID")[1][1:]
    ids_a = {r[0] for r in a}
    ids_b = [r[0] for r in b]
    duplicates = len(a) - len(ids_a)
    assert 1 <= duplicates <= 5
    assert len({tuple(r) for r in a}) == len(ids_a)  # the duplicates are identical rows
    assert len(ids_b) == len(set(ids_b))
    updates = ids_a & set(ids_b)
    assert updates and len(ids_a | set(ids_b)) == N
    assert len(a) + len(b) == N + duplicates + len(updates)
    by_id = {r[0]: r for r in a}
    status, closed = demo.REF_HEAD.index("Status"), demo.REF_HEAD.index("Date Closed")
    for r in b:
        if r[0] in updates:  # re-exported because the status or discharge changed
            assert (r[status], r[closed]) != (by_id[r[0]][status], by_id[r[0]][closed])
            assert by_id[r[0]][status] in ("Open", "Active")


def test_referral_counts_csv(plain: list[Path]) -> None:
    rows = _rows(plain[0])[1:]
    ids = {r[0] for r in rows}
    assert len(ids) == 3000
    assert len({tuple(r) for r in rows}) == 3000  # extra rows are identical duplicates
    assert 1 <= len(rows) - 3000 <= 25


def test_nhs_numbers_pass_modulus_11_at_expected_rate(plain: list[Path]) -> None:
    rows = _rows(plain[0])[1:]
    col = demo.REF_HEAD.index("NHS Number")
    numbers = [r[col].replace(" ", "") for r in rows]
    digits = [x for x in numbers if re.fullmatch(r"\d{10}", x)]
    assert 0.8 < len(digits) / len(rows) < 0.95
    failing = sum(not _nhs_ok(x) for x in digits) / len(digits)
    assert 0.002 < failing < 0.025
    assert any(re.fullmatch(r"\d{3} \d{3} \d{4}", x) for x in (r[col] for r in rows))


def test_contacts_reference_known_referrals_except_orphans(mixed: list[Path]) -> None:
    older = {r[0] for r in _table(mixed[0], "Referral ID")[1][1:]}
    newer = {r[0] for r in _table(mixed[-1], "Referral ID")[1][1:]}
    contacts = _table(mixed[1], "Contact ID")[1][1:]
    refs = [_norm(r[1]) for r in contacts]
    assert set(refs) <= older | newer
    orphans = [x for x in refs if x not in older]  # their referral arrives in the newer export
    assert 0 < len(orphans) < 0.03 * len(refs)
    assert set(orphans) <= newer


def test_csv_contacts_reference_referrals(plain: list[Path]) -> None:
    ids = {r[0] for r in _rows(plain[0])[1:]}
    contacts = _rows(plain[1])[1:]
    assert 3 * 3000 < len(contacts) < 7 * 3000
    assert {_norm(r[1]) for r in contacts} <= ids


def test_mixed_shape_writes_xlsx_with_real_dates(mixed: list[Path]) -> None:
    rows = _rows(mixed[1])
    assert not any(rows[2])  # a blank row between the title rows and the header
    assert rows[-1][:2] == ["Total", sum(1 for r in rows[4:-1] if r[0] != "Contact ID")]
    head, *data = _table(mixed[1], "Contact ID")[1]
    occurred = [r[head.index("Date of Contact")] for r in data]
    assert sum(isinstance(v, dt.datetime) for v in occurred) > 0.8 * len(data)
    assert any(isinstance(v, str) and re.fullmatch(r"3[01]/\d\d/\d{4}", v) for v in occurred)
    assert (
        sum(bool(r) and r[0] == "Contact ID" for r in rows) == 2
    )  # one repeated header (page break)


def test_mixed_contacts_spill_to_csv_when_large(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo, "XLSX_MAX", 300)
    paths = write_demo_exports(tmp_path, referrals=150)
    contacts = paths[1]
    assert contacts.suffix == ".csv" and contacts.read_bytes().startswith(b"\xef\xbb\xbf")
    rows = _csv_rows(contacts)
    assert rows[3] == demo.CON_HEAD and rows[-1][0] == "Total"
    assert int(rows[-1][1]) == len(_table(contacts, "Contact ID")[1]) - 1 > 300


def test_mess_is_present(mixed: list[Path]) -> None:
    raw = mixed[0].read_text("utf-8")
    assert raw.count("Referral ID,Client ID") == 2 and "\n\n" in raw and "\n,,,," in raw
    assert raw.rstrip().splitlines()[-1].startswith("Total,")
    ref = _table(mixed[0], "Referral ID")[1]
    assert any(re.match(r"3[01]/(02|04|06|09|11)/", r[4]) for r in ref[1:])
    assert any(r[1].endswith(".0") for r in ref[1:])
    assert sum(r[ref[0].index("Referral Time")] == "" for r in ref[1:]) > 0.02 * len(ref)
    head, *con = _table(mixed[1], "Contact ID")[1]
    out, dur = head.index("Outcome"), head.index("Duration")
    assert any(r[out] == "Maybe" for r in con)
    assert any(isinstance(r[1], str) and r[1].endswith(".0") for r in con)
    durations = [re.match(r"\d+", str(r[dur])) for r in con]
    assert any(m and int(m.group()) > 600 for m in durations)  # out of range
    by_id: dict[object, list] = {}
    for r in con:
        by_id.setdefault(r[0], []).append(tuple(r))
    repeats = [v for v in by_id.values() if len(v) > 1]
    assert any(len(set(v)) == 1 for v in repeats)  # identical duplicate
    assert any(len({x[out] for x in v}) > 1 for v in repeats)  # conflicting duplicate
    assert {"90", "90 mins", "1:30", "1.5 hrs"} <= {str(r[dur]) for r in con}
    fb = _table(mixed[2], "Response ID")[1][1:]
    assert any(r[1] == "" for r in fb) and any(r[3] == "Excellent" for r in fb)


def test_contact_before_its_referral(mixed: list[Path]) -> None:
    ref = {r[0]: _date(r[4]) for p in (mixed[0], mixed[-1]) for r in _table(p, "Referral ID")[1]}
    head, *con = _table(mixed[1], "Contact ID")[1]
    early = 0
    for r in con:
        when, received = r[head.index("Date of Contact")], ref.get(_norm(r[1]))
        if isinstance(when, dt.datetime) and received:
            early += when.date() < received - dt.timedelta(days=1)
    assert early >= 1


def test_window_and_end(tmp_path: Path) -> None:
    paths = write_demo_exports(tmp_path, referrals=120, months=3, end=dt.date(2025, 6, 30))
    assert paths[-1].name == "referrals_2025-06-30_1730.csv"
    cut = dt.date.fromisoformat(STAMP.search(paths[0].name).group(1))
    pre, table = _table(paths[0], "Referral ID")
    assert pre[0] == [f"Referrals report 01/04/2025 - {cut:%d/%m/%Y}"]
    dates = [d for r in table[1:] if (d := _date(r[4]))]
    assert min(dates) >= dt.date(2025, 4, 1) and max(dates) <= cut
    with pytest.raises(ValueError):
        write_demo_exports(tmp_path, referrals=10, shapes="parquet")


def test_csv_shape_of_20000_referrals_is_fast(tmp_path: Path) -> None:
    start = time.perf_counter()
    paths = write_demo_exports(tmp_path, referrals=20_000, shapes="csv")
    assert time.perf_counter() - start < 10
    with paths[0].open(encoding="utf-8") as fh:
        assert 20_000 < sum(1 for _ in fh) - 1 < 20_200
