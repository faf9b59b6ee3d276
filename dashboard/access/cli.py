"""`sis users ...` and `sis links ...`: accounts and commissioner links, for the person on the
server."""

from __future__ import annotations

import json

import click

from dashboard.access import accounts, links
from etl import settings


def _engine():  # noqa: ANN202
    from etl.db import make_engine

    return make_engine()


def _fail(error: Exception) -> None:
    raise click.ClickException(str(error))


@click.group()
def users() -> None:
    """Manager and administrator accounts."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(accounts.ROLES), default="manager", show_default=True)
@click.option("--generate", is_flag=True, help="Make a strong password and print it once.")
def users_add(name: str, role: str, generate: bool) -> None:
    """Add an account (asks for its password unless --generate)."""
    password = accounts.generate_password() if generate else _ask_password()
    try:
        account = accounts.add(_engine(), name, role, password)
    except accounts.AccountError as error:
        _fail(error)
    click.echo(f"Added {account.name} ({account.role}).")
    if generate:
        click.echo(f"Password (shown once): {password}")


def _ask_password() -> str:
    return click.prompt(
        f"Password (at least {accounts.MIN_PASSWORD} characters)",
        hide_input=True,
        confirmation_prompt=True,
    )


@users.command("list")
def users_list() -> None:
    """Every account, its role and whether it is disabled."""
    for a in accounts.all_accounts(_engine()):
        state = "disabled" if a.disabled else "active"
        click.echo(f"{a.name}\t{a.role}\t{state}\tcreated {a.created_at:%Y-%m-%d}")


@users.command("disable")
@click.argument("name")
def users_disable(name: str) -> None:
    """Disable an account; its open sessions end at their next request."""
    try:
        accounts.disable(_engine(), name)
    except accounts.AccountError as error:
        _fail(error)
    click.echo(f"Disabled {name}.")


@users.command("set-password")
@click.argument("name")
@click.option("--generate", is_flag=True, help="Make a strong password and print it once.")
def users_set_password(name: str, generate: bool) -> None:
    """Set a new password; the account's open sessions end."""
    password = accounts.generate_password() if generate else _ask_password()
    try:
        accounts.set_password(_engine(), name, password)
    except accounts.AccountError as error:
        _fail(error)
    click.echo(f"New password set for {name}.")
    if generate:
        click.echo(f"Password (shown once): {password}")


@click.group("links")
def links_group() -> None:
    """Read-only commissioner links."""


@links_group.command("create")
@click.option("--label", required=True, help="Who the link is for, e.g. 'BNSSG ICB'.")
@click.option("--expires", default="90d", show_default=True, help="90d, 12w, 36h or never.")
@click.option("--base-url", default=None, help="The dashboard's public address.")
def links_create(label: str, expires: str, base_url: str | None) -> None:
    """Make a link; its address is printed once, as the last line."""
    try:
        link, token = links.create(_engine(), label, links.parse_duration(expires), "cli")
    except accounts.AccountError as error:
        _fail(error)
    base = base_url or settings.get("SIS_BASE_URL") or "http://127.0.0.1:8050"
    until = f"{link.expires:%Y-%m-%d %H:%M} UTC" if link.expires else "never"
    click.echo(f"Link {link.id} for {link.label}, expires {until}. Send it privately:")
    click.echo(links.url(base, token))


@links_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array.")
def links_list(as_json: bool) -> None:
    """Every link: id, label, created, expires, last used, uses, revoked."""
    every = [link.as_json() for link in links.all_links(_engine())]
    if as_json:
        click.echo(json.dumps(every, indent=2))
        return
    for link in every:
        state = f"revoked {link['revoked']}" if link["revoked"] else "active"
        click.echo(
            f"{link['id']}\t{link['label']}\tcreated {link['created']}\t"
            f"expires {link['expires'] or 'never'}\tlast used {link['last_used'] or 'never'}\t"
            f"{link['uses']} uses\t{state}"
        )


@links_group.command("revoke")
@click.argument("link_id", type=int)
def links_revoke(link_id: int) -> None:
    """Revoke a link: it stops working at once, also for a browser already inside."""
    try:
        links.revoke(_engine(), link_id)
    except accounts.AccountError as error:
        _fail(error)
    click.echo(f"Revoked link {link_id}.")
