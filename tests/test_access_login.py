"""Signing in (issue 5), on every backend: a correct sign-in and where it leads, rate limiting
per account and per address (429), CSRF on the sign-in, sign-out and admin forms, the Origin
check, and one failure message whatever was wrong."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote, urlsplit

import dash
import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine
from werkzeug.test import TestResponse

from dashboard.access import accounts, links
from tests.conftest import signed_in
from tests.test_access_security import HTML, assert_no_data, start_app

PASSWORD = "correct horse battery staple"


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF field on the page"
    return match.group(1)


def sign_in(
    client: FlaskClient,
    name: str,
    password: str,
    next_: str | None = None,
    **headers: str,
) -> TestResponse:
    """Open the sign-in page and post its form, as a browser does."""
    page = client.get("/login" + (f"?next={quote(next_, safe='')}" if next_ else ""))
    assert page.status_code == 200
    form = {"name": name, "password": password, "csrf_token": csrf_of(page.get_data(as_text=True))}
    if next_ is not None:
        form["next"] = next_
    return client.post("/login", data=form, headers=headers)


def signed_in_as(client: FlaskClient) -> str | None:
    """Who the dashboard's layout says is signed in (None: the layout is refused)."""
    layout = client.get("/_dash-layout")
    if layout.status_code != 200:
        assert layout.status_code == 401
        assert_no_data(layout)
        return None
    match = re.search(r"Signed in as ([^.]+) \(", layout.get_data(as_text=True))
    return match.group(1) if match else "?"


@pytest.fixture
def app(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dash.Dash:
    return start_app(engine, tmp_path, monkeypatch)


@pytest.fixture
def alex(engine: Engine) -> accounts.Account:
    return accounts.add(engine, "alex", "manager", PASSWORD)


def test_a_correct_sign_in_goes_to_next_and_never_off_site(
    app: dash.Dash, alex: accounts.Account
) -> None:
    client = app.server.test_client()
    assert signed_in_as(client) is None
    done = sign_in(client, "alex", PASSWORD, "/timeliness?source=gp")
    assert done.status_code == 303
    target = urlsplit(done.headers["Location"])
    assert (target.path, target.query) == ("/timeliness", "source=gp")
    assert signed_in_as(client) == "alex"
    for evil in ("//evil.example", "//evil.example/x", "https://evil.example/", "/\\evil.example"):
        other = app.server.test_client()
        page = other.get("/login?next=" + quote(evil, safe=""))
        assert "evil.example" not in page.get_data(as_text=True), evil
        done = sign_in(other, "alex", PASSWORD, evil)
        assert done.status_code == 303, evil
        target = urlsplit(done.headers["Location"])
        assert target.netloc in ("", "localhost") and target.path == "/", (evil, target)
        assert signed_in_as(other) == "alex"


def test_a_next_address_with_control_characters_never_leads_off_site(
    app: dash.Dash, alex: accounts.Account
) -> None:
    """Browsers drop tabs and newlines from an address (WHATWG URL), so "/<TAB>/evil.example"
    is "//evil.example", another site; a sign-in must still land on this site, not fail."""
    problems = []
    for evil in ("/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", "/\t\\evil.example"):
        client = app.server.test_client()
        done = sign_in(client, "alex", PASSWORD, evil)
        location = done.headers.get("Location", "")
        as_browsed = re.sub(r"[\t\n\r]", "", location).removeprefix("http://localhost")
        on_site = as_browsed.startswith("/") and not as_browsed.startswith(("//", "/\\"))
        if done.status_code != 303 or not on_site:
            problems.append((evil, done.status_code, location))
    assert problems == []


def test_wrong_passwords_for_one_account_get_429_by_the_sixth_attempt(
    app: dash.Dash, engine: Engine, alex: accounts.Account
) -> None:
    client = app.server.test_client()
    codes = [sign_in(client, "alex", f"not the password {i}").status_code for i in range(6)]
    assert codes == [401] * 5 + [429]
    blocked = sign_in(client, "alex", PASSWORD)  # the right password, while blocked
    assert blocked.status_code == 429
    assert "Too many failed sign-ins" in blocked.get_data(as_text=True)
    assert signed_in_as(client) is None
    # The limit is the account's: another account signs in from the same address.
    accounts.add(engine, "sam", "manager", PASSWORD)
    assert sign_in(app.server.test_client(), "sam", PASSWORD).status_code == 303


def test_failures_from_one_address_get_429_by_the_21st(
    app: dash.Dash, alex: accounts.Account
) -> None:
    client = app.server.test_client()
    client.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    codes = [sign_in(client, f"guess-{i}", f"not the password {i}").status_code for i in range(20)]
    assert codes == [401] * 20  # each name failed once: no account's limit was reached
    blocked = sign_in(client, "alex", PASSWORD)  # the 21st, right name and password
    assert blocked.status_code == 429
    assert signed_in_as(client) is None
    elsewhere = app.server.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "198.51.100.8"
    assert sign_in(elsewhere, "alex", PASSWORD).status_code == 303


def test_the_failure_message_is_the_same_for_an_unknown_name_and_a_wrong_password(
    app: dash.Dash, alex: accounts.Account
) -> None:
    client = app.server.test_client()
    unknown = sign_in(client, "nobody-by-this-name", "not the password 1")
    wrong = sign_in(client, "alex", "not the password 1")
    assert unknown.status_code == wrong.status_code == 401
    first = unknown.get_data(as_text=True).replace("nobody-by-this-name", "NAME")
    second = wrong.get_data(as_text=True).replace('value="alex"', 'value="NAME"')
    assert first == second
    assert "do not match an account" in first
    assert signed_in_as(client) is None


def test_sign_in_and_sign_out_without_a_csrf_token_are_refused(
    app: dash.Dash, alex: accounts.Account
) -> None:
    client = app.server.test_client()
    assert client.get("/login").status_code == 200  # the session holds a token now
    form = {"name": "alex", "password": PASSWORD}
    for sent in (form, {**form, "csrf_token": ""}, {**form, "csrf_token": "made-up"}):
        refused = client.post("/login", data=sent)
        assert refused.status_code == 400, sent.get("csrf_token")
        assert signed_in_as(client) is None
    other = app.server.test_client()
    foreign = csrf_of(other.get("/login").get_data(as_text=True))
    assert client.post("/login", data={**form, "csrf_token": foreign}).status_code == 400
    assert signed_in_as(client) is None
    # Sign-out is a form too: without its token it does nothing.
    assert sign_in(client, "alex", PASSWORD).status_code == 303
    assert client.post("/logout").status_code == 400
    assert signed_in_as(client) == "alex"
    token = csrf_of(client.get("/login").get_data(as_text=True))
    out = client.post("/logout", data={"csrf_token": token})
    assert out.status_code == 303 and urlsplit(out.headers["Location"]).path == "/login"
    assert signed_in_as(client) is None


def test_admin_actions_without_a_csrf_token_are_refused_and_change_nothing(
    app: dash.Dash, engine: Engine
) -> None:
    admin = signed_in(app.server, "admin")
    page = admin.get("/admin", headers=HTML)
    assert page.status_code == 200
    token = csrf_of(page.get_data(as_text=True))
    link, _ = links.create(engine, "BNSSG ICB", None, "test")
    before = links.all_links(engine)
    for sent in ({}, {"csrf_token": ""}, {"csrf_token": token[:-2] + "xx"}):
        made = admin.post("/admin/links", data={"label": "Another ICB", "expires": "30d", **sent})
        assert made.status_code == 400
        revoked = admin.post(f"/admin/links/{link.id}/revoke", data=sent)
        assert revoked.status_code == 400
        assert links.all_links(engine) == before
    # With the page's token both work: the refusals above were the CSRF check.
    made = admin.post(
        "/admin/links", data={"label": "Another ICB", "expires": "30d", "csrf_token": token}
    )
    assert made.status_code == 200
    new_url = re.search(r"https?://[^\s\"<]+/link/[A-Za-z0-9_-]+", made.get_data(as_text=True))
    assert new_url and len(links.all_links(engine)) == 2
    commissioner = app.server.test_client()
    assert commissioner.get(urlsplit(new_url.group()).path).status_code == 303
    assert (
        admin.post(f"/admin/links/{link.id}/revoke", data={"csrf_token": token}).status_code == 303
    )
    assert links.get(engine, link.id).revoked is not None  # type: ignore[union-attr]


def test_a_post_from_another_site_is_refused(app: dash.Dash, alex: accounts.Account) -> None:
    client = app.server.test_client()
    refused = sign_in(client, "alex", PASSWORD, Origin="https://evil.example")
    assert refused.status_code == 403
    assert signed_in_as(client) is None
    assert sign_in(client, "alex", PASSWORD, Origin="http://localhost").status_code == 303
    assert signed_in_as(client) == "alex"
