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
from zoneinfo import ZoneInfo

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

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

    def wait(self, timeout: float = 30) -> Server:
        """Until the Overview answers 200 over HTTP; raises with gunicorn's log otherwise."""
        assert self.process is not None, "launch() first"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited at start-up:\n{self.log.read_text()}")
            try:
                with urllib.request.urlopen(self.url + "/", timeout=2) as response:
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
