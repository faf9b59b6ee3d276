"""One ETL run: the given files, or every new file in the inbox, moved to archive/ or failed/."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import sys
import time
from pathlib import Path

from sqlalchemy import Engine

from etl import ledger, notify, runlock, settings
from etl.ledger import FileReport
from etl.load import load_file
from etl.profiles import load_profile

SUFFIXES = {".csv", ".txt", ".tsv", ".xlsx", ".xlsm"}
log = logging.getLogger("sis.etl")


class WarehouseUnavailable(RuntimeError):
    """The run could not use the warehouse; the message says so in plain words."""


def inbox_files(inbox: Path) -> list[Path]:
    """Files waiting in the inbox, oldest first (then by name). Reports are not inputs."""
    if not inbox.is_dir():
        return []
    files = [
        f
        for f in inbox.iterdir()
        if f.is_file() and not f.name.startswith(".") and not f.name.endswith(".report.txt")
    ]
    return sorted(files, key=lambda f: (f.stat().st_mtime, f.name))


def _free_name(folder: Path, name: str) -> Path:
    target = folder / name
    n = 1
    while target.exists():
        target = folder / f"{Path(name).stem}.{n}{Path(name).suffix}"
        n += 1
    return target


def file_away(path: Path, report: FileReport) -> Path:
    """Move an inbox file to archive/ (loaded or skipped) or failed/ (refused, with a report)."""
    folder = path.parent / ("failed" if report.status == "refused" else "archive")
    folder.mkdir(exist_ok=True)
    target = _free_name(folder, path.name)
    shutil.move(str(path), target)
    if report.status == "refused":
        target.with_name(target.name + ".report.txt").write_text(
            f"{path.name} was not loaded.\n\n{report.message}\n\n"
            "Nothing from this file was written to the warehouse. Fix the problem and put the "
            "corrected file in the inbox again.\n",
            encoding="utf-8",
        )
    return target


def _progress_bar(path: Path):  # noqa: ANN202
    if not sys.stderr.isatty() or path.stat().st_size < 5_000_000:
        return None, None
    from tqdm import tqdm

    bar = tqdm(desc=path.name, unit=" rows", unit_scale=True, file=sys.stderr, leave=False)
    return bar, bar.update


def run(
    engine: Engine,
    paths: list[Path] | None = None,
    profile: str = "default",
    exported_at: dt.datetime | None = None,
) -> list[FileReport]:
    """Load `paths`, or the inbox when none are given. Raises ConfigError before touching
    anything when the pseudonym key or the profile is missing."""
    settings.pseudonym_key()
    prof = load_profile(profile)
    from_inbox = paths is None
    files = inbox_files(settings.inbox_dir()) if from_inbox else list(paths)
    run_id = ledger.start_run(engine)
    reports = []
    for path in files:
        if not path.is_file():
            report = FileReport(path=path.name, message=f"There is no file at {path}.")
            ledger.record_file(engine, run_id, report, None, ledger.utcnow())
        else:
            bar, update = _progress_bar(path)
            report = load_file(engine, path, prof, run_id, exported_at, update)
            if bar is not None:
                bar.close()
            if from_inbox:
                file_away(path, report)
        reports.append(report)
    ledger.finish_run(engine, run_id, reports)
    if any(r.status == "loaded" for r in reports):
        tidy_after_load(engine)
    return reports


def run_locked(
    engine: Engine,
    paths: list[Path] | None = None,
    profile: str = "default",
    exported_at: dt.datetime | None = None,
) -> list[FileReport]:
    """What `sis etl run` and the scheduler do: take the run lock (waiting SIS_RUN_LOCK_WAIT
    seconds at most, else RunInProgress), bring the schema up to date, record runs that died
    as failed, load, log each file, and notify when a file is refused or a run had died."""
    from sqlalchemy.exc import SQLAlchemyError

    from etl.db import upgrade

    clock = time.perf_counter()
    try:
        with runlock.hold(engine, float(settings.get("SIS_RUN_LOCK_WAIT"))):
            upgrade(engine)
            died = ledger.close_interrupted_runs(engine)
            for run_id in died:
                log.error("run %s had died before finishing", run_id, extra={"run_id": run_id})
            reports = run(engine, paths, profile, exported_at)
            run_id = ledger.last_run_id(engine)
    except SQLAlchemyError as error:
        reason = (
            f"The warehouse could not be reached or refused the run ({type(error).__name__}), "
            "so nothing was loaded; the files stay in the inbox for the next run."
        )
        log.error("run failed: %s", reason, extra={"event": "run_failed", "status": "failed"})
        notify.send(
            notify.failure(None, [{"file": "(warehouse)", "status": "failed", "message": reason}])
        )
        raise WarehouseUnavailable(reason) from error
    for report in reports:
        _log_file(run_id, report)
    refused = [r for r in reports if r.status == "refused"]
    log.info(
        "run %s finished: %d loaded, %d skipped, %d refused",
        run_id,
        sum(r.status == "loaded" for r in reports),
        sum(r.status == "skipped" for r in reports),
        len(refused),
        extra={
            "event": "run_finished",
            "run_id": run_id,
            "status": "failed" if refused else "ok",
            "files": len(reports),
            "seconds": round(time.perf_counter() - clock, 3),
        },
    )
    problems = [{"file": r.path, "status": r.status, "message": r.message} for r in refused]
    if died:
        problems.append(
            {"file": f"run {died[-1]}", "status": "interrupted", "message": ledger.INTERRUPTED}
        )
    if problems:
        notify.send(notify.failure(run_id, problems))
    return reports


def _log_file(run_id: int, report: FileReport) -> None:
    fields = {
        "event": "file_" + report.status,
        "run_id": run_id,
        "file": report.path,
        "entity": report.entity,
        "status": report.status,
        "read": report.read,
        "inserted": report.inserted,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "quarantined": report.quarantined,
        "seconds": report.seconds,
    }
    if report.status == "refused":
        log.warning("%s refused: %s", report.path, report.message, extra=fields)
    else:
        log.info("%s %s", report.path, report.status, extra=fields)


def tidy_after_load(engine: Engine) -> None:
    """PostgreSQL: VACUUM ANALYZE the KPI tables after a load, outside any transaction, so the
    planner knows their new size and the percentile walks stay index-only (a visibility map
    that is out of date makes every index entry visit the table)."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM (ANALYZE) referral_fact, referral_cube, activity_day")


def describe(report: FileReport) -> str:
    """The human-readable report of one file."""
    head = f"{report.path}: {report.status}"
    if report.entity:
        head += f" ({report.entity})"
    lines = [head]
    if report.status == "refused":
        lines.append(f"  {report.message}")
        return "\n".join(lines)
    if report.status == "skipped":
        lines.append(f"  {report.message}")
        return "\n".join(lines)
    lines.append(
        f"  read {report.read}: inserted {report.inserted}, updated {report.updated}, "
        f"unchanged {report.unchanged}, quarantined {report.quarantined}"
        + ("  (adds up)" if report.adds_up else "  (DOES NOT ADD UP)")
    )
    for code, n in sorted(report.quarantine_reasons.items()):
        lines.append(f"  quarantined, {code.replace('_', ' ')}: {n}")
    for code, n in sorted(report.warning_reasons.items()):
        lines.append(f"  warning, {code.replace('_', ' ')}: {n}")
    if report.orphans:
        lines.append(f"  orphans (their referral has not arrived yet): {report.orphans}")
    if report.orphans_linked:
        lines.append(f"  earlier orphans now linked to their referral: {report.orphans_linked}")
    if report.identifying_columns_ignored:
        cols = ", ".join(report.identifying_columns_ignored)
        lines.append(f"  ignored identifying columns (never loaded): {cols}")
    if report.ignored_columns:
        lines.append(f"  ignored unknown columns: {', '.join(report.ignored_columns)}")
    lines.append(f"  export time {report.exported_at} (from the {report.exported_at_source})")
    return "\n".join(lines)
