"""`sis users ...` and `sis links ...` (issue 5): accounts with argon2id passwords (prompted or
generated), and commissioner links whose URL is printed last and really opens the dashboard,
listed as JSON and revoked. SQLite, and one round trip on every backend."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from urllib.parse import urlsplit

import dash
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine

from dashboard.access import accounts, links
from etl.cli import main
from etl.db import make_engine, upgrade
from tests.test_access_security import database_url, start_app

LINK_FIELDS = {"id", "label", "created", "expires", "last_used", "uses", "revoked"}
NEW_PASSWORD = "a long enough new passphrase"


def sis(*args: str, input_: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input_, catch_exceptions=False)


def ok(*args: str, input_: str | None = None) -> Result:
    result = sis(*args, input_=input_)
    assert result.exit_code == 0, result.output
    return result


def _utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.removesuffix("Z")).replace(tzinfo=None)


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """A migrated SQLite warehouse that `sis` uses (DATABASE_URL)."""
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    engine = make_engine(url)
    upgrade(engine)
    monkeypatch.setenv("DATABASE_URL", url)
    return engine


@pytest.fixture
def app(warehouse: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dash.Dash:
    return start_app(warehouse, tmp_path, monkeypatch)


def test_users_add_generates_a_password_that_signs_in(warehouse: Engine) -> None:
    out = ok("users", "add", "robin", "--role", "admin", "--generate").stdout.splitlines()
    assert out[0] == "Added robin (admin)."
    password = out[-1].removeprefix("Password (shown once): ")
    assert password != out[-1] and len(password) >= 16
    account = accounts.verify(warehouse, "robin", password)
    assert account is not None and account.role == "admin" and not account.disabled
    assert accounts.verify(warehouse, "robin", password + "x") is None
    stored = repr(accounts.all_accounts(warehouse)) + str(warehouse.url)
    assert password not in stored


def test_users_add_prompts_for_a_password_twice_and_checks_it(warehouse: Engine) -> None:
    ok("users", "add", "alex", input_="a long enough passphrase\na long enough passphrase\n")
    account = accounts.verify(warehouse, "alex", "a long enough passphrase")
    assert account is not None and account.role == "manager"  # the default role
    short = sis("users", "add", "sam", input_="short\nshort\n")
    assert short.exit_code != 0 and "at least 12 characters" in short.output
    mismatch = sis(
        "users", "add", "sam", input_="a long enough passphrase\nsomething else entirely\n"
    )
    assert mismatch.exit_code != 0
    assert accounts.get(warehouse, "sam") is None
    again = sis("users", "add", "alex", "--generate")
    assert again.exit_code == 1 and "already a user called 'alex'" in again.output
    bad_role = sis("users", "add", "kim", "--role", "commissioner", "--generate")
    assert bad_role.exit_code == 2 and accounts.get(warehouse, "kim") is None


def test_users_list_disable_and_set_password(warehouse: Engine) -> None:
    for name, role in (("alex", "manager"), ("robin", "admin")):
        accounts.add(warehouse, name, role, "the first passphrase")
    listed = [line.split("\t") for line in ok("users", "list").stdout.splitlines()]
    assert [row[:3] for row in listed] == [
        ["alex", "manager", "active"],
        ["robin", "admin", "active"],
    ]
    assert ok("users", "disable", "alex").stdout.strip() == "Disabled alex."
    listed = [line.split("\t") for line in ok("users", "list").stdout.splitlines()]
    assert listed[0][:3] == ["alex", "manager", "disabled"]
    assert accounts.verify(warehouse, "alex", "the first passphrase") is None
    missing = sis("users", "disable", "nobody")
    assert missing.exit_code == 1 and "no user called 'nobody'" in missing.output
    epoch = accounts.get(warehouse, "robin").session_epoch  # type: ignore[union-attr]
    ok("users", "set-password", "robin", input_=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n")
    assert accounts.verify(warehouse, "robin", "the first passphrase") is None
    assert accounts.verify(warehouse, "robin", NEW_PASSWORD) is not None
    assert accounts.get(warehouse, "robin").session_epoch > epoch  # type: ignore[union-attr]
    generated = ok("users", "set-password", "robin", "--generate").stdout.splitlines()[-1]
    password = generated.removeprefix("Password (shown once): ")
    assert accounts.verify(warehouse, "robin", password) is not None
    assert accounts.verify(warehouse, "robin", NEW_PASSWORD) is None
    assert sis("users", "set-password", "nobody", "--generate").exit_code == 1


def test_links_create_prints_a_working_url_last(app: dash.Dash, warehouse: Engine) -> None:
    made = ok(
        "links",
        "create",
        "--label",
        "BNSSG ICB",
        "--expires",
        "90d",
        "--base-url",
        "https://sis.example.org/",
    )
    url = made.stdout.strip().splitlines()[-1]
    assert url.startswith("https://sis.example.org/link/")
    token = url.rsplit("/", 1)[1]
    assert len(token) >= 22  # at least 128 random bits
    link = links.by_token(warehouse, token)
    assert link is not None and link.label == "BNSSG ICB" and link.created_by == "cli"
    assert link.expires is not None
    assert abs((link.expires - link.created) - dt.timedelta(days=90)) < dt.timedelta(minutes=1)
    assert token not in repr(links.all_links(warehouse))  # only its hash is kept
    client = app.server.test_client()
    opened = client.get(urlsplit(url).path)
    assert opened.status_code == 303 and urlsplit(opened.headers["Location"]).path == "/"
    assert client.get("/_dash-layout").status_code == 200
    forever = ok("links", "create", "--label", "Forever ICB", "--expires", "never")
    forever_link = links.by_token(warehouse, forever.stdout.strip().rsplit("/", 1)[1])
    assert forever_link is not None and forever_link.expires is None
    assert forever.stdout.strip().splitlines()[-1].startswith("http://127.0.0.1:8050/link/")
    bad = sis("links", "create", "--label", "Soon ICB", "--expires", "soon")
    assert bad.exit_code == 1 and "not a duration" in bad.output
    assert [x.label for x in links.all_links(warehouse)] == ["BNSSG ICB", "Forever ICB"]


def test_links_list_json_and_revoke(app: dash.Dash, warehouse: Engine) -> None:
    url = ok("links", "create", "--label", "BNSSG ICB").stdout.strip().splitlines()[-1]
    client = app.server.test_client()
    assert client.get(urlsplit(url).path).status_code == 303
    ok("links", "create", "--label", "Unused ICB", "--expires", "12w")
    listed = json.loads(ok("links", "list", "--json").stdout)
    assert [x["label"] for x in listed] == ["BNSSG ICB", "Unused ICB"]
    for x in listed:
        assert set(x) >= LINK_FIELDS, x
        assert x["revoked"] is None and _utc(x["created"]) <= _utc(x["expires"])
    used, unused = listed
    assert used["uses"] == 1 and used["last_used"] is not None
    assert unused["uses"] == 0 and unused["last_used"] is None
    assert _utc(unused["expires"]) - _utc(unused["created"]) == dt.timedelta(weeks=12)
    text = ok("links", "list").stdout.splitlines()
    assert text[0].startswith(f"{used['id']}\tBNSSG ICB\t") and "active" in text[0]
    assert ok("links", "revoke", str(used["id"])).stdout.strip() == f"Revoked link {used['id']}."
    assert client.get("/_dash-layout").status_code == 401  # cut off at once
    after = json.loads(ok("links", "list", "--json").stdout)
    assert after[0]["revoked"] is not None and after[1]["revoked"] is None
    assert "revoked" in ok("links", "list").stdout.splitlines()[0]
    missing = sis("links", "revoke", "999")
    assert missing.exit_code == 1 and "no link with id 999" in missing.output


def test_a_cli_round_trip_on_every_backend(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url(engine))
    password = ok("users", "add", "robin", "--role", "admin", "--generate").stdout.splitlines()[-1]
    assert accounts.verify(engine, "robin", password.removeprefix("Password (shown once): "))
    assert ok("users", "list").stdout.startswith("robin\tadmin\tactive")
    url = ok("links", "create", "--label", "BNSSG ICB").stdout.strip().splitlines()[-1]
    link = links.by_token(engine, url.rsplit("/", 1)[1])
    assert link is not None
    listed = json.loads(ok("links", "list", "--json").stdout)
    assert [(x["id"], x["label"], x["uses"]) for x in listed] == [(link.id, "BNSSG ICB", 0)]
    ok("links", "revoke", str(link.id))
    assert json.loads(ok("links", "list", "--json").stdout)[0]["revoked"] is not None
    ok("users", "disable", "robin")
    assert "disabled" in ok("users", "list").stdout
