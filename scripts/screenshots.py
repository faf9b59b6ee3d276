"""Screenshots of every page of a running dashboard, for the README.

    .venv/bin/python scripts/screenshots.py [--base-url URL] [--out docs/screenshots] [--link URL]

Drives Debian's headless Chromium (apt-get install -y chromium chromium-driver) with selenium;
waits for each page's figures instead of sleeping. Also takes the Overview at 375 px wide.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

PAGES = {
    "overview": "/",
    "timeliness": "/timeliness",
    "activity": "/activity",
    "feedback": "/feedback",
    "equity": "/equity",
    "waiting-list": "/waiting-list",
    "data-quality": "/data-quality",
}
CONTENT = {
    "overview": "overview-content",
    "timeliness": "timeliness-content",
    "activity": "activity-content",
    "feedback": "feedback-content",
    "equity": "equity-content",
    "waiting-list": "waiting-content",
    "data-quality": "data-quality-content",
}


def browser(width: int = 1280, height: int = 900) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"):
        options.add_argument(flag)
    options.add_argument(f"--window-size={width},{height}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))


def wait_for_figures(driver: webdriver.Chrome, content_id: str, timeout: float = 60) -> None:
    """Until the page's content holds something and no graph is still loading."""
    wait = WebDriverWait(driver, timeout)
    wait.until(lambda d: d.find_element(By.ID, content_id).find_elements(By.XPATH, "./*"))
    wait.until(ec.invisibility_of_element_located((By.CSS_SELECTOR, "._dash-loading")))
    wait.until(
        lambda d: d.execute_script(
            "return [...document.querySelectorAll('.js-plotly-plot')].every(g => g._fullLayout)"
        )
    )


SETTLE = """
const done = arguments[arguments.length - 1];
const plots = [...document.querySelectorAll('.js-plotly-plot')];
Promise.all(plots.map(p => window.Plotly ? window.Plotly.Plots.resize(p) : null))
  .then(() => requestAnimationFrame(() => requestAnimationFrame(() => done(true))));
"""


def full_height(driver: webdriver.Chrome) -> None:
    """Make the window as tall as the page, and let the charts redraw at that size."""
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1280, min(max(900, height + 40), 6000))
    driver.execute_async_script(SETTLE)


def shoot(base_url: str, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    made = []
    driver = browser()
    try:
        for name, path in PAGES.items():
            driver.get(base_url + path)
            wait_for_figures(driver, CONTENT[name])
            full_height(driver)
            target = out / f"{name}.png"
            driver.save_screenshot(str(target))
            made.append(target)
            driver.set_window_size(1280, 900)
    finally:
        driver.quit()
    phone = browser(500, 812)  # headless Chromium's narrowest window; the screen is emulated
    try:
        phone.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": 375, "height": 812, "deviceScaleFactor": 1, "mobile": True},
        )
        phone.get(base_url + "/")
        wait_for_figures(phone, CONTENT["overview"])
        phone.execute_async_script(SETTLE)
        target = out / "overview-375px.png"
        phone.save_screenshot(str(target))
        made.append(target)
    finally:
        phone.quit()
    return made


def shoot_commissioner(link: str, out: Path) -> Path:
    """The Overview as a commissioner sees it, through a link from `sis links create`."""
    driver = browser()
    try:
        driver.get(link)  # swapped for a session cookie, then the Overview
        wait_for_figures(driver, CONTENT["overview"])
        full_height(driver)
        target = out / "overview-commissioner.png"
        driver.save_screenshot(str(target))
        return target
    finally:
        driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8050")
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--link", help="A commissioner link: also shoot the commissioner's view.")
    args = parser.parse_args()
    for path in shoot(args.base_url.rstrip("/"), args.out):
        print(path)
    if args.link:
        print(shoot_commissioner(args.link, args.out))


if __name__ == "__main__":
    main()
