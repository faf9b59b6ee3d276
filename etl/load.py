"""Load one file: extract, validate, stage and merge in ONE transaction, or refuse it whole."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import re
import time
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from etl import db, facts, ledger, parsers, settings, stage
from etl.ledger import FileReport
from etl.merge import merge
from etl.models import MARTS, LoadWarning, Quarantine
from etl.profiles import Profile
from etl.read import SourceFile, iter_data, open_source
from etl.refusal import FileRefused
from etl.validate import Validator

log = logging.getLogger("sis.etl")

_NAME_TIMES = (
    (re.compile(r"(\d{4})-(\d{2})-(\d{2})[_ T-](\d{2})(\d{2})"), "ymd"),
    (re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})"), "ymd"),
    (re.compile(r"(\d{2})(\d{2})(\d{4})[_-](\d{2})(\d{2})"), "dmy"),
)

# Tests replace this to inject a crash after N staged rows; production never sets it.
on_rows_staged: Callable[[int], None] | None = None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _from_name(name: str) -> dt.datetime | None:
    for pattern, order in _NAME_TIMES:
        m = pattern.search(name)
        if not m:
            continue
        a, b, c, hh, mm = (int(x) for x in m.groups())
        y, mo, d = (a, b, c) if order == "ymd" else (c, b, a)
        try:
            return dt.datetime(y, mo, d, hh, mm)
        except ValueError:
            continue
    return None


def export_time(
    src: SourceFile | None, path: Path, override: dt.datetime | None, formats: tuple[str, ...]
) -> tuple[dt.datetime, str]:
    """(London wall-clock export time, where it came from), by the contract's order."""
    if override is not None:
        return override, "command line"
    if src is not None and src.run_on_text:
        try:
            parsed = parsers.parse_datetime(
                src.run_on_text, formats or parsers.DEFAULT_DATE_FORMATS
            )
            if parsed and parsed[1]:  # a date without a time falls through to the next source
                return parsed[0], "'Run ... on' line"
        except parsers.ParseError:
            pass
    named = _from_name(path.name)
    if named:
        return named, "file name"
    mtime = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).replace(tzinfo=None)
    return parsers.utc_to_london(mtime).replace(microsecond=0), "file modified time"


def _iso_london(local: dt.datetime) -> str:
    utc = parsers.london_to_utc(local)
    offset = local - utc
    sign = "+" if offset >= dt.timedelta(0) else "-"
    hours = int(abs(offset).total_seconds() // 3600)
    return f"{local.isoformat(timespec='minutes')}{sign}{hours:02d}:00"


def load_file(
    engine: Engine,
    path: Path,
    profile: Profile,
    run_id: int,
    exported_at: dt.datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> FileReport:
    """Load one file and return its report. Never raises for bad input: a refused file's
    report says why, and the warehouse is exactly as it was before."""
    started, clock = ledger.utcnow(), time.perf_counter()
    report = FileReport(path=path.name, sha256=sha256_of(path))
    export_utc = None
    try:
        with engine.connect() as conn:
            if ledger.already_loaded(conn, report.sha256):
                report.status = "skipped"
                report.message = "This exact file was loaded before, so it was skipped."
                ledger.record_file(engine, run_id, report, None, started)
                return report
        src = open_source(path, profile)
        report.entity = src.entity
        report.ignored_columns = src.ignored
        report.identifying_columns_ignored = src.identifying
        local, report.exported_at_source = export_time(src, path, exported_at, profile.date_formats)
        report.exported_at = _iso_london(local)
        export_utc = parsers.london_to_utc(local)
        with engine.begin() as conn:
            _page_cache(conn, db.LOAD_CACHE)
            try:
                _load(conn, src, profile, run_id, export_utc, report, started, progress)
            finally:
                with contextlib.suppress(Exception):  # never hide the load's own error
                    _page_cache(conn, db.READ_CACHE)
        report.status = "loaded"
    except FileRefused as exc:
        _refuse(report, str(exc))
        ledger.record_file(engine, run_id, report, export_utc, started)
    except Exception as exc:  # noqa: BLE001 - any crash: nothing kept, reason recorded
        # The type and where it happened, never the message: it could quote a value.
        frames = traceback.extract_tb(exc.__traceback__)
        where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
        log.error("load of %s failed: %s at %s", path.name, type(exc).__name__, where)
        _refuse(
            report,
            "The load stopped because of an unexpected error, so nothing from this file was "
            f"kept ({type(exc).__name__}). Try again; if it happens again, the server log has "
            "the details.",
        )
        ledger.record_file(engine, run_id, report, export_utc, started)
    finally:
        report.seconds = round(time.perf_counter() - clock, 3)
    return report


def _page_cache(conn, kib: int) -> None:  # noqa: ANN001
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"PRAGMA cache_size={int(kib)}")


def _refuse(report: FileReport, message: str) -> None:
    """A refused file counts nothing: the warehouse is as it was."""
    report.status, report.message = "refused", message
    report.read = report.inserted = report.updated = report.unchanged = 0
    report.quarantined = report.orphans = report.warnings = 0
    report.quarantine_reasons, report.warning_reasons = {}, {}


def _load(
    conn,
    src: SourceFile,
    profile: Profile,
    run_id: int,
    export_utc: dt.datetime,  # noqa: ANN001
    report: FileReport,
    started: dt.datetime,
    progress: Callable[[int], None] | None,
) -> None:
    file_id = ledger.open_file(conn, run_id, report, export_utc, started)
    validator = Validator(src.entity, profile, export_utc, settings.pseudonym_key())
    stg = stage.staging_table(src.entity)
    stage.create(conn, stg)
    stager = stage.Stager(conn, stg, export_utc)
    bad_rows: set[int] = set()
    reasons: Counter = Counter()
    warnings: Counter = Counter()
    for chunk in iter_data(src, settings.chunk_rows()):
        result = validator.check(chunk)
        report.read += len(chunk)
        stager.write(result.good)
        _record(conn, file_id, src.entity, result.failures, result.warnings)
        rows_failed: dict[int, set[str]] = {}
        for f in result.failures:
            rows_failed.setdefault(f["source_row"], set()).add(f["reason_code"])
        for codes in rows_failed.values():
            reasons.update(codes)
        bad_rows.update(rows_failed)
        warnings.update(w["code"] for w in result.warnings)
        if on_rows_staged is not None:
            on_rows_staged(report.read)
        if progress is not None:
            progress(len(chunk))
    if report.read == 0:
        raise FileRefused("The file has a header but no data rows, so there was nothing to load.")
    facts.before_merge(conn, src.entity, stg)
    counts = merge(conn, src.entity, stg, MARTS[src.entity], file_id)
    facts.after_merge(conn, src.entity, export_utc)
    conn.exec_driver_sql(f"DROP TABLE {stg.name}")
    report.inserted, report.updated, report.unchanged = (
        counts.inserted,
        counts.updated,
        counts.unchanged,
    )
    report.quarantined = len(bad_rows) + counts.quarantined
    report.orphans, report.orphans_linked = counts.orphans, counts.linked
    report.add_reasons(reasons + counts.reasons, warnings + counts.warnings)
    report.status = "loaded"
    if not report.adds_up:  # a bug, never bad input: refuse rather than keep a wrong load
        raise RuntimeError("row counts do not add up")
    ledger.close_file(conn, file_id, report)


def _record(conn, file_id: int, entity: str, failures: list[dict], warnings: list[dict]) -> None:  # noqa: ANN001
    if failures:
        conn.execute(
            Quarantine.__table__.insert(),
            [{"file_id": file_id, "entity": entity, **f} for f in failures],
        )
    if warnings:
        conn.execute(
            LoadWarning.__table__.insert(),
            [{"file_id": file_id, "entity": entity, **w} for w in warnings],
        )
