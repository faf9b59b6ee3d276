"""One ETL run at a time, across processes and machines.

PostgreSQL: a session-level advisory lock on a connection held open for the whole run; if the
process dies, the server ends the session and the lock with it. SQLite: an exclusive `flock` on
a file beside the database; the operating system releases it when the process dies. Either way
a crashed run's lock is released by the system, never by a person.

A second run waits up to SIS_RUN_LOCK_WAIT seconds, then gives up with RunInProgress.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

log = logging.getLogger(__name__)
LOCK_KEY = 0x5155_0001  # the advisory lock's number: "SIS ETL run"
POLL = 0.25  # seconds between attempts while waiting


class RunInProgress(RuntimeError):
    """Another run holds the lock; this one loaded nothing."""


@contextmanager
def hold(engine: Engine, wait: float) -> Iterator[None]:
    """Hold the run lock for the `with` block, waiting at most `wait` seconds for it."""
    if engine.dialect.name == "postgresql":
        with _advisory(engine, wait):
            yield
    else:
        with _file_lock(_lock_path(engine), wait):
            yield


def _give_up(wait: float) -> RunInProgress:
    return RunInProgress(
        f"Another ETL run is in progress (waited {wait:g} seconds for it to finish), so this run "
        "loaded nothing. The files stay in the inbox; the next run will load them."
    )


@contextmanager
def _advisory(engine: Engine, wait: float) -> Iterator[None]:
    deadline = time.monotonic() + wait
    with engine.connect() as conn:
        while not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar():
            conn.rollback()
            if time.monotonic() >= deadline:
                raise _give_up(wait)
            time.sleep(POLL)
        conn.commit()  # the lock belongs to the session, not to a transaction
        log.info("run lock taken (PostgreSQL advisory lock %d)", LOCK_KEY)
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
            conn.commit()


def _lock_path(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        from etl import settings

        return settings.instance_dir() / "etl-run.lock"
    return Path(database).with_name(Path(database).name + ".etl-run.lock")


@contextmanager
def _file_lock(path: Path, wait: float) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise _give_up(wait) from None
                time.sleep(POLL)
        log.info("run lock taken (%s)", path.name)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
