"""Helpers of the browser tests: the `sis` command in a child process, the dashboard served by
gunicorn in a child process, and headless Chromium driven by selenium.

Nothing here skips: a missing Chromium, a server that does not answer or a failed command raises
with what to do about it, so CI (which installs Chromium) cannot pass without running the tests.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse
from zoneinfo import ZoneInfo

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from dashboard.pages.overview import HEADLINE  # the cards the Overview shows, in order

ROOT = Path(__file__).resolve().parents[1]
LONDON = ZoneInfo("Europe/London")
HEADLESS_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking")
# Every variable the project reads starts with SIS_ or is one of these: the children get only
# the ones a test sets, never the developer's.
PROJECT_VARIABLES = ("DATABASE_URL", "CACHE_REDIS_URL")


# --- the `sis` command -------------------------------------------------------------------------


def environment(database_url: str, instance: Path, **extra: str) -> dict[str, str]:
    """The environment of a child process: demo mode (its fixed pseudonym key) on `database_url`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SIS_") and k not in PROJECT_VARIABLES
    }
    env.update(
        DATABASE_URL=database_url,
        SIS_ENV="demo",
        SIS_INSTANCE=str(instance),
        SIS_CACHE_DIR=str(instance / "cache"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    env.update(extra)
    return env


def production_environment(database_url: str, instance: Path, **extra: str) -> dict[str, str]:
    """`environment` outside demo mode: every route needs a session (a sign-in or a
    commissioner link); the keys are the tests' own, never a real service's."""
    return environment(
        database_url,
        instance,
        SIS_ENV="production",
        SIS_SECRET_KEY="browser-test-session-key-not-secret",
        SIS_PSEUDONYM_KEY="browser-test-pseudonym-key-not-secret",
        **extra,
    )


def sis(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    """Run `sis ARGS` (the console script's entry point) and return its standard output."""
    command = [sys.executable, "-c", "from etl.cli import main; main()", *args]
    done = subprocess.run(
        command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise AssertionError(
            f"`sis {' '.join(args)}` exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        )
    return done.stdout


def kpis(env: dict[str, str], **filters: str | None) -> dict[str, Any]:
    """`sis kpis --json` with --from/--to/--source for the filters given (None: left out)."""
    args = ["kpis", "--json"]
    for name, value in filters.items():
        if value is not None:
            args += [f"--{name.removesuffix('_')}", value]
    return json.loads(sis(env, *args))


class Reports:
    """`sis kpis --json` per set of filters, run in the background (each is a child process of a
    second or so) so the browser does not wait for them; asked twice, one run."""

    def __init__(self, env: dict[str, str], pool: ThreadPoolExecutor) -> None:
        self.env, self.pool = env, pool
        self.runs: dict[tuple, Future] = {}

    def prefetch(self, **filters: str | None) -> None:
        key = tuple(sorted(filters.items()))
        if key not in self.runs:
            self.runs[key] = self.pool.submit(kpis, self.env, **filters)

    def get(self, **filters: str | None) -> dict[str, Any]:
        self.prefetch(**filters)
        return self.runs[tuple(sorted(filters.items()))].result(timeout=120)


def as_of_text(report: dict[str, Any]) -> str:
    """A report's as_of as the banner writes it (London wall clock)."""
    when = dt.datetime.fromisoformat(report["as_of"]).astimezone(LONDON)
    return when.strftime("%a %d %b %Y %H:%M")


# --- the dashboard under gunicorn --------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _gunicorn_command(port: int, workers: int) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--timeout",
        "60",
    ]
    from gunicorn.config import KNOWN_SETTINGS

    if any(s.name == "control_socket_disable" for s in KNOWN_SETTINGS):
        command.append("--no-control-socket")  # gunicorn >= 27: one shared socket otherwise
    return [*command, "dashboard.app:server"]


@dataclass
class Server:
    """`gunicorn dashboard.app:server` on a free port of 127.0.0.1."""

    env: dict[str, str]
    log: Path
    workers: int = 2
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def launch(self) -> Server:
        """Start gunicorn without waiting for it (see `wait`)."""
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                _gunicorn_command(self.port, self.workers),
                env=self.env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() ends master and workers
            )
        return self

    def wait(self, timeout: float = 30, path: str = "/") -> Server:
        """Until `path` (by default the Overview; outside demo mode a public page such as
        /login) answers 200 over HTTP; raises with gunicorn's log otherwise."""
        assert self.process is not None, "launch() first"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited at start-up:\n{self.log.read_text()}")
            try:
                with urllib.request.urlopen(self.url + path, timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)  # polling a socket, not waiting on the UI
        self.stop()
        raise AssertionError(
            f"gunicorn did not answer within {timeout:g} s:\n{self.log.read_text()}"
        )

    def start(self, timeout: float = 30) -> Server:
        return self.launch().wait(timeout)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGINT)  # gunicorn's quick shutdown
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


# --- headless Chromium -------------------------------------------------------------------------


def _find(env_name: str, *candidates: str) -> str | None:
    if os.environ.get(env_name):
        return os.environ[env_name]
    for name in candidates:
        found = shutil.which(name)
        if found:
            return found
    return None


def chromium(width: int = 1280, height: int = 900) -> WebDriver:
    """Headless Chromium keeping the browser console. Raises (never skips) when it is missing."""
    binary = _find("SIS_TEST_CHROMIUM", "chromium", "chromium-browser", "google-chrome")
    driver = _find("SIS_TEST_CHROMEDRIVER", "chromedriver")
    if not binary or not driver:
        raise RuntimeError(
            "The browser tests need Chromium and its driver (found chromium: "
            f"{binary or 'no'}, chromedriver: {driver or 'no'}). Install them with "
            "`apt-get install -y chromium chromium-driver`, or point SIS_TEST_CHROMIUM and "
            "SIS_TEST_CHROMEDRIVER at them."
        )
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in HEADLESS_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--window-size={width},{height}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(driver))


def console_errors(driver: WebDriver) -> list[dict[str, Any]]:
    """The SEVERE browser-console entries since the last call (reading the log empties it)."""
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


FIGURES_READY = """
const content = document.getElementById(arguments[0]);
if (!content || content.children.length === 0) return false;
if (document.querySelector('._dash-loading, [data-dash-is-loading="true"]')) return false;
return [...content.querySelectorAll('.dash-graph')].every(g => {
  const plot = g.querySelector('.js-plotly-plot');
  return plot && plot._fullLayout && plot.querySelector('.main-svg')
    && !plot.classList.contains('dash-graph--pending');
});
"""


def wait_for_figures(driver: WebDriver, content_id: str, timeout: float = 30) -> None:
    """Until the page's content holds something and every graph in it is drawn."""
    WebDriverWait(driver, timeout).until(
        lambda d: d.execute_script(FIGURES_READY, content_id),
        f"#{content_id} never showed its figures",
    )


def texts(driver: WebDriver, element_ids: list[str]) -> dict[str, str | None]:
    """The text of each element id (None when absent), read in one round trip."""
    return driver.execute_script(
        "return Object.fromEntries(arguments[0].map(i => "
        "[i, document.getElementById(i) ? document.getElementById(i).textContent : null]))",
        element_ids,
    )


# --- the Overview's cards, the filters and the sign-in form -------------------------------------

RATES = frozenset(("contact_72h", "appt_offered_7d", "dna_rate", "session_90min", "fft_positive"))
CARD_IDS = [f"card-{m}-{part}" for m in HEADLINE for part in ("value", "detail")]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def shown(value: Any, unit: str = "") -> str:  # noqa: ANN401
    """A number as the dashboard writes it: counts with separators, decimals to one place, the
    disclosure mark `*` as it is."""
    if value is None:
        return "–"
    if value == "*":
        return "*"
    if isinstance(value, int):
        return f"{value:,}{unit}"
    return f"{value:,.1f}{unit}"


def expected_cards(report: dict[str, Any]) -> dict[str, str]:
    """The text of every Overview card's value and detail for a `sis kpis --json` report."""
    out = {}
    for m in HEADLINE:
        record = report["measures"][m]
        out[f"card-{m}-value"] = shown(record.get("value"), "%" if m in RATES else "")
        if m == "waiting_now":
            detail = f"{shown(record.get('breaching'))} waited over 72 hours"
        elif m in RATES:
            detail = f"{shown(record['numerator'])} of {shown(record['denominator'])}"
            if record.get("pending"):
                detail += f", {shown(record['pending'])} pending"
        else:
            detail = "appointments attended or seen late"
        out[f"card-{m}-detail"] = detail
    return out


def month_label(month: str) -> str:
    """A month as the filters and the period line write it: "2025-03" -> "Mar 2025"."""
    return f"{MONTHS[int(month[5:]) - 1]} {month[:4]}"


def choose(driver: WebDriver, dropdown_id: str, label: str, timeout: float = 10) -> None:
    """Open a dcc.Dropdown, search for `label` and click the option showing it."""
    driver.find_element(By.ID, dropdown_id).click()
    search = WebDriverWait(driver, timeout).until(
        lambda d: d.find_element(By.CSS_SELECTOR, ".dash-dropdown-search")
    )
    search.send_keys(label)

    def option(d: WebDriver) -> Any:  # noqa: ANN401
        found = d.find_elements(By.CSS_SELECTOR, ".dash-dropdown-option")
        found = [o for o in found if o.text.strip() == label]
        return found[0] if found else False

    WebDriverWait(driver, timeout).until(option, f"no option {label!r} in #{dropdown_id}").click()

    def closed(d: WebDriver) -> bool:  # or gone: the page may have moved on (session ended)
        try:
            found = d.find_elements(By.ID, dropdown_id)
            return not found or found[0].get_attribute("aria-expanded") == "false"
        except StaleElementReferenceException:
            return True

    WebDriverWait(driver, timeout).until(closed)


def sign_in(
    driver: WebDriver,
    base_url: str,
    name: str,
    password: str,
    next_path: str = "/",
    timeout: float = 10,
) -> None:
    """Sign in through the login page's form, as a person sent there from `next_path` would,
    and wait to arrive at `next_path`; raises with what the page says otherwise."""
    driver.get(f"{base_url}/login?{urlencode({'next': next_path})}")
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.XPATH, "//form[@action='/login']//button[@type='submit']").click()
    try:
        WebDriverWait(driver, timeout).until(lambda d: urlparse(d.current_url).path == next_path)
    except TimeoutException:
        page = driver.find_element(By.TAG_NAME, "body").text
        raise AssertionError(
            f"signing in as {name} did not lead to {next_path} but to {driver.current_url}, "
            f"which says:\n{page}"
        ) from None
