"""XLSX input: open the right sheet and turn cells into the text CSV input would give.

Real Excel date cells become ISO text; a date cell with no time part (and a format without
hours) becomes a date-only value, so the time is recorded as unknown.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterator
from pathlib import Path

from etl.refusal import FileRefused

OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # encrypted (password-protected) or legacy .xls files


def cell_text(value: object, number_format: str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        fmt = (number_format or "").lower()
        if value.time() == dt.time(0) and "h" not in fmt:
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip()


def load_sheet(path: Path, sheet: str = ""):  # noqa: ANN201
    """(workbook, worksheet): the named sheet, else the first visible one; refuses protected
    or damaged workbooks in plain words. The caller closes the workbook."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic == OLE_MAGIC:
        raise FileRefused(
            "The workbook is password-protected (or saved in the old .xls format), so it "
            "cannot be read. Remove the password or save it as .xlsx, then export again."
        )
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise FileRefused(
            "The workbook is damaged or incomplete and could not be opened. Export it again."
        ) from exc
    if sheet:
        if sheet not in wb.sheetnames:
            raise FileRefused(
                f"The workbook has no sheet called '{sheet}' (the source profile asks "
                f"for it). Sheets found: {', '.join(wb.sheetnames)}."
            )
        return wb, wb[sheet]
    visible = [ws for ws in wb.worksheets if ws.sheet_state == "visible"]
    if not visible:
        raise FileRefused("The workbook has no visible sheet to read.")
    return wb, visible[0]


def sheet_rows(ws, min_row: int = 1) -> Iterator[tuple[int, list]]:  # noqa: ANN001
    """(sheet row number, cells as text) from `min_row` on; empty rows included."""
    for offset, row in enumerate(ws.iter_rows(min_row=min_row)):
        yield (
            min_row + offset,
            [cell_text(c.value, getattr(c, "number_format", None)) for c in row],
        )
