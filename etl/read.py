"""Extract: open a CSV or XLSX export, find its header and entity, and stream its data rows.

Everything is read as text; parsing belongs to validation. Only the columns the entity uses are
read: identifying columns (names, addresses, free text...) are dropped here and only their
headers are reported. Title rows, blank rows, footers and repeated header rows are not data rows.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from etl.parsers import normalise_header
from etl.profiles import Profile
from etl.refusal import FileRefused
from etl.schema import ENTITIES, IDENTIFYING_HEADER_WORDS, required_columns
from etl.xlsx import load_sheet, sheet_rows

PREVIEW_ROWS = 50
_FOOTER = re.compile(
    r"^(grand\s*total|total|count|report generated|generated|end of report)\b", re.I
)
_FOOTER_STARTS = tuple("gtcreGTCRE")  # the first letters _FOOTER can match
_COUNTS = r"[0-9\s.,:%+-]*"  # what a footer holds besides its label
_RUN_ON = re.compile(r"\brun\b.*?\bon\s+(?P<when>\d.*?)\s*$", re.I)


@dataclass
class SourceFile:
    path: Path
    fmt: str  # "csv" | "xlsx"
    entity: str
    header_row: int  # 1-based line (CSV) or sheet row (XLSX) of the header
    header: list[str]  # normalised header cells
    columns: dict[int, str]  # source column index -> canonical key ("x" or "x__time")
    preamble: list[str]
    ignored: list[str] = field(default_factory=list)
    identifying: list[str] = field(default_factory=list)
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    width: int = 0  # most cells in a row near the top of a CSV

    @property
    def run_on_text(self) -> str | None:
        """The date-time of a "Run by ... on <date time>" line above the header, if any."""
        for line in self.preamble:
            m = _RUN_ON.search(line)
            if m:
                return m.group("when")
        return None


def _is_identifying(norm: str) -> bool:
    return any(word in norm for word in IDENTIFYING_HEADER_WORDS)


def _match(cells: list[str], profile: Profile) -> tuple[str, dict[int, str], int] | None:
    """The best entity for a candidate header row: (entity, columns, missing-required)."""
    best = None
    for entity in ENTITIES:
        aliases = profile.headers[entity]
        columns: dict[int, str] = {}
        seen: set[str] = set()
        for i, cell in enumerate(cells):
            hit = aliases.get(normalise_header(cell))
            if hit is None:
                continue
            key = hit[0] if hit[1] == "value" else f"{hit[0]}__time"
            if key not in seen:
                seen.add(key)
                columns[i] = key
        missing = sum(1 for c in required_columns(entity) if c not in seen)
        score = (missing == 0, len(columns), -missing)
        if best is None or score > best[0]:
            best = (score, entity, columns, missing)
    assert best is not None
    return best[1], best[2], best[3]


def _locate_header(rows: list[list[str]], profile: Profile) -> tuple[int, str, dict[int, str]]:
    """Index of the header row in `rows`, its entity and column map; refuses when none fits."""
    partial = None
    for idx, cells in enumerate(rows):
        entity, columns, missing = _match(cells, profile)
        if missing == 0 and len(columns) >= 2:
            return idx, entity, columns
        if len(columns) >= 2 and (partial is None or len(columns) > len(partial[2])):
            partial = (idx, entity, columns)
    if partial is None:
        raise FileRefused(
            "No header row was found: none of the first rows has the column names of a "
            "referrals, contacts, feedback or outcomes export (for example 'Referral ID', "
            "'Client ID', 'Contact ID', 'Response Date'). Check that this is a caseload export "
            "and that the right source profile is used."
        )
    idx, entity, columns = partial
    found = [c for c in rows[idx] if c.strip()]
    have = {k for k in columns.values()}
    missing = [c for c in required_columns(entity) if c not in have]
    raise FileRefused(
        f"This looks like a {entity} export, but required columns are missing: "
        f"{', '.join(missing)}. Columns found: {', '.join(found)}. Add the missing columns to "
        "the export, or teach a source profile the names this system uses."
    )


def _describe(src: SourceFile, rows: list[str]) -> None:
    used = set(src.columns)
    for i, cell in enumerate(rows):
        if i in used or not cell.strip():
            continue
        (src.identifying if _is_identifying(normalise_header(cell)) else src.ignored).append(cell)


def detect_encoding(path: Path) -> str:
    """The text encoding of a CSV: BOMs first, then strict UTF-8, then Windows-1252."""
    with path.open("rb") as fh:
        head = fh.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return "utf-16"
    for encoding in ("utf-8", "cp1252"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with path.open("rb") as fh:
                while block := fh.read(1 << 20):
                    if b"\x00" in block:
                        raise FileRefused(
                            "The file is not text (it contains binary data), so it cannot be "
                            "read as a CSV export."
                        )
                    decoder.decode(block)
                decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
    raise FileRefused(
        "The file's characters could not be decoded (it is neither UTF-8, UTF-16 nor "
        "Windows-1252 text). Export it again as CSV (UTF-8) or as an Excel workbook."
    )


def open_source(path: Path, profile: Profile) -> SourceFile:
    """Inspect a file: format, encoding, header, entity and the columns to read."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        return _open_csv(path, profile)
    if suffix in (".xlsx", ".xlsm"):
        return _open_xlsx(path, profile)
    raise FileRefused(
        f"'{path.name}' is not a CSV or Excel (.xlsx) file, so it was not read. Export the "
        "report as CSV or XLSX."
    )


def _open_csv(path: Path, profile: Profile) -> SourceFile:
    encoding = detect_encoding(path)
    with path.open(encoding=encoding, newline="") as fh:
        text = "".join(line for _, line in zip(range(PREVIEW_ROWS * 2), fh, strict=False))
    counts = {d: text.count(d) for d in (",", ";", "\t")}
    last: FileRefused | None = None
    for delimiter in sorted(counts, key=counts.get, reverse=True):
        reader = csv.reader(io.StringIO(text), delimiter=delimiter)
        rows, line_ends = [], []
        for row in reader:
            rows.append(row)
            line_ends.append(reader.line_num)
            if len(rows) >= PREVIEW_ROWS:
                break
        try:
            idx, entity, columns = _locate_header(rows, profile)
        except FileRefused as exc:
            last = last or exc
            continue
        src = SourceFile(
            path,
            "csv",
            entity,
            line_ends[idx],
            [normalise_header(c) for c in rows[idx]],
            columns,
            [" ".join(c for c in r if c.strip()) for r in rows[:idx]],
            encoding=encoding,
            delimiter=delimiter,
            width=max(len(r) for r in rows),
        )
        _describe(src, rows[idx])
        return src
    assert last is not None
    raise last


def _open_xlsx(path: Path, profile: Profile) -> SourceFile:
    wb, ws = load_sheet(path, profile.sheet)
    try:
        preview = []
        for number, cells in sheet_rows(ws):
            preview.append((number, cells))
            if len(preview) >= PREVIEW_ROWS:
                break
    finally:
        wb.close()
    rows = [cells for _, cells in preview]
    idx, entity, columns = _locate_header(rows, profile)
    src = SourceFile(
        path,
        "xlsx",
        entity,
        preview[idx][0],
        [normalise_header(c) for c in rows[idx]],
        columns,
        [" ".join(c for c in r if c.strip()) for r in rows[:idx]],
        sheet=ws.title,
    )
    _describe(src, rows[idx])
    return src


def _read_columns(src: SourceFile) -> list[int]:
    """The columns read: the entity's, and the first column (where footer labels sit)."""
    return sorted(set(src.columns) | {0})


def _raw_chunks(src: SourceFile, size: int) -> Iterator[pd.DataFrame]:
    cols = _read_columns(src)
    if src.fmt == "csv":
        try:
            reader = pd.read_csv(
                src.path,
                sep=src.delimiter,
                encoding=src.encoding,
                header=None,
                # Named columns: a blank line or a short row (trailing cells left out) is padded.
                names=range(max(src.width, len(src.header), cols[-1] + 1)),
                skiprows=src.header_row,
                usecols=cols,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                skip_blank_lines=False,
                chunksize=size,
                engine="c",
            )
            first = src.header_row + 1
            for chunk in reader:
                chunk = chunk.reindex(columns=cols).fillna("")
                chunk.insert(0, "_row", range(first, first + len(chunk)))
                first += len(chunk)
                yield chunk
        except pd.errors.EmptyDataError:
            return  # nothing after the header
        except pd.errors.ParserError as exc:
            raise FileRefused(
                "A row of the file has more columns than its header (often a stray delimiter "
                f"or an unclosed quote), so the file could not be read safely: {exc}"
            ) from exc
        return
    wb, ws = load_sheet(src.path, src.sheet)
    try:
        buf: list[list] = []
        for number, cells in sheet_rows(ws, src.header_row + 1):
            buf.append([number] + [cells[i] if i < len(cells) else "" for i in cols])
            if len(buf) >= size:
                yield pd.DataFrame(buf, columns=["_row", *cols])
                buf = []
        if buf:
            yield pd.DataFrame(buf, columns=["_row", *cols])
    finally:
        wb.close()


def _footer_rows(first: pd.Series) -> pd.Series:
    """Rows whose first non-blank cell starts like a footer ("Total", "Grand total"...). Only
    cells starting with one of the labels' first letters are tried against the pattern."""
    maybe = first.str.startswith(_FOOTER_STARTS)
    footer = pd.Series(False, index=first.index)
    if maybe.any():
        footer[maybe] = first[maybe].str.match(_FOOTER).astype(bool)
    return footer


def iter_data(src: SourceFile, size: int) -> Iterator[pd.DataFrame]:
    """Data rows in chunks: `_row` (source row number) and one text column per canonical key.

    Blank rows, footer rows and repeated header rows are dropped here: they are not data rows.
    A footer's label may sit in a first column that is not loaded (a name column, say); the row
    is then a footer only if its loaded cells hold nothing but counts and a required one is blank.
    """
    cols = sorted(src.columns)
    header = [src.header[i] for i in cols]
    required = [i for i, key in src.columns.items() if key in required_columns(src.entity)]
    for chunk in _raw_chunks(src, size):
        if chunk.empty:
            continue
        read = chunk[_read_columns(src)].apply(lambda s: s.astype(str).str.strip())
        values = read[cols]
        blank = (values == "").all(axis=1)
        # a repeated header: test the first column cheaply, then the rest on candidates only
        repeated = (
            values[cols[0]].str.lower().str.replace(r"[^0-9a-z]", "", regex=True) == header[0]
        )
        for idx in repeated[repeated].index:
            repeated[idx] = [normalise_header(values.at[idx, c]) for c in cols] == header
        first = values[cols[-1]]
        for col in reversed(cols[:-1]):  # the first non-blank cell of each row
            first = values[col].where(values[col] != "", first)
        footer = _footer_rows(first)
        if 0 not in src.columns:
            counts = values.apply(lambda s: s.str.fullmatch(_COUNTS)).all(axis=1)
            gaps = (values[required] == "").any(axis=1)
            footer |= read[0].str.match(_FOOTER) & counts & gaps
        keep = ~(blank | repeated | footer)
        out = values[keep].rename(columns=src.columns)
        out.insert(0, "_row", chunk.loc[keep, "_row"].astype(int))
        if len(out):
            yield out.reset_index(drop=True)
