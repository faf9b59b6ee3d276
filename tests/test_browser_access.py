"""Access in a real browser (issue 5's acceptance): a commissioner opens a link and sees the
Overview with small numbers suppressed but not the Waiting list; an administrator signs in and
revokes the link; the commissioner's next interaction is refused.

`gunicorn dashboard.app:server` (2 workers) serves a small simulated service (so that one month's
figures are small) from a SQLite warehouse in production mode: every route needs a session.
Two headless Chromium browsers: the commissioner's and the administrator's. What the pages
should show comes from `sis kpis --json` for each audience. Nothing sleeps; nothing skips.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser import (
    CARD_IDS,
    Reports,
    Server,
    choose,
    chromium,
    console_errors,
    expected_cards,
    month_label,
    production_environment,
    sign_in,
    sis,
    texts,
    wait_for_figures,
)

WAIT = 30  # ceiling for a page's first render on a slow CI machine
# Polling for the data version would be a request of its own: far apart, so the filter change is
# the open page's next request after the link is revoked.
POLL_SECONDS = 3600
LABEL = "BNSSG ICB"
ADMIN = "ada"
ACCOUNT_LINE = (
    f"Commissioner view for {LABEL}. "
    "Figures are rounded to the nearest 5 and counts from 1 to 7 are shown as *."
)
COMMISSIONER_NAV = ["nav-overview", "nav-timeliness", "nav-activity", "nav-feedback", "nav-equity"]
ENDED = "Your session has ended."
# The card whose small count the commissioner must see as *.
SMALL = "contact_72h"


@dataclass(frozen=True)
class Site:
    server: Server
    env: dict[str, str]
    reports: Reports
    admin_password: str
    links: dict[str, tuple[int, str]]  # per test, its own link: id and URL
    month: str  # a month whose contact_72h count is from 1 to 7

    @property
    def url(self) -> str:
        return self.server.url


def new_link(env: dict[str, str], base_url: str) -> tuple[int, str]:
    """`sis links create` for LABEL: the link's id and its URL."""
    args = ["links", "create", "--label", LABEL, "--expires", "90d", "--base-url", base_url]
    out = sis(env, *args)
    found = re.match(r"Link (\d+) for ", out)
    assert found, f"`sis links create` did not say which link it made:\n{out}"
    url = out.strip().splitlines()[-1]
    assert url.startswith(base_url + "/link/"), url
    return int(found.group(1)), url


def accounts_and_links(env: dict[str, str], base_url: str) -> tuple[str, dict]:
    """An administrator (and the password `sis users add --generate` printed once) and a link
    for each test."""
    added = sis(env, "users", "add", ADMIN, "--role", "admin", "--generate")
    password = re.search(r"Password \(shown once\): (\S+)", added)
    assert password, f"`sis users add --generate` printed no password:\n{added}"
    links = {name: new_link(env, base_url) for name in ("view", "revoke")}
    return password.group(1), links


def small_month(report: dict[str, Any]) -> str:
    """The newest month whose contact_72h count, for a manager, is from 1 to 7: a commissioner's
    Overview of that month alone must show it as *."""
    by_month = report["measures"][SMALL]["by_month"]
    months = [p["period"] for p in by_month if 1 <= (p.get("denominator") or 0) <= 7]
    assert months, f"no month has 1 to 7 referrals for {SMALL}: make the simulated service smaller"
    return months[-1]


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=4) as executor:
        yield executor


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, pool: ThreadPoolExecutor) -> Iterator[Site]:
    """80 referrals over two years (a handful a month) loaded into SQLite and served by gunicorn;
    the administrator, the links and the reports the tests need are made while it starts."""
    root = tmp_path_factory.mktemp("access")
    env = production_environment(
        f"sqlite:///{root / 'warehouse.db'}", root / "instance", SIS_POLL_SECONDS=str(POLL_SECONDS)
    )
    exports = root / "exports"
    sis(env, "demo-data", str(exports), "--referrals", "80", "--seed", "5")
    sis(env, "etl", "run", *map(str, sorted(exports.iterdir())))
    server = Server(env, root / "gunicorn.log").launch()
    try:
        reports = Reports(env, pool)
        reports.prefetch()
        reports.prefetch(audience="commissioner")
        people = pool.submit(accounts_and_links, env, server.url)
        month = small_month(reports.get())
        reports.prefetch(from_=month, to=month)
        reports.prefetch(from_=month, to=month, audience="commissioner")
        password, links = people.result(timeout=120)
        yield Site(server.wait(path="/login"), env, reports, password, links, month)
    finally:
        server.stop()


def _chromium() -> WebDriver:
    try:
        return chromium()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="module")
def commissioner_browser() -> Iterator[WebDriver]:
    driver = _chromium()
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def admin_browser() -> Iterator[WebDriver]:
    driver = _chromium()
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def commissioner(commissioner_browser: WebDriver) -> WebDriver:
    """The commissioner's browser without cookies (no session) and with its console emptied."""
    commissioner_browser.delete_all_cookies()
    console_errors(commissioner_browser)
    return commissioner_browser


@pytest.fixture
def admin(admin_browser: WebDriver) -> WebDriver:
    """The administrator's browser, signed out and with its console emptied."""
    admin_browser.delete_all_cookies()
    console_errors(admin_browser)
    return admin_browser


# --- helpers -----------------------------------------------------------------------------------


def path_and_query(driver: WebDriver) -> str:
    parts = urlparse(driver.current_url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def open_link(driver: WebDriver, link_url: str) -> None:
    """Open a commissioner link: the token is exchanged for a session and leaves the address."""
    driver.get(link_url)
    WebDriverWait(driver, WAIT).until(lambda d: path_and_query(d) == "/", "the link led elsewhere")
    wait_for_figures(driver, "overview-content", WAIT)


def wait_for_cards(driver: WebDriver, expected: dict[str, str]) -> dict[str, str | None]:
    """The cards' texts once they equal `expected` (or as they stand after WAIT seconds: the
    caller's assertion shows the difference)."""
    with contextlib.suppress(TimeoutException):
        WebDriverWait(driver, WAIT).until(lambda d: texts(d, CARD_IDS) == expected)
    return texts(driver, CARD_IDS)


def open_month(driver: WebDriver, site: Site, month: str) -> dict[str, str]:
    """The commissioner's Overview of one month, once its cards show the commissioner's figures
    for it; returns those texts."""
    driver.get(f"{site.url}/?from={month}&to={month}")
    wait_for_figures(driver, "overview-content", WAIT)
    expected = expected_cards(site.reports.get(from_=month, to=month, audience="commissioner"))
    assert wait_for_cards(driver, expected) == expected
    period = driver.find_element(By.ID, "overview-period").text
    assert period == f"{month_label(month)} to {month_label(month)}", period
    return expected


def assert_console_clean(driver: WebDriver) -> None:
    errors = console_errors(driver)
    assert errors == [], "browser console errors:\n" + "\n".join(e["message"] for e in errors)


# Before the next interaction: record, in sessionStorage (it survives the page's navigation to
# the sign-in page), the status of every Dash callback response, whether anything inside the
# figures changed, and the cards' texts as the page is left.
WATCH = """
const key = arguments[0], cardIds = arguments[1];
const log = {responses: [], changes: 0, cardsWhenLeft: null};
const save = () => sessionStorage.setItem(key, JSON.stringify(log));
const content = document.getElementById('overview-content');
new MutationObserver(records => { log.changes += records.length; save(); })
  .observe(content, {childList: true, characterData: true, subtree: true});
const fetchBefore = window.fetch;
window.fetch = function () {
  return fetchBefore.apply(this, arguments).then(response => {
    if (response.url.indexOf('/_dash-update-component') !== -1) {
      log.responses.push(response.status);
      save();
    }
    return response;
  });
};
window.addEventListener('sis-session-ended', event => {  // assets/session.js: a refused call
  log.responses.push(event.detail.status);
  save();
});
window.addEventListener('pagehide', () => {
  log.cardsWhenLeft = Object.fromEntries(cardIds.map(
    i => [i, document.getElementById(i) ? document.getElementById(i).textContent : null]));
  save();
});
save();
"""


def is_refused_callback(entry: dict[str, Any], base: str) -> bool:
    """The console line Chromium writes for the refused callback request (and only that)."""
    refused = re.compile(
        re.escape(base) + r"/_dash-update-component(\?\S*)? - Failed to load resource: "
        r"the server responded with a status of 401 \(UNAUTHORIZED\)"
    )
    return refused.fullmatch(entry["message"]) is not None


# --- the commissioner's view ---------------------------------------------------------------------


def test_commissioner_sees_suppressed_overview_but_not_the_waiting_list(
    site: Site, commissioner: WebDriver
) -> None:
    _, link_url = site.links["view"]
    open_link(commissioner, link_url)

    # Their figures: the commissioner's report, not the managers'.
    everything = expected_cards(site.reports.get(audience="commissioner"))
    assert wait_for_cards(commissioner, everything) == everything
    account = commissioner.find_element(By.ID, "account").text
    assert ACCOUNT_LINE in account, f"the header does not say whose view this is: {account!r}"
    nav = [a.get_attribute("id") for a in commissioner.find_elements(By.CSS_SELECTOR, "nav a")]
    assert nav == COMMISSIONER_NAV, f"the commissioner's navigation: {nav}"
    assert_console_clean(commissioner)

    # One month: small counts shown as *, where a manager sees the exact count.
    cards = open_month(commissioner, site, site.month)
    manager = site.reports.get(from_=site.month, to=site.month)["measures"][SMALL]
    assert 1 <= manager["denominator"] <= 7, manager
    assert cards[f"card-{SMALL}-value"] == "*"
    assert cards[f"card-{SMALL}-detail"].startswith("* of *"), cards
    assert_console_clean(commissioner)

    # The Waiting list is refused, by its address too.
    commissioner.get(site.url + "/waiting-list")
    body = commissioner.find_element(By.TAG_NAME, "body").text
    assert commissioner.title == "403", commissioner.title
    assert "managers only" in body, body
    assert commissioner.find_elements(By.ID, "waiting-content") == []


# --- revocation ----------------------------------------------------------------------------------


def test_revoking_a_link_refuses_the_open_pages_next_interaction(
    site: Site, commissioner: WebDriver, admin: WebDriver
) -> None:
    link_id, link_url = site.links["revoke"]
    open_link(commissioner, link_url)
    cards = open_month(commissioner, site, site.month)
    assert cards[f"card-{SMALL}-value"] == "*"
    assert_console_clean(commissioner)

    # The administrator signs in, sees the link has been used, and revokes it.
    sign_in(admin, site.url, ADMIN, site.admin_password, next_path="/admin")
    row = admin.find_element(By.XPATH, f"//table[@id='links']/tbody/tr[td[1]='{link_id}']")
    cells = [td.text for td in row.find_elements(By.TAG_NAME, "td")]
    assert cells[1] == LABEL and cells[6] == "active", cells
    assert cells[5].isdigit() and int(cells[5]) > 0, f"the link's uses were not counted: {cells}"
    button = admin.find_element(By.ID, f"revoke-{link_id}")
    assert button.text == f"Revoke {LABEL}"
    button.click()
    WebDriverWait(admin, WAIT).until(
        lambda d: (
            d.find_elements(By.ID, "links") and not d.find_elements(By.ID, f"revoke-{link_id}")
        ),
        "the revoke button is still there",
    )
    row = admin.find_element(By.XPATH, f"//table[@id='links']/tbody/tr[td[1]='{link_id}']")
    assert row.find_elements(By.TAG_NAME, "td")[6].text == "revoked"
    assert_console_clean(admin)

    # The commissioner's page is still open; their next interaction (a filter) is refused.
    key = "sis-test-after-revocation"
    commissioner.execute_script(WATCH, key, CARD_IDS)
    assert path_and_query(commissioner) == f"/?from={site.month}&to={site.month}"
    choose(commissioner, "filter-source", "GP")
    WebDriverWait(commissioner, WAIT).until(
        lambda d: path_and_query(d) == "/login?ended=1",
        "the refused interaction did not lead to the sign-in page",
    )
    message = commissioner.find_element(By.CSS_SELECTOR, "[role=alert]").text
    assert message.startswith(ENDED), message
    watched = json.loads(
        commissioner.execute_script("return sessionStorage.getItem(arguments[0])", key)
    )
    assert watched["responses"] and set(watched["responses"]) == {401}, watched
    assert watched["changes"] == 0, f"the figures changed after the link was revoked: {watched}"
    assert watched["cardsWhenLeft"] == cards, watched
    errors = console_errors(commissioner)
    unexpected = [e["message"] for e in errors if not is_refused_callback(e, site.url)]
    assert unexpected == [], "unexpected browser console errors:\n" + "\n".join(unexpected)
    assert errors, "the refused request left no trace in the console"

    # The session is over, not just one request: the dashboard asks for a sign-in, and the
    # link itself no longer works.
    commissioner.get(site.url + "/")
    WebDriverWait(commissioner, WAIT).until(lambda d: urlparse(d.current_url).path == "/login")
    commissioner.get(link_url)
    assert commissioner.title.startswith("This link does not work"), commissioner.title
    assert commissioner.find_elements(By.ID, "overview-content") == []
