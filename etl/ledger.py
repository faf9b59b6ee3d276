"""The run ledger and the per-file report: what happened to every file, in plain words."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import asdict, dataclass, field

from sqlalchemy import Connection, Engine, func, insert, select, update

from etl.models import EtlFile, EtlRun

RUN = EtlRun.__table__
FILE = EtlFile.__table__


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass
class FileReport:
    path: str
    entity: str | None = None
    status: str = "refused"  # loaded | skipped | refused
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    warnings: int = 0
    warning_reasons: dict[str, int] = field(default_factory=dict)
    orphans: int = 0
    orphans_linked: int = 0
    exported_at: str | None = None  # ISO, Europe/London wall clock with offset
    exported_at_source: str | None = None
    message: str | None = None
    ignored_columns: list[str] = field(default_factory=list)
    identifying_columns_ignored: list[str] = field(default_factory=list)
    sha256: str | None = None
    seconds: float = 0.0

    @property
    def adds_up(self) -> bool:
        return self.inserted + self.updated + self.unchanged + self.quarantined == self.read

    def add_reasons(self, reasons: Counter, warnings: Counter) -> None:
        self.quarantine_reasons = dict(Counter(self.quarantine_reasons) + reasons)
        self.warning_reasons = dict(Counter(self.warning_reasons) + warnings)
        self.warnings = sum(self.warning_reasons.values())

    def to_json(self) -> dict:
        data = asdict(self)
        data["counts_add_up"] = self.adds_up
        return data


def start_run(engine: Engine) -> int:
    with engine.begin() as conn:
        return conn.execute(
            insert(RUN).values(started_at=utcnow(), status="running", files=0)
        ).inserted_primary_key[0]


def finish_run(engine: Engine, run_id: int, reports: list[FileReport]) -> None:
    refused = [r for r in reports if r.status == "refused"]
    message = (
        f"{len(refused)} of {len(reports)} files refused: "
        + "; ".join(f"{r.path}: {r.message}" for r in refused)
        if refused
        else None
    )
    with engine.begin() as conn:
        conn.execute(
            update(RUN)
            .where(RUN.c.run_id == run_id)
            .values(
                finished_at=utcnow(),
                status="failed" if refused else "ok",
                files=len(reports),
                message=message,
            )
        )


def already_loaded(conn: Connection, sha256: str) -> bool:
    found = conn.execute(
        select(FILE.c.file_id).where(FILE.c.sha256 == sha256, FILE.c.status == "loaded").limit(1)
    ).first()
    return found is not None


def open_file(
    conn: Connection,
    run_id: int,
    report: FileReport,
    exported_at: dt.datetime | None,
    started: dt.datetime,
) -> int:
    return conn.execute(
        insert(FILE).values(
            run_id=run_id,
            file_name=report.path,
            sha256=report.sha256 or "",
            entity=report.entity,
            exported_at=exported_at,
            exported_at_source=report.exported_at_source,
            status="loading",
            started_at=started,
        )
    ).inserted_primary_key[0]


def close_file(conn: Connection, file_id: int, report: FileReport) -> None:
    conn.execute(
        update(FILE)
        .where(FILE.c.file_id == file_id)
        .values(
            status=report.status,
            entity=report.entity,
            rows_read=report.read,
            inserted=report.inserted,
            updated=report.updated,
            unchanged=report.unchanged,
            quarantined=report.quarantined,
            warnings=report.warnings,
            orphans=report.orphans,
            message=report.message,
            report_json=json.dumps(report.to_json()),
            finished_at=utcnow(),
        )
    )


def record_file(
    engine: Engine,
    run_id: int,
    report: FileReport,
    exported_at: dt.datetime | None,
    started: dt.datetime,
) -> None:
    """A ledger row for a file that was skipped or refused (nothing else written)."""
    with engine.begin() as conn:
        file_id = open_file(conn, run_id, report, exported_at, started)
        close_file(conn, file_id, report)


INTERRUPTED = (
    "Interrupted: this run stopped before it finished (its process was stopped or the machine "
    "restarted). A file it was loading was rolled back and stays in the inbox for the next run."
)


def close_interrupted_runs(engine: Engine) -> list[int]:
    """Runs still marked running: only called while holding the run lock, so each of them died
    without finishing. They are recorded as failed, with the reason."""
    with engine.begin() as conn:
        ids = [r for (r,) in conn.execute(select(RUN.c.run_id).where(RUN.c.status == "running"))]
        if ids:
            conn.execute(
                update(RUN)
                .where(RUN.c.run_id.in_(ids))
                .values(status="failed", finished_at=utcnow(), message=INTERRUPTED)
            )
    return ids


def last_run_id(engine: Engine) -> int | None:
    with engine.connect() as conn:
        return conn.execute(select(func.max(RUN.c.run_id))).scalar()


@dataclass(frozen=True)
class Latest:
    """What the ledger says now: the newest loaded file (its id is the data version) and the
    last finished run. Read by the dashboard's status poll and by /healthz / `sis status`."""

    version: int | None
    newest_export: dt.datetime | None
    last_loaded_at: dt.datetime | None
    last_run: str | None
    last_run_at: dt.datetime | None
    last_run_message: str | None


def latest(conn: Connection) -> Latest:
    version, newest, loaded_at = conn.execute(
        select(
            func.max(FILE.c.file_id), func.max(FILE.c.exported_at), func.max(FILE.c.finished_at)
        ).where(FILE.c.status == "loaded")
    ).one()
    last = conn.execute(
        select(RUN.c.status, RUN.c.finished_at, RUN.c.message)
        .where(RUN.c.finished_at.is_not(None))
        .order_by(RUN.c.run_id.desc())
        .limit(1)
    ).first()
    return Latest(version, newest, loaded_at, *(last or (None, None, None)))
