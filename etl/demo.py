"""Demo data: a seeded simulator of the service writing realistic, messy case-system exports.

``write_demo_exports`` simulates referrals (with contacts, feedback and CORE-10 outcomes, see
``etl.demo_sim``) and writes them the way a case-management system exports them:

- ``shapes="mixed"``: referrals as UTF-8 CSV in two exports (an older one covering almost all
  referrals, and a newer one with the last week's referrals plus re-exported referrals whose
  status or discharge changed since); contacts as .xlsx (real date cells, title rows, a blank
  row, a repeated header, a ``Total`` footer, ``Notes``) up to 20,000 rows, else as UTF-8-with-BOM
  ``;`` CSV; feedback as Windows-1252 ``;`` CSV with CRLF; outcomes as UTF-16 tab-separated.
  Each file has a title row and a ``Run by ... on <date time>`` row above the header.
- ``shapes="csv"``: plain UTF-8 comma CSV with a single header row, streamed in chunks of
  100,000 referrals (bounded memory), for benchmarks.

Both shapes carry row-level mess at low rates (invalid dates, unknown labels, out-of-range
durations, identical and conflicting duplicates, a contact before its referral, Excel-style ids,
NHS numbers failing modulus 11). Same arguments, same bytes; nothing depends on the wall clock.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import zipfile
from collections.abc import Callable, Sequence
from itertools import islice
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from etl import demo_sim as sim
from etl.demo_sim import DAY, NA

CHUNK = 100_000  # referrals simulated at a time
SLICE = 100_000  # rows formatted at a time
XLSX_MAX = 20_000  # contacts above this go to CSV
DEFAULT_END = dt.date(2026, 10, 31)
LONDON = ZoneInfo("Europe/London")
STAMP = re.compile(r"_(\d{4}-\d{2}-\d{2}_\d{4})\.")  # export time in a file name
REF_HEAD = [
    *("Referral ID", "Client ID", "Client Name", "NHS Number", "Referral Date", "Referral Time"),
    *("Source", "Date of Birth", "Gender", "Ethnicity", "Postcode", "Status", "Date Closed"),
    "Closure Reason",
]
CON_HEAD = [
    *("Contact ID", "Referral ID", "Contact Type", "Appointment Date", "Appointment Time"),
    *("Date of Contact", "Duration", "Method", "Outcome", "Worker", "Notes"),
]
FB_HEAD = ["Response ID", "Referral ID", "Response Date", "Overall Experience", "Comments"]
OUT_HEAD = ["Referral ID", "Measure", "Date", *(f"Q{k}" for k in range(1, 11)), "Total"]


def _tab(spec: str) -> np.ndarray:
    """Label table from ``"main|variant; ..."``, one entry per code (a lone label is its own
    variant); a trailing blank row serves code -1."""
    rows = [(r.split("|") * 2)[:2] for r in spec.split("; ")]
    return np.array([*rows, ("", "")], dtype=object)


def _arr(spec: str, sep: str = " ") -> np.ndarray:
    return np.array(spec.split(sep), dtype=object)


SOURCE_L = _tab(
    "Self-referral|Self; GP|General Practice; IAPT|NHS Talking Therapies; Urgent Care|UTC; "
    "A&E|Emergency Department; Charity|VCSE; Other"
)
GENDER_L = _tab("Female|F; Male|M; Non-binary; Other; Prefer not to say|Not stated; |Unknown")
ETHNIC_L = _tab(
    "White British|A; White Irish|B; Any other White background|C; White and Black Caribbean|D; "
    "White and Black African|E; White and Asian|F; Any other mixed background|G; Indian|H; "
    "Pakistani|J; Bangladeshi|K; Any other Asian background|L; Caribbean|M; African|N; "
    "Any other Black background|P; Chinese|R; Any other ethnic group|S; Prefer not to say|Z; "
    "Not known|99"
)
STATUS_L = _tab("Open|Active; Closed|Discharged; Declined|Not accepted; Withdrawn; Duplicate")
REASON_L = _tab(
    "Completed|Planned ending; Client ended|Disengaged; No contact|Unable to contact; "
    "Referred on|Signposted; Other|Moved away"
)
TYPE_L = _tab(
    "Attempt|Contact attempt; First contact; Assessment; Peer session|1:1; Group session|Group"
)
OUTCOME_L = _tab(
    "Attended|Seen; Late seen|Late but seen; DNA|Did not attend; Client cancelled|Cancelled by "
    "client; Cancelled by us|Service cancelled; No answer; Voicemail|Message left; Future|Booked; "
    "Maybe"
)
MAYBE = 8  # an outcome label no profile knows
METHOD_L = _tab("Face to face|F2F; Phone|Telephone; Video|Zoom; Text|SMS")
FFT_L = _tab(
    "Very good|1; Good|2; Neither good nor poor|3; Poor|4; Very poor|5; Don't know|6; Excellent"
)
EXCELLENT = 6  # an FFT label no profile knows
WORKERS = np.array([f"Peer {c}" for c in "ABCDEFGH"], dtype=object)
_FIRST = _arr(
    "Alex Sam Jo Kim Lee Max Ash Robin Sky Charlie Jamie Morgan Taylor Jordan Casey Riley Avery "
    "Quinn Rowan Ellis Frankie Harper Jesse Logan Reese Sasha Toni Dani Billie Remy Nico Kai Ari "
    "Elliot Hayden Marley Emery Kit Lou Sage"
)
_LAST = _arr(
    "Example Sample Test Dummy Fake Mock Placeholder Nobody Invented Madeup Fictional Pretend "
    "Specimen Trial Demo Model Proxy Standin Stub Token Blank Generic Notreal Synth Imagined "
    "Unreal Lorem Ipsum Dolor Foo Bar Baz Qux Widget Gadget Thing Other Someone Anyone Whoever"
)
NAMES = np.array([f"{a} {b}" for a in _FIRST for b in _LAST], dtype=object)  # 40 x 40
_LET = "ABDEFGHJLNPQRSTUWXYZ"
INWARD = np.array([f"{d}{a}{b}" for d in range(10) for a in _LET for b in _LET], dtype=object)
DISTRICTS = np.array(sim.DISTRICTS, dtype=object)
COMMENTS = _arr(
    "; ; Felt listened to – thank you; Quick call back; Waited too long; £5 bus fare was a "
    "barrier; The peer worker really understood; Sessions felt too short; Café venue was noisy; "
    "Would recommend; Couldn’t get through on the phone; Helped more than I expected",
    "; ",
)
NOTES = _arr(
    "; ; ; ; called back, all fine; text sent with times; left message; running late; safety plan "
    "reviewed; signposted to GP; spoke to mum; rearranged by phone",
    "; ",
)
BAD_DAYS = _arr("31/02/ 30/02/ 31/04/ 31/06/ 31/09/ 31/11/")  # + year: dates that do not exist
DUR = np.array(  # duration text by minutes and style: 90, 90 mins, 1:30, 1.5 hrs
    [
        [
            str(v),
            f"{v} mins",
            f"{v // 60}:{v % 60:02d}",
            f"{v / 60:g} hrs" if v % 30 == 0 and v != 60 else f"{v} mins",
        ]
        for v in range(1441)
    ],
    dtype=object,
)
MIXED_CSV = {  # encoding, delimiter, line end of the mixed shape's CSV exports
    "contacts": ("utf-8-sig", ";", "\r\n"),
    "feedback": ("cp1252", ";", "\r\n"),
    "outcomes": ("utf-16-le", "\t", "\r\n"),
}
Breaks = Sequence[tuple[int, list]]  # (row position, extra row): page-break headers, blank rows
ITEM = np.array([*"01234", ""], dtype=object)  # CORE-10 item text; 5 = blank


class _Fmt:
    """Vectorised day/minute -> UK text through lookup tables."""

    base = -40_000  # days before the window start covered by the date table

    def __init__(self, plan: sim.Plan) -> None:
        self.start = dt.datetime.combine(plan.start, dt.time())
        days = np.datetime64(plan.start) + np.arange(self.base, plan.days + 2000)
        ymd = days.astype(object)
        self.date = np.array([f"{d.day:02d}/{d.month:02d}/{d.year}" for d in ymd], dtype=object)
        self.time = np.array([f"{m // 60:02d}:{m % 60:02d}" for m in range(DAY)], dtype=object)

    def d(self, days: np.ndarray) -> np.ndarray:
        na = days == NA
        out = self.date[np.where(na, 0, days - self.base)]
        out[na] = ""
        return out

    def t(self, minutes: np.ndarray, blank: np.ndarray | None = None) -> np.ndarray:
        na = minutes == NA if blank is None else blank | (minutes == NA)
        out = self.time[np.where(na, 0, minutes % DAY)]
        out[na] = ""
        return out

    def day(self, minutes: np.ndarray) -> np.ndarray:
        return self.d(np.where(minutes == NA, NA, minutes // DAY))

    def dt(self, minutes: np.ndarray) -> np.ndarray:
        out = self.day(minutes) + " " + self.t(minutes)
        out[minutes == NA] = ""
        return out

    def py(self, minutes: int) -> dt.datetime:
        return self.start + dt.timedelta(minutes=int(minutes))


def _bad_date(text: np.ndarray, flag: np.ndarray) -> np.ndarray:
    """Replace flagged dates by an impossible one in the same year (``31/02/2025``)."""
    rows = np.flatnonzero(flag >= 0)
    text[rows] = BAD_DAYS[flag[rows]] + np.array([s[6:10] for s in text[rows]], dtype=object)
    return text


def _xls(ids: np.ndarray, flag: np.ndarray) -> np.ndarray:
    out = ids.astype(str).astype(object)
    out[flag] = out[flag] + ".0"
    return out


def _choose(rng: np.random.Generator, mask: np.ndarray, rate: float) -> np.ndarray:
    """Rows to spoil: about ``rate`` of the eligible ones; at least one of 50 or more."""
    cand = np.flatnonzero(mask)
    k = int(rng.binomial(cand.size, rate))
    k = max(k, 1) if cand.size >= 50 else k
    return np.sort(rng.choice(cand, k, replace=False)) if k else cand[:0]


def _flags(rng: np.random.Generator, mask: np.ndarray, rate: float, values: int = 1) -> np.ndarray:
    out = np.full(mask.size, -1, np.int64)
    rows = _choose(rng, mask, rate)
    out[rows] = rng.integers(0, values, rows.size)
    return out


def _insert(t: dict, rows: np.ndarray, rng: np.random.Generator, **change: object) -> dict:
    """Copies of ``rows`` (with ``change``) placed a few rows after their originals."""
    n = len(next(iter(t.values())))
    extra = {k: v[rows].copy() for k, v in t.items()}
    for k, v in change.items():
        extra[k][:] = v
    key = np.concatenate([np.arange(n), rows + rng.integers(1, 30, rows.size) + 0.5])
    order = np.argsort(key, kind="stable")
    return {k: np.concatenate([t[k], extra[k]])[order] for k in t}


def _referrals(s: dict, rows: np.ndarray, state: tuple, rng: np.random.Generator | None) -> dict:
    keys = "idx client ref_t time_known source dob gender ethnicity district inward nhs name"
    t = {k: s[k][rows] for k in keys.split()}
    t["status"], t["close"], t["reason"] = (a[rows] for a in state)
    n = rows.size
    t["bad_date"], t["xls"], t["nhs_e"] = (np.full(n, -1, np.int64) for _ in range(3))
    if rng is not None and n:
        t["bad_date"] = _flags(rng, np.ones(n, bool), 0.002, BAD_DAYS.size)
        t["xls"] = _flags(rng, np.ones(n, bool), 0.01)
        t["nhs_e"] = _flags(rng, t["nhs"] >= 0, 0.002)
        t = _insert(t, _choose(rng, np.ones(n, bool), 0.003), rng)
    return t


def _referral_cols(t: dict, f: _Fmt, seed: int, age: bool) -> list[np.ndarray]:
    i = t["idx"]

    def h(stream: int, p: float) -> np.ndarray:  # per-referral variant, same in every export
        return sim.hash_u(seed, stream, i) < p

    nhs = t["nhs"].copy()
    bad = h(40, 0.01) & (nhs >= 0)
    check = nhs[bad] % 10  # a wrong check digit: fails modulus 11
    wrong = (check + 1 + (sim.hash_u(seed, 41, i[bad]) * 9).astype(np.int64)) % 10
    nhs[bad] += wrong - check
    nhs_s = nhs.astype(str).astype(object)
    sp = h(42, 0.1)
    nhs_s[sp] = [f"{x[:3]} {x[3:6]} {x[6:]}" for x in nhs_s[sp]]
    e = t["nhs_e"] >= 0
    nhs_s[e] = [f"{v / 1e9:.5f}E+09" for v in nhs[e]]
    nhs_s[nhs < 0] = ""
    day = t["ref_t"] // DAY
    if age:
        born = ((day - t["dob"]) / 365.25).astype(np.int64).astype(str).astype(object)
    else:
        born = f.d(t["dob"])
    born[h(44, 0.03)] = ""
    eth = ETHNIC_L[t["ethnicity"], h(46, 0.1).astype(int)]
    eth[h(47, 0.02)] = ""
    pc = DISTRICTS[t["district"]] + np.where(h(48, 0.08), "", " ") + INWARD[t["inward"]]
    low = h(49, 0.03)
    pc[low] = [x.lower() for x in pc[low]]
    pc[h(50, 0.04)] = ""
    return [
        (100_001 + i).astype(str),
        _xls(2_000_001 + t["client"], t["xls"] >= 0),
        NAMES[t["name"]],
        nhs_s,
        _bad_date(f.d(day), t["bad_date"]),
        f.t(t["ref_t"], ~t["time_known"]),
        SOURCE_L[t["source"], h(43, 0.15).astype(int)],
        born,
        GENDER_L[t["gender"], h(45, 0.15).astype(int)],
        eth,
        pc,
        STATUS_L[t["status"], h(51, 0.1).astype(int)],
        f.d(t["close"]),
        REASON_L[t["reason"], h(52, 0.25).astype(int)],
    ]


def _contacts(s: dict, at: int, first_id: int, rng: np.random.Generator) -> dict:
    t = sim.contacts_at(s, at)
    n = t["ref"].size
    t["cid"] = first_id + np.arange(n, dtype=np.int64)
    t["alt"] = rng.random(n) < 0.1
    t["fmt"] = np.where(t["typ"] >= sim.ASSESS, sim.pick(rng.random(n), (0.55, 0.2, 0.15, 0.1)), 0)
    t["note"] = rng.integers(0, NOTES.size, n)
    t["bad_date"] = _flags(rng, t["occ"] != NA, 0.001, BAD_DAYS.size)
    t["xls"] = _flags(rng, np.ones(n, bool), 0.01)
    t["outc"][_choose(rng, np.ones(n, bool), 0.002)] = MAYBE
    long = _choose(rng, t["dur"] > 0, 0.002)
    t["dur"][long] = rng.choice(np.array([650, 720, 900, 1200]), long.size)
    early = _choose(rng, t["typ"] == sim.FIRST, 0.005)
    t["occ"][early] = t["ref_t"][early] - 2 * DAY + rng.integers(0, 120, early.size)
    t = _insert(t, _choose(rng, np.ones(n, bool), 0.005), rng)
    conflict = _choose(rng, (t["outc"] == sim.ATTENDED) & (t["typ"] >= sim.ASSESS), 0.002)
    return _insert(t, conflict, rng, outc=sim.DNA, occ=NA, dur=-1)


def _contact_cols(t: dict, f: _Fmt, notes: bool) -> list[np.ndarray]:
    alt = t["alt"].astype(int)
    dur = DUR[np.maximum(t["dur"], 0), t["fmt"]]
    dur[t["dur"] < 0] = ""
    cols = [
        t["cid"].astype(str),
        _xls(100_001 + t["ref"], t["xls"] >= 0),
        TYPE_L[t["typ"], alt],
        f.day(t["sched"]),
        f.t(t["sched"]),
        _bad_date(f.dt(t["occ"]), t["bad_date"]),
        dur,
        METHOD_L[t["meth"], alt],
        OUTCOME_L[t["outc"], alt],
        WORKERS[t["worker"]],
    ]
    return [*cols, NOTES[t["note"]]] if notes else cols


def _feedback(s: dict, at: int, first_id: int, rng: np.random.Generator) -> dict:
    t = sim.feedback_at(s, at)
    n = t["ref"].size
    t["rid"] = first_id + np.arange(n)
    t["alt"] = rng.random(n) < 0.05
    t["comment"] = rng.integers(0, COMMENTS.size, n)
    t["bad_date"] = _flags(rng, np.ones(n, bool), 0.003, BAD_DAYS.size)
    t["fft"][_choose(rng, np.ones(n, bool), 0.005)] = EXCELLENT
    return _insert(t, _choose(rng, np.ones(n, bool), 0.003), rng) if n else t


def _feedback_cols(t: dict, f: _Fmt) -> list[np.ndarray]:
    ref = (100_001 + t["ref"]).astype(str).astype(object)
    ref[t["anon"]] = ""
    rid = np.array([f"FB{k:06d}" for k in t["rid"]], dtype=object)
    return [
        rid,
        ref,
        _bad_date(f.d(t["day"]), t["bad_date"]),
        FFT_L[t["fft"], t["alt"].astype(int)],
        COMMENTS[t["comment"]],
    ]


def _outcome_cols(s: dict, at: int, f: _Fmt, rng: np.random.Generator) -> list[np.ndarray]:
    t = sim.outcomes_at(s, at)
    n = t["ref"].size
    items = t["items"].astype(np.int64)
    blank = np.zeros((n, 10), bool)
    one = _choose(rng, np.ones(n, bool), 0.03)
    blank[one, rng.integers(0, 10, one.size)] = True
    two = one[rng.random(one.size) < 0.3]
    blank[two, rng.integers(0, 10, two.size)] = True
    scored = items.copy()
    scored[:, 1:3] = 4 - scored[:, 1:3]
    missing = blank.sum(axis=1)
    score = np.where(blank, 0, scored).sum(axis=1) * 10 / (10 - missing)
    score[_choose(rng, missing == 0, 0.005)] += 3  # a total that does not add up
    total = np.array(
        [f"{x:.1f}" if m else f"{x:.0f}" for x, m in zip(score, missing, strict=True)], dtype=object
    )
    total[(missing > 1) | (rng.random(n) < 0.5)] = ""
    qs = ITEM[np.where(blank, 5, items)]
    return [
        _xls(100_001 + t["ref"], rng.random(n) < 0.01),
        np.where(rng.random(n) < 0.85, "CORE-10", "core10").astype(object),
        f.d(t["day"]),
        *qs.T,
        total,
    ]


class _Csv:
    """A CSV export written as it goes; ``close`` drops it (returns None) if it has no rows."""

    def __init__(
        self,
        path: Path,
        header: list[str],
        encoding: str = "utf-8",
        delimiter: str = ",",
        newline: str = "\n",
        preamble: list | None = None,
    ) -> None:
        self.path, self.header, self.rows = path, header, 0
        self._f = path.open("w", encoding=encoding, newline="")
        if encoding == "utf-16-le":
            self._f.write("\ufeff")
        self._w = csv.writer(self._f, delimiter=delimiter, lineterminator=newline)
        self._w.writerows(preamble or [])
        self._w.writerow(header)

    def write(self, cols: list[np.ndarray], breaks: Breaks = ()) -> None:
        it, pos = zip(*(c.tolist() for c in cols), strict=True), 0
        for at, row in sorted(breaks, key=lambda b: b[0]):
            self._w.writerows(islice(it, at - pos))
            self._w.writerow(row)
            pos = at
        self._w.writerows(it)
        self.rows += len(cols[0])

    def close(self, footer: list | None = None) -> Path | None:
        if footer and self.rows:
            self._w.writerow(footer)
        self._f.close()
        if not self.rows:
            self.path.unlink()
            return None
        return self.path


def _sliced(sink: _Csv, t: dict, cols: Callable[[dict], list], breaks: Breaks = ()) -> None:
    """Format and write ``t`` a slice at a time (bounded memory)."""
    n = len(next(iter(t.values()))) if t else 0
    for a in range(0, n, SLICE):
        b = min(n, a + SLICE)
        sink.write(
            cols({k: v[a:b] for k, v in t.items()}), [(p - a, r) for p, r in breaks if a <= p < b]
        )


def _page_breaks(rng: np.random.Generator, n: int, header: list[str], blanks: int = 0) -> list:
    if n < 2:
        return []
    out = [(int(rng.integers(1, n)), header)]
    return out + [
        (int(rng.integers(1, n)), [] if k % 2 else [""] * len(header)) for k in range(blanks)
    ]


def _xlsx(path: Path, t: dict, f: _Fmt, preamble: list, stamp: dt.datetime, breaks: list) -> None:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Contacts")
    for row in [*preamble, []]:
        ws.append(row)
    ws.append(CON_HEAD)
    text = _contact_cols(t, f, notes=True)
    breaks = dict(breaks)

    def cell(value: object, fmt: str) -> WriteOnlyCell:
        c = WriteOnlyCell(ws, value=value)
        c.number_format = fmt
        return c

    for r in range(len(t["cid"])):
        if r in breaks:
            ws.append(CON_HEAD)
        sched, occ = t["sched"][r], t["occ"][r]
        dur = text[6][r]
        row = [
            int(t["cid"][r]),
            text[1][r] if t["xls"][r] >= 0 else int(100_001 + t["ref"][r]),
            text[2][r],
            cell(f.py(sched).date(), "dd/mm/yyyy") if sched != NA else None,
            cell(f.py(sched).time(), "hh:mm") if sched != NA else None,
            text[5][r]
            if occ == NA or t["bad_date"][r] >= 0
            else cell(f.py(occ), "dd/mm/yyyy hh:mm"),
            int(dur) if dur.isdigit() else dur or None,
            *(x[r] or None for x in text[7:]),
        ]
        ws.append(row)
    ws.append(["Total", len(t["cid"])])
    wb.properties.creator = "Demo Admin"
    wb.properties.created = stamp
    buf = io.BytesIO()
    wb.save(buf)
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(buf) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():  # pin every timestamp so the bytes are reproducible
            data = zin.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + iso, data)
            zi = zipfile.ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            zi.compress_type, zi.external_attr = zipfile.ZIP_DEFLATED, info.external_attr
            zout.writestr(zi, data)


def _cat(tables: list[dict]) -> dict:
    return {k: np.concatenate([t[k] for t in tables]) for k in tables[0]} if tables else {}


def write_demo_exports(
    out_dir: Path,
    referrals: int = 3000,
    seed: int = 1,
    months: int = 24,
    end: dt.date | None = None,
    shapes: str = "mixed",
) -> list[Path]:
    """Write seeded demo exports into ``out_dir``; return them in the order to load them.

    ``shapes="csv"``: referrals, contacts, feedback, outcomes (plain CSV, one export each).
    ``shapes="mixed"``: in export-time order, oldest first: referrals (older export), contacts,
    feedback, outcomes, referrals (newer export). Contacts of referrals received after the
    older export are orphans until the newer one loads; its re-exported referrals are updates.
    """
    if shapes not in ("mixed", "csv"):
        raise ValueError(f"shapes must be 'mixed' or 'csv', not {shapes!r}")
    if referrals < 1 or months < 1:
        raise ValueError("referrals and months must be at least 1")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plan = sim.make_plan(referrals, seed, months, end or DEFAULT_END)
    f = _Fmt(plan)
    last = (plan.days - 1) * DAY
    t_end = last + 17 * 60 + 30

    def name(entity: str, t: int, ext: str = "csv") -> Path:
        return out_dir / f"{entity}_{f.py(t):%Y-%m-%d_%H%M}.{ext}"

    def preamble(title: str, t: int) -> list[list[str]]:
        return [
            [f"{title} report {f.date[-f.base]} - {f.day(np.array([t]))[0]}"],
            [f"Run by Demo Admin on {f.dt(np.array([t]))[0]}"],
        ]

    mixed = shapes == "mixed"
    t_cut = max(plan.days - 8, plan.days // 2) * DAY + 17 * 60 + 30 if mixed else t_end
    t_con, t_fb, t_out = (last + m for m in (1020, 1025, 1030)) if mixed else (t_end,) * 3

    def sink(entity: str, t: int, head: list[str], blank: bool = False) -> _Csv:
        if not mixed:
            return _Csv(name(entity, t), head)
        pre = preamble(entity.capitalize(), t) + ([[]] if blank else [])
        return _Csv(name(entity, t), head, *MIXED_CSV.get(entity, ("utf-8", ",", "\n")), pre)

    ref_head = REF_HEAD if mixed else [h if h != "Date of Birth" else "Age" for h in REF_HEAD]
    ref_a = sink("referrals", t_cut, ref_head)
    ref_b = sink("referrals", t_end, REF_HEAD) if mixed else None
    con_csv = None if mixed else sink("contacts", t_con, CON_HEAD[:-1])
    fb, oc = sink("feedback", t_fb, FB_HEAD), sink("outcomes", t_out, OUT_HEAD)
    held: list[tuple[dict, list]] = []  # contacts kept for the workbook while <= XLSX_MAX
    n_con, next_cid, next_fb = 0, 5_000_001, 1
    for c, lo in enumerate(range(0, referrals, CHUNK)):
        s = sim.simulate(plan, c, lo, min(referrals, lo + CHUNK))
        rng = np.random.default_rng([seed, c, 1])
        cut = sim.state_at(s, t_cut)
        in_a = s["ref_t"] <= t_cut
        t = _referrals(s, np.flatnonzero(in_a), cut, rng)
        breaks = _page_breaks(rng, len(t["idx"]), ref_head, 2) if mixed else []
        _sliced(ref_a, t, lambda x: _referral_cols(x, f, seed, not mixed), breaks)
        if ref_b is not None:  # the newer export: later referrals, and changes since the older
            now = sim.state_at(s, t_end)
            changed = in_a & np.any([a != b for a, b in zip(cut, now, strict=True)], axis=0)
            t = _referrals(s, np.flatnonzero(~in_a | changed), now, None)
            _sliced(ref_b, t, lambda x: _referral_cols(x, f, seed, False))
        t = _contacts(s, t_con, next_cid, rng)
        next_cid = int(t["cid"].max(initial=next_cid - 1)) + 1
        n_con += len(t["cid"])
        breaks = _page_breaks(rng, len(t["cid"]), CON_HEAD) if mixed else []
        if con_csv is None and n_con > XLSX_MAX:  # too many for a workbook: CSV from here on
            con_csv = sink("contacts", t_con, CON_HEAD, blank=True)
            for old, old_breaks in held:
                _sliced(con_csv, old, lambda x: _contact_cols(x, f, True), old_breaks)
            held = []
        if con_csv is None:
            held.append((t, breaks))
        else:
            _sliced(con_csv, t, lambda x: _contact_cols(x, f, mixed), breaks)
        t = _feedback(s, t_fb, next_fb, rng)
        next_fb = int(t["rid"].max(initial=next_fb - 1)) + 1
        _sliced(fb, t, lambda x: _feedback_cols(x, f))
        cols = _outcome_cols(s, t_out, f, rng)
        if len(cols[0]):
            oc.write(cols)
    paths = [ref_a.close(["Total", str(ref_a.rows)] if mixed else None)]
    if con_csv is not None:
        paths.append(con_csv.close(["Total", str(con_csv.rows)] if mixed else None))
    elif held:
        t = _cat([h[0] for h in held])
        offsets = np.cumsum([0] + [len(h[0]["cid"]) for h in held])
        breaks = [(p + o, r) for (_, b), o in zip(held, offsets, strict=False) for p, r in b]
        paths.append(name("contacts", t_con, "xlsx"))
        _xlsx(paths[-1], t, f, preamble("Contacts", t_con), f.py(t_con), breaks)
    paths += [fb.close(), oc.close(), ref_b.close() if ref_b else None]
    paths = [p for p in paths if p is not None]
    for k, path in enumerate(paths):  # mtime = export time (+k s): an inbox sorted by age
        m = STAMP.search(path.name)  # loads them in this order too
        when = dt.datetime.strptime(m.group(1), "%Y-%m-%d_%H%M").replace(tzinfo=LONDON)
        os.utime(path, (when.timestamp() + k, when.timestamp() + k))
    return paths
