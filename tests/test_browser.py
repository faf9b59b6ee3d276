"""The dashboard in a real browser: `gunicorn dashboard.app:server` (2 workers) in a child process
on a warehouse loaded by `sis etl run` from `sis demo-data` exports, driven by headless Chromium.

Checks every page renders with a clean browser console, the filters and the URL agree, the
Overview's cards equal `sis kpis --json` under the same filters, a new export reaches an open page
within one polling interval, keyboard-only navigation reaches every control with a visible focus,
and the Overview fits a 375 px wide phone. Nothing here sleeps to wait for the page, and nothing
skips: without Chromium these tests fail and say how to install it.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser import (
    CARD_IDS,
    Reports,
    Server,
    as_of_text,
    choose,
    chromium,
    console_errors,
    environment,
    expected_cards,
    kpis,
    month_label,
    sis,
    texts,
    wait_for_figures,
)

POLL_SECONDS = 2
# Beyond one polling interval, a new export may wait for the shared status entry to expire (it is
# cached for up to the poll interval, dashboard/data.py) and for the new report to be computed.
UPDATE_SLACK_SECONDS = 5
WAIT = 30  # generous ceiling for a page's first render on a slow CI machine
PAGES = {  # path -> the div its callback fills
    "/": "overview-content",
    "/timeliness": "timeliness-content",
    "/activity": "activity-content",
    "/feedback": "feedback-content",
    "/equity": "equity-content",
    "/waiting-list": "waiting-content",
    "/data-quality": "data-quality-content",
}
WITH_CHARTS = {"/", "/timeliness", "/activity", "/feedback", "/equity"}
NAV_IDS = [
    "nav-overview",
    "nav-timeliness",
    "nav-activity",
    "nav-feedback",
    "nav-equity",
    "nav-waiting-list",
    "nav-data-quality",
]
FILTER_IDS = ["filter-from", "filter-to", "filter-source"]


def report_months(report: dict[str, Any]) -> list[str]:
    return [p["period"] for p in report["measures"]["referrals"]["by_month"]]


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=2) as executor:
        yield executor


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], Path]:
    """A simulated service's messy exports: every file but the newest referral export, and that
    newest export (a week after the first)."""
    folder = tmp_path_factory.mktemp("exports")
    env = environment("sqlite://", tmp_path_factory.mktemp("scratch"))
    sis(env, "demo-data", str(folder), "--referrals", "600", "--seed", "3")
    referrals = sorted(folder.glob("referrals_*"))  # the names carry the export time
    assert len(referrals) >= 2, "demo-data wrote a single referral export"
    return [p for p in sorted(folder.iterdir()) if p != referrals[-1]], referrals[-1]


def _environment(root: Path) -> dict[str, str]:
    return environment(
        f"sqlite:///{root / 'warehouse.db'}", root / "instance", SIS_POLL_SECONDS=str(POLL_SECONDS)
    )


@pytest.fixture(scope="module")
def earlier_warehouse(exports: tuple, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse (SQLite file) holding every export but the newest: never served as is."""
    root = tmp_path_factory.mktemp("earlier")
    sis(_environment(root), "etl", "run", *map(str, exports[0]))
    return root / "warehouse.db"


@pytest.fixture(scope="module")
def env(
    exports: tuple, earlier_warehouse: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """The environment of a warehouse holding every export: the earlier one, then the newest."""
    root = tmp_path_factory.mktemp("full")
    shutil.copyfile(earlier_warehouse, root / "warehouse.db")
    env = _environment(root)
    sis(env, "etl", "run", str(exports[1]))
    return env


@pytest.fixture(scope="module")
def reports(env: dict[str, str], pool: ThreadPoolExecutor) -> Reports:
    """`sis kpis --json` of the full warehouse, by filters."""
    return Reports(env, pool)


@pytest.fixture(scope="module")
def report(reports: Reports) -> dict[str, Any]:
    """`sis kpis --json` of the whole warehouse, no filters."""
    return reports.get()


def filter_sets(report: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The filters the tests choose, from the months the report covers."""
    months = report_months(report)
    return {
        "gp": {"source": "gp"},
        "gp_since": {"from_": months[-6], "source": "gp"},
        "gp_window": {"from_": months[-12], "to": months[-7], "source": "gp"},
    }


@pytest.fixture(scope="module")
def app(env: dict[str, str], reports: Reports) -> Iterator[Server]:
    """The full warehouse served by gunicorn; the filtered reports run while it starts."""
    server = Server(env, Path(env["SIS_INSTANCE"]).parent / "gunicorn.log").launch()
    try:
        for filters in filter_sets(reports.get()).values():
            reports.prefetch(**filters)
        yield server.wait()
    finally:
        server.stop()


def _browser() -> WebDriver:
    try:
        return chromium()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="module")
def driver() -> Iterator[WebDriver]:
    browser = _browser()
    try:
        yield browser
    finally:
        browser.quit()


@pytest.fixture
def browser(driver: WebDriver) -> WebDriver:
    """The shared browser with its console emptied, so a test sees only its own errors."""
    console_errors(driver)
    return driver


# --- helpers -----------------------------------------------------------------------------------


def open_page(driver: WebDriver, url: str, content_id: str = "overview-content") -> None:
    driver.get(url)
    wait_for_figures(driver, content_id, WAIT)


def wait_for_cards(driver: WebDriver, expected: dict[str, str], timeout: float = WAIT) -> dict:
    """The cards' texts once they equal `expected`, or as they stand after `timeout`."""
    with contextlib.suppress(TimeoutException):  # the caller's assertion shows the difference
        WebDriverWait(driver, timeout).until(lambda d: texts(d, CARD_IDS) == expected)
    return texts(driver, CARD_IDS)


def query(driver: WebDriver) -> dict[str, list[str]]:
    return parse_qs(urlparse(driver.current_url).query)


def wait_for_query(driver: WebDriver, expected: dict[str, list[str]]) -> None:
    with contextlib.suppress(TimeoutException):
        WebDriverWait(driver, 10).until(lambda d: query(d) == expected)
    assert query(driver) == expected, driver.current_url


def assert_console_clean(driver: WebDriver) -> None:
    errors = console_errors(driver)
    assert errors == [], "browser console errors:\n" + "\n".join(e["message"] for e in errors)


# --- 1. every page renders ---------------------------------------------------------------------

DRAWN = """
const content = document.getElementById(arguments[0]);
return {
  children: content.children.length,
  graphs: content.querySelectorAll('.dash-graph').length,
  drawn: [...content.querySelectorAll('.js-plotly-plot')].filter(
    p => p._fullData && p._fullData.length && p.querySelector('.main-svg .trace')).length,
  tables: content.querySelectorAll('table.data').length,
  failed: content.querySelectorAll('[role=alert], .empty').length,
};
"""


def visit(driver: WebDriver, base: str, path: str) -> None:
    """Show the page at `path` as a reader would: the Overview by its address, the others by
    their link in the navigation (no reload, so Plotly is not parsed again for every page)."""
    if not driver.current_url.startswith(base + "/") or urlparse(driver.current_url).query:
        open_page(driver, base + "/")
    if urlparse(driver.current_url).path != path:
        driver.find_element(By.ID, NAV_IDS[list(PAGES).index(path)]).click()
        WebDriverWait(driver, 10).until(lambda d: urlparse(d.current_url).path == path)
    wait_for_figures(driver, PAGES[path], WAIT)


@pytest.mark.parametrize("path", list(PAGES))
def test_every_page_renders_without_console_errors(
    app: Server, browser: WebDriver, path: str
) -> None:
    visit(browser, app.url, path)
    state = browser.execute_script(DRAWN, PAGES[path])
    assert state["children"] > 0
    assert state["failed"] == 0, f"{path} shows the failure or empty-warehouse message"
    assert state["tables"] > 0, f"{path} shows no table of figures"
    assert state["drawn"] == state["graphs"], f"{path}: a graph was left undrawn: {state}"
    if path in WITH_CHARTS:
        assert state["graphs"] > 0, f"{path} draws no chart"
    banner = browser.find_element(By.ID, "data-banner").text
    assert banner.startswith("Data as of "), banner
    assert axe_violations(browser) == []
    assert_console_clean(browser)


AXE_RUN = """
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})
  .then(r => done(r.violations.map(v => ({
    rule: v.id, impact: v.impact, where: v.nodes.slice(0, 3).map(n => n.target.join(" "))}))));
"""


def axe_violations(driver: WebDriver) -> list[dict]:
    """WCAG 2.1 A and AA violations axe-core finds on the page as it stands (contrast, names,
    focusable hidden elements, language ...)."""
    driver.execute_script((files("axe_core_python") / "axe.min.js").read_text())
    return driver.execute_async_script(AXE_RUN)


# --- 2 and 3. filters, the URL, and the cards against `sis kpis --json` -------------------------


def test_overview_cards_equal_sis_kpis(app: Server, browser: WebDriver, report: dict) -> None:
    browser.get(app.url + "/")
    expected = expected_cards(report)
    assert wait_for_cards(browser, expected) == expected
    assert as_of_text(report) in browser.find_element(By.ID, "data-banner").text
    assert_console_clean(browser)


def test_choosing_filters_updates_figures_and_url(
    app: Server, browser: WebDriver, reports: Reports, report: dict
) -> None:
    chosen = filter_sets(report)
    open_page(browser, app.url + "/")
    assert wait_for_cards(browser, expected_cards(report)) == expected_cards(report)

    choose(browser, "filter-source", "GP")
    wait_for_query(browser, {"source": ["gp"]})
    gp = expected_cards(reports.get(**chosen["gp"]))
    assert gp != expected_cards(report), "GP referrals alone should change the headline figures"
    assert wait_for_cards(browser, gp) == gp
    assert browser.find_element(By.ID, "overview-period").text.endswith("referrals from GP")

    month = chosen["gp_since"]["from_"]
    choose(browser, "filter-from", month_label(month))
    wait_for_query(browser, {"from": [month], "source": ["gp"]})
    gp_since = expected_cards(reports.get(**chosen["gp_since"]))
    assert gp_since != gp
    assert wait_for_cards(browser, gp_since) == gp_since
    href = browser.find_element(By.ID, "nav-timeliness").get_attribute("href")
    assert href == f"{app.url}/timeliness?from={month}&source=gp", "nav links drop the filters"
    assert_console_clean(browser)


def test_filtered_address_opens_filtered_figures(
    app: Server, browser: WebDriver, reports: Reports, report: dict
) -> None:
    window = filter_sets(report)["gp_window"]
    first, last = window["from_"], window["to"]
    wanted = {"from": [first], "to": [last], "source": ["gp"]}
    expected = expected_cards(reports.get(**window))
    assert expected != expected_cards(report)

    open_page(browser, f"{app.url}/?source=gp&from={first}&to={last}")
    with contextlib.suppress(TimeoutException):  # until the figures are right or the address lost
        WebDriverWait(browser, WAIT).until(
            lambda d: query(d) != wanted or texts(d, CARD_IDS) == expected
        )
    assert query(browser) == wanted, f"the address lost its filters: {browser.current_url}"
    assert texts(browser, CARD_IDS) == expected
    period = browser.find_element(By.ID, "overview-period").text
    assert period == f"{month_label(first)} to {month_label(last)}, referrals from GP"
    assert texts(browser, [f"{i}-value" for i in FILTER_IDS]) == {
        "filter-from-value": month_label(first),
        "filter-to-value": month_label(last),
        "filter-source-value": "GP",
    }
    assert_console_clean(browser)


# --- 5. keyboard only ----------------------------------------------------------------------------

FOCUSED = """
const e = document.activeElement;
const s = getComputedStyle(e);
const wrapper = e.closest('.dash-dropdown-wrapper');
const dropdown = wrapper && wrapper.querySelector('button.dash-dropdown');
return {
  key: dropdown ? dropdown.id : (e.id || (e.classList.contains('skip-link') ? 'skip-link' : '')
       || (e.classList.contains('download') ? 'download' : '') || e.tagName.toLowerCase()),
  tag: e.tagName.toLowerCase(),
  text: (e.textContent || '').trim().slice(0, 60),
  outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0,
  shadow: s.boxShadow !== 'none',
};
"""


UNFOCUSED = """
const s = getComputedStyle(document.getElementById(arguments[0]));
return {outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0,
        shadow: s.boxShadow !== 'none'};
"""


def tab(driver: WebDriver) -> dict[str, Any]:
    ActionChains(driver).send_keys(Keys.TAB).perform()
    return driver.execute_script(FOCUSED)


def test_keyboard_reaches_every_control(app: Server, browser: WebDriver) -> None:
    open_page(browser, app.url + "/")
    assert browser.execute_script("return document.activeElement === document.body")
    seen: list[dict[str, Any]] = []
    while len(seen) < 40:
        seen.append(tab(browser))
        if seen[-1]["tag"] == "summary":
            break
    keys = [s["key"] for s in seen]
    assert keys[0] == "skip-link", f"the skip link is not the first stop: {keys}"
    for wanted in ["skip-link", *NAV_IDS, *FILTER_IDS, "summary"]:
        assert wanted in keys, f"TAB never reached {wanted}: {keys}"
    assert keys.index(NAV_IDS[-1]) < keys.index("filter-from") < keys.index("summary")
    invisible = [s["key"] for s in seen if not (s["outline"] or s["shadow"])]
    assert invisible == [], f"focus not visible on {invisible}"
    unfocused = browser.execute_script(UNFOCUSED, NAV_IDS[1])
    assert unfocused == {"outline": False, "shadow": False}, "the focus style shows unfocused"

    # Open the table behind the summary from the keyboard; its CSV link comes next.
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    WebDriverWait(browser, 5).until(
        lambda d: d.execute_script("return document.activeElement.parentElement.open === true")
    )
    after = [tab(browser) for _ in range(3)]
    downloads = [s for s in after if s["key"] == "download"]
    assert downloads, f"the 'Download CSV' link is not reachable: {after}"
    assert downloads[0]["text"] == "Download CSV" and downloads[0]["outline"]

    # The skip link takes focus to the figures.
    open_page(browser, app.url + "/")
    assert tab(browser)["key"] == "skip-link"
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    WebDriverWait(browser, 5).until(
        lambda d: d.execute_script("return document.activeElement.id") == "main",
        "the skip link does not move focus to <main>",
    )
    assert_console_clean(browser)


# --- 375 px --------------------------------------------------------------------------------------


def test_overview_fits_a_375px_screen(app: Server, browser: WebDriver, report: dict) -> None:
    # A phone's viewport (headless Chromium's windows are at least 500 px wide).
    metrics = {"width": 375, "height": 812, "deviceScaleFactor": 2, "mobile": True}
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    try:
        open_page(browser, app.url + "/")
        expected = expected_cards(report)
        assert wait_for_cards(browser, expected) == expected
        width, scroll = browser.execute_script(
            "return [window.innerWidth, document.documentElement.scrollWidth]"
        )
        assert width == 375
        assert scroll <= 375 + 1, f"the Overview scrolls sideways at 375 px ({scroll} px wide)"
        assert_console_clean(browser)
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


# --- 4. a new export reaches an open page ------------------------------------------------------


@pytest.fixture
def earlier(
    earlier_warehouse: Path, tmp_path: Path, pool: ThreadPoolExecutor
) -> Iterator[tuple[Server, Reports]]:
    """Its own warehouse (a copy of the one without the newest export) and its own server."""
    shutil.copyfile(earlier_warehouse, tmp_path / "warehouse.db")
    env = _environment(tmp_path)
    reports = Reports(env, pool)
    reports.prefetch()  # while gunicorn starts
    server = Server(env, tmp_path / "gunicorn.log").launch()
    try:
        yield server.wait(), reports
    finally:
        server.stop()


def test_new_export_reaches_an_open_page(
    browser: WebDriver, earlier: tuple, exports: tuple
) -> None:
    server, reports = earlier
    open_page(browser, server.url + "/")
    before = reports.get()
    assert wait_for_cards(browser, expected_cards(before)) == expected_cards(before)
    banner = browser.find_element(By.ID, "data-banner")
    WebDriverWait(browser, WAIT).until(lambda d: as_of_text(before) in banner.text)
    old_banner, old_cards = banner.text, texts(browser, CARD_IDS)

    sis(reports.env, "etl", "run", str(exports[1]))
    loaded = time.monotonic()
    after = reports.pool.submit(kpis, reports.env)  # while the page polls
    limit = POLL_SECONDS + UPDATE_SLACK_SECONDS
    WebDriverWait(browser, limit).until(
        lambda d: banner.text != old_banner and texts(d, CARD_IDS) != old_cards,
        f"the open page did not show the new export within {limit} s",
    )
    took = time.monotonic() - loaded
    assert took <= limit, f"the new export took {took:.1f} s to show"
    new = after.result(timeout=60)
    assert as_of_text(new) != as_of_text(before)
    assert as_of_text(new) in banner.text
    assert texts(browser, CARD_IDS) == expected_cards(new)
    assert_console_clean(browser)
