"""`sis etl schedule`: run the ETL on the inbox on a cron expression until stopped.

APScheduler's BlockingScheduler fires `runner.run_locked` on SIS_ETL_SCHEDULE (Europe/London);
runs never overlap in this process (max_instances=1, missed fires coalesced) and the run lock
keeps them from overlapping with any other process or machine. A run that fails is logged, in
the ledger and notified by run_locked; the scheduler carries on. SIGTERM or SIGINT stops it
once a run in progress has finished (each file is one transaction either way).
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine

from etl import runner
from etl.runlock import RunInProgress
from etl.settings import ConfigError

log = logging.getLogger("sis.schedule")
TIMEZONE = "Europe/London"


def trigger(expression: str) -> CronTrigger:
    """Five cron fields (minute hour day month weekday), or six with seconds first."""
    fields = expression.split()
    try:
        if len(fields) == 5:
            return CronTrigger.from_crontab(expression, timezone=TIMEZONE)
        if len(fields) == 6:
            second, minute, hour, day, month, weekday = fields
            return CronTrigger(
                second=second,
                minute=minute,
                hour=hour,
                day=day,
                month=month,
                day_of_week=weekday,
                timezone=TIMEZONE,
            )
    except ValueError as error:
        raise ConfigError(
            f"SIS_ETL_SCHEDULE {expression!r} is not a cron expression: {error}"
        ) from None
    raise ConfigError(
        f"SIS_ETL_SCHEDULE {expression!r} is not a cron expression: give five fields "
        "(minute hour day month weekday, e.g. '*/15 * * * *') or six with seconds first."
    )


def run_once(make_engine: Callable[[], Engine]) -> None:
    """One scheduled run of the inbox; never raises (the scheduler must keep going)."""
    try:
        runner.run_locked(make_engine())
    except RunInProgress as error:
        log.warning("scheduled run skipped: %s", error)
    except runner.WarehouseUnavailable as error:  # logged and notified by run_locked
        log.error("scheduled run failed: %s", error)
    except Exception:
        log.exception("scheduled run failed")


def serve(make_engine: Callable[[], Engine], expression: str) -> None:
    scheduler = BlockingScheduler(timezone=TIMEZONE)
    scheduler.add_job(
        run_once,
        trigger(expression),
        args=[make_engine],
        id="etl",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=300,
    )

    def stop(signum: int, _frame: object) -> None:
        log.info(
            "scheduler stopping (%s); a run in progress finishes first", signal.strsignal(signum)
        )
        scheduler.shutdown(wait=False)

    # Handled here, not left to Python's defaults: a process manager stops the clock with
    # SIGTERM, which would otherwise kill it mid-run; and a clock started from a script in
    # the background inherits SIGINT ignored, which would otherwise never stop it.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop)
    log.info("ETL scheduled on %r (%s)", expression, TIMEZONE)
    scheduler.start()
    log.info("scheduler stopped")
