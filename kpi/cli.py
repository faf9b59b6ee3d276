"""`sis kpis` and `sis spc`: the KPI report and SPC for any series, on the command line."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import click

from etl.schema import REFERRAL_SOURCES
from kpi.measures import BY_ID, SettingError

MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
UNITS = {"hours_to_contact": " h", "sessions_per_referral": ""}


def _month(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not MONTH.fullmatch(value):
        raise click.BadParameter("use YYYY-MM, e.g. 2025-03")
    return value


def _as_of(_ctx: click.Context, _param: click.Parameter, value: str | None):  # noqa: ANN202
    if value is None:
        return None
    from kpi.report import parse_as_of

    try:
        return parse_as_of(value)
    except ValueError:
        raise click.BadParameter("use ISO 8601, e.g. 2025-06-15T17:05 (London time)") from None


def _shown(record: dict[str, Any], measure_id: str) -> str:
    value = record.get("value")
    if value is None:
        return "-"
    if value == "*":
        return "*"
    kind = BY_ID[measure_id].kind
    if kind == "rate":
        return f"{value:.1f}%"
    return f"{value}{UNITS.get(measure_id, '')}"


def _detail(record: dict[str, Any]) -> str:
    if "numerator" in record:
        text = f"{record['numerator']} / {record['denominator']}"
        return text + (f", {record['pending']} pending" if record.get("pending") else "")
    if "median" in record and "p90" in record:
        return f"n {record['n']}, 90th percentile {record['p90']}"
    if "mean" in record:
        return f"n {record['n']}, median {record['median']}"
    if "breaching" in record:
        return f"{record['breaching']} waited over 72 h"
    return ""


def render_table(report: dict[str, Any]) -> str:
    """The report as a plain-text table for a terminal."""
    period = report["period"]
    lines = [
        f"KPIs as of {report['as_of'] or 'no data loaded yet'} ({report['audience']} view), "
        f"{period['from']} to {period['to']}"
        + (f", source {report['source']}" if report["source"] else ""),
        "",
        f"{'Measure':<42}{'Value':>9}  {'Detail':<30}{'Target':>8}  SPC",
    ]
    for measure_id, record in report["measures"].items():
        if measure_id not in BY_ID:
            continue
        target = record.get("target")
        spc = record.get("spc") or {}
        icons = " / ".join(
            str(spc.get(k)).replace("_", " ")
            for k in ("variation_icon", "assurance_icon")
            if spc.get(k)
        )
        lines.append(
            f"{record['name']:<42}{_shown(record, measure_id):>9}  {_detail(record):<30}"
            f"{'' if target is None else f'{target:g}':>8}  {icons}"
        )
    return "\n".join(lines)


@click.command("kpis")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option(
    "--audience",
    type=click.Choice(["manager", "commissioner"]),
    default="manager",
    show_default=True,
    help="commissioner: every figure through disclosure control.",
)
@click.option("--from", "month_from", callback=_month, help="First month, YYYY-MM.")
@click.option("--to", "month_to", callback=_month, help="Last month, YYYY-MM.")
@click.option(
    "--source",
    type=click.Choice(REFERRAL_SOURCES),
    help="Only referrals from this referral source.",
)
@click.option(
    "--as-of", "as_of", callback=_as_of, help="Judge as at this time (default: newest export)."
)
def kpis(
    as_json: bool,
    audience: str,
    month_from: str | None,
    month_to: str | None,
    source: str | None,
    as_of,  # noqa: ANN001
) -> None:
    """Every measure of the KPI definitions, for managers or commissioners."""
    from etl.db import make_engine
    from kpi.report import build_report

    if month_from and month_to and month_from > month_to:
        raise click.BadParameter("--from is after --to", param_hint="--from")
    try:
        report = build_report(make_engine(), as_of, audience, month_from, month_to, source)
    except SettingError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(report, default=str))
    else:
        click.echo(render_table(report))


@click.command("spc")
@click.option(
    "--improvement",
    type=click.Choice(["up", "down", "neutral"]),
    default="neutral",
    show_default=True,
    help="Which direction is better.",
)
@click.option("--target", type=float, help="Target, for the assurance icon.")
@click.argument("file", type=click.File("r"), default="-")
def spc_command(improvement: str, target: float | None, file) -> None:  # noqa: ANN001
    """SPC (XmR, Making Data Count) of a `period,value` CSV from FILE or standard input."""
    from kpi.spc import read_series, xmr

    try:
        series = read_series(file.read())
    except ValueError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    click.echo(json.dumps(xmr(series, improvement=improvement, target=target)))
