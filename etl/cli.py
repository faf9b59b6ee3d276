"""The `sis` command line."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click

from etl import settings
from etl.settings import ConfigError

EXIT_RUN_IN_PROGRESS = 75  # EX_TEMPFAIL: another run holds the lock; try again later
EXIT_WAREHOUSE = 3  # the warehouse could not be reached; nothing loaded


def _engine():  # noqa: ANN202
    from etl.db import make_engine

    return make_engine()


@click.group()
def main() -> None:
    """Self-Injury Service dashboard: warehouse, ETL and KPIs."""


@main.group()
def db() -> None:
    """The warehouse schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the warehouse schema to the newest version."""
    from etl.db import current_revision, upgrade

    engine = _engine()
    upgrade(engine)
    click.echo(f"Warehouse schema at revision {current_revision(engine)}.")


def _parse_exported_at(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter("use ISO 8601, e.g. 2025-06-15T17:05") from exc
    if when.tzinfo is not None:
        from zoneinfo import ZoneInfo

        when = when.astimezone(ZoneInfo("Europe/London")).replace(tzinfo=None)
    return when


@main.group()
def etl() -> None:
    """Load caseload exports."""


@etl.command("run")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--profile", default="default", show_default=True, help="Source profile name.")
@click.option("--exported-at", help="Export time (Europe/London unless an offset is given).")
@click.option("--json", "as_json", is_flag=True, help="Print the run report as one JSON object.")
def etl_run(paths: tuple[Path, ...], profile: str, exported_at: str | None, as_json: bool) -> None:
    """Load PATHS, or every new file in the inbox (SIS_INBOX) when none are given."""
    from etl import logs, runner
    from etl.profiles import ProfileError
    from etl.runlock import RunInProgress

    logs.configure()
    when = _parse_exported_at(exported_at)
    engine = _engine()
    try:
        reports = runner.run_locked(engine, list(paths) if paths else None, profile, when)
    except (ConfigError, ProfileError) as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    except RunInProgress as exc:
        click.echo(f"Not run: {exc}", err=True)
        sys.exit(EXIT_RUN_IN_PROGRESS)
    except runner.WarehouseUnavailable as exc:
        click.echo(f"Not run: {exc}", err=True)
        sys.exit(EXIT_WAREHOUSE)
    if as_json:
        click.echo(json.dumps({"files": [r.to_json() for r in reports]}, indent=2))
    else:
        if not reports:
            click.echo(f"No files to load in {settings.inbox_dir()}.")
        for report in reports:
            click.echo(runner.describe(report))
    sys.exit(1 if any(r.status == "refused" for r in reports) else 0)


@etl.command("schedule")
def etl_schedule() -> None:
    """Run the ETL on the inbox on SIS_ETL_SCHEDULE until stopped (the Procfile's clock)."""
    from etl import logs, schedule

    logs.configure()
    try:
        schedule.serve(_engine, settings.get("SIS_ETL_SCHEDULE"))
    except ConfigError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)


@main.command("status")
@click.option("--json", "as_json", is_flag=True, help="The same JSON as /healthz.")
def status_command(as_json: bool) -> None:
    """Is the warehouse reachable, when was the last successful load, is it stale.
    Exit status 0 when fresh, 1 when stale or the last run failed, 2 when unreachable."""
    from etl.health import describe, health

    body, code = health(_engine())
    click.echo(json.dumps(body, indent=2) if as_json else describe(body))
    sys.exit(
        0
        if code == 200 and not body["stale"] and body["last_run"] != "failed"
        else 1
        if code == 200
        else 2
    )


@main.command("demo-data")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--referrals", default=3000, show_default=True, help="Number of referrals.")
@click.option("--seed", default=1, show_default=True, help="Random seed.")
@click.option("--months", default=24, show_default=True, help="Months of history.")
@click.option(
    "--shapes",
    type=click.Choice(["mixed", "csv"]),
    default="mixed",
    show_default=True,
    help="mixed: several messy export shapes; csv: plain CSV (for benchmarks).",
)
def demo_data(directory: Path, referrals: int, seed: int, months: int, shapes: str) -> None:
    """Write realistic, messy exports of a simulated service into DIRECTORY."""
    from etl.demo import write_demo_exports

    directory.mkdir(parents=True, exist_ok=True)
    for path in write_demo_exports(directory, referrals, seed, months, shapes=shapes):
        click.echo(str(path))


@main.command()
@click.option("--port", default=8050, show_default=True)
@click.option("--referrals", default=3000, show_default=True, help="Size of the demo service.")
def demo(port: int, referrals: int) -> None:
    """Set up a demo warehouse (SQLite, simulated data) and serve the dashboard on it."""
    import os

    from sqlalchemy import func, select

    from etl import runner
    from etl.db import upgrade
    from etl.demo import write_demo_exports
    from etl.models import EtlFile

    os.environ["SIS_ENV"] = "demo"
    engine = _engine()
    upgrade(engine)
    with engine.connect() as conn:
        loaded = conn.execute(select(func.count()).select_from(EtlFile)).scalar()
    if not loaded:
        inbox = settings.inbox_dir()
        inbox.mkdir(parents=True, exist_ok=True)
        click.echo(f"Writing a simulated service's exports ({referrals} referrals) to {inbox}")
        write_demo_exports(inbox, referrals, seed=1)
        for report in runner.run(engine):
            click.echo(runner.describe(report))
    click.echo(f"Dashboard on http://127.0.0.1:{port} (Ctrl+C stops it)")
    gunicorn = Path(sys.executable).with_name("gunicorn")
    os.execv(
        gunicorn,
        [str(gunicorn), "--bind", f"127.0.0.1:{port}", "--workers", "2", "dashboard.app:server"],
    )


def _register_kpi_commands() -> None:
    from kpi.cli import kpis, spc_command

    main.add_command(kpis)
    main.add_command(spc_command)
    from dashboard.access.cli import links_group, users

    main.add_command(users)
    main.add_command(links_group)


_register_kpi_commands()


if __name__ == "__main__":
    main()
