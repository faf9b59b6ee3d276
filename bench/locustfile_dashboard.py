"""Locust users for bench/dashboard.py: people working through the dashboard's pages and filters.

Run by bench/dashboard.py (one headless locust process per phase), which writes the plan and reads
the result; not meant to be run by hand. Environment:
  BENCH_PLAN    JSON from bench/dashboard.py: callback specs, data status, each user's actions;
  BENCH_MODE    cold | warm | floor;
  BENCH_DONE    (warm) JSON of the cold phase's result: each user replays what it did then;
  BENCH_RESULT  where to write this phase's result (every request's name, ms, bytes, error,
                time), written when the phase stops.

Each request is what the browser sends (checked with Chromium against Dash 4): a first view is
GET / + /_dash-layout + /_dash-dependencies and six callbacks (sync, poll, page route, banner,
sync again once the data status is known, which brings the month options, page content);
clicking a page link is the page route then the page content; a filter change is sync, then
the page route (the address changed) alongside the page content, then the page content again
(the route mounted a fresh container; not sent when the route keeps the mounted page). The
static JS/CSS are taken as cached by the browser here; bench/dashboard.py counts them once,
for the first-view bytes.
In the floor phase every one of those callbacks is the one-line `pong` instead, sent in the
same pattern and rhythm (the GETs stay, so the server is loaded the same way).
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import gevent
from locust import FastHttpUser, between, events, task
from locust.exception import StopUser

_spec = importlib.util.spec_from_file_location(
    "bench_dashboard", Path(__file__).with_name("dashboard.py")
)
_shared = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_shared)  # callback_body and search, shared with bench/dashboard.py
PLAN = json.loads(Path(os.environ["BENCH_PLAN"]).read_text(encoding="utf-8"))
MODE = os.environ.get("BENCH_MODE", "warm")
DONE = (
    json.loads(Path(os.environ["BENCH_DONE"]).read_text(encoding="utf-8"))["actions_done"]
    if os.environ.get("BENCH_DONE")
    else {}
)
FAILED_MARKS = ("banner-red", "No data loaded yet")  # render.page's failure / empty warehouse
_ids = itertools.count()
_records: list[tuple[str, float, int, str | None, float]] = []  # name, ms, bytes, error, at
_done: dict[str, int] = {}
_clock: dict[str, float] = {}
_finished: set[int] = set()
_interrupted: list[str] = []


@events.request.add_listener
def _record(name, response_time, response_length, exception, **_kw) -> None:  # noqa: ANN001
    if exception is not None and "stopping" in _clock:
        _interrupted.append(name)  # cut off by the end of the phase, not an error of the app
        return
    error = repr(exception)[:300] if exception else None
    _records.append((name, response_time, response_length or 0, error, round(time.time(), 3)))


@events.cpu_warning.add_listener
def _cpu(**_kw) -> None:  # noqa: ANN003
    _clock["cpu_warning"] = time.time()


@events.test_start.add_listener
def _start(**_kw) -> None:  # noqa: ANN003
    _clock["start"] = time.time()


@events.test_stopping.add_listener
def _stopping(**_kw) -> None:  # noqa: ANN003
    _clock["stopping"] = time.time()


@events.test_stop.add_listener
def _stop(**_kw) -> None:  # noqa: ANN003
    result = {
        "mode": MODE,
        "start": _clock.get("start"),
        "end": _clock.get("stopping", time.time()),
        "records": _records,
        "interrupted": len(_interrupted),
        "actions_done": _done,
        "exhausted": len(_finished),
        "locust_cpu_warning": "cpu_warning" in _clock,
    }
    with open(os.environ["BENCH_RESULT"], "w", encoding="utf-8") as f:
        json.dump(result, f)


class DashboardUser(FastHttpUser):
    wait_time = between(*PLAN["think"])
    concurrency = 4

    def on_start(self) -> None:
        self.index = next(_ids)
        self.key = str(self.index)
        plan = PLAN["users"][self.index % len(PLAN["users"])]
        self.first_page = plan["first_page"]
        actions = plan["actions"]
        if MODE == "warm":  # replay exactly what this user did while the cache was cold
            actions = actions[: DONE.get(self.key, 0)]
        self.actions = actions
        self.step = 0
        _done[self.key] = 0
        gevent.sleep(plan["arrives"])  # people open the dashboard over the first few seconds
        self.poller = gevent.spawn(self._poll_loop)
        self._first_view()

    def on_stop(self) -> None:
        self.poller.kill(block=False)

    # -- requests ---------------------------------------------------------------------------

    def _callback(self, kind: str, values: dict, changed: list[str], name: str) -> None:
        spec = PLAN["callbacks"]["pong" if MODE == "floor" else kind]
        if MODE == "floor":
            values, changed = {"ping.data": kind}, ["ping.data"]
        with self.client.post(
            "/_dash-update-component",
            data=_shared.callback_body(spec, values, changed),
            headers={"Content-Type": "application/json", "Accept-Encoding": "gzip, br"},
            name=name,
            catch_response=True,
        ) as resp:
            text = resp.text or ""
            if resp.status_code not in (200, 204):  # 204: nothing to update (PreventUpdate)
                resp.failure(f"HTTP {resp.status_code}: {text[:200]}")
            elif (
                kind.startswith("page:")
                and MODE != "floor"
                and any(m in text for m in FAILED_MARKS)
            ):
                resp.failure("the page callback answered with its failure banner")
            else:
                resp.success()

    def _page(self, name: str, changed: list[str]) -> None:
        values = {"data-status.data": PLAN["status"], "filters.data": self.filters}
        self._callback("page:" + self.page, values, changed, name)

    def _route(self, changed: list[str], name: str) -> None:
        path = PLAN["paths"][self.page]
        values = {
            "_pages_location.pathname": path,
            "_pages_location.search": _shared.search(self.filters),
        }
        self._callback("route", values, changed, name)

    def _sync(self, new: dict, name: str) -> None:
        values = {
            "url.search": _shared.search(self.filters),
            "filter-from.value": new["from"],
            "filter-to.value": new["to"],
            "filter-source.value": new["source"],
            "data-status.data": PLAN["status"],
        }
        self._callback("sync", values, ["filter-source.value"], name)

    def _poll(self, n: int, name: str) -> None:
        values = {"poll.n_intervals": n, "data-status.data": None if n == 0 else PLAN["status"]}
        self._callback("poll", values, [] if n == 0 else ["poll.n_intervals"], name)

    def _poll_loop(self) -> None:
        for n in itertools.count(1):
            gevent.sleep(PLAN["poll_seconds"])
            self._poll(n, "poll")

    # -- what a person does -----------------------------------------------------------------

    def _first_view(self) -> None:
        self.page = self.first_page
        self.filters = {"from": None, "to": None, "source": None}
        # the floor too: the same GETs load the server the same way
        self.client.get(PLAN["paths"][self.page], name="first view: GET page")
        self.client.get("/_dash-layout", name="first view: GET /_dash-layout")
        self.client.get("/_dash-dependencies", name="first view: GET /_dash-dependencies")
        status = {"data-status.data": PLAN["status"]}
        self._callback("sync", {"url.search": ""}, ["url.search"], "first view: sync")
        self._poll(0, "first view: poll")
        self._route(["_pages_location.pathname", "_pages_location.search"], "first view: route")
        self._callback("banner", status, ["data-status.data"], "first view: banner")
        months = {**status, "url.search": ""}  # sync again, now with the months of the data
        self._callback("sync", months, ["data-status.data"], "first view: month options")
        self._page("first view: page", ["filters.data", "data-status.data"])

    @task
    def next_action(self) -> None:
        if self.step >= len(self.actions):
            if MODE == "cold":  # every filter combination of this user has been asked for
                _finished.add(self.index)
                if len(_finished) >= len(PLAN["users"]):
                    self.environment.runner.quit()
                raise StopUser()
            if not self.actions:
                self._navigate(self.page)
                return
            self.step = 0
            self._first_view()  # a fresh tab, as at the start of the cold phase
            return
        action = self.actions[self.step]
        if action[0] == "nav":
            self._navigate(action[1])
        else:
            self._change_filters(dict(zip(("from", "to", "source"), action[1:], strict=True)))
        self.step += 1
        _done[self.key] = max(_done[self.key], self.step)

    def _navigate(self, page: str) -> None:
        """Click a page link: the page route, then the new page's content (filters kept)."""
        with self._click("click: open a page"):
            self.page = page
            self._route(["_pages_location.pathname"], "nav: route")
            self._page("nav: page", [])

    def _change_filters(self, new: dict) -> None:
        """Pick filters: sync; the route (address changed) with the page content; the page
        content again once the route has mounted a fresh container (when the route does
        that: bench/dashboard.py asks it first)."""
        with self._click("click: change filters"):
            self._sync(new, "filter: sync")
            self.filters = new
            content = gevent.spawn(self._page, "filter: page", ["filters.data"])
            self._route(["_pages_location.search"], "filter: route")
            if PLAN.get("route_remounts", True):
                self._page("filter: page again", [])
            content.join()

    @contextlib.contextmanager
    def _click(self, name: str) -> Iterator[None]:
        """Record a click's whole time, from the first request to the page's last answer."""
        start = time.perf_counter()
        yield
        events.request.fire(
            request_type="CLICK",
            name=name,
            response_time=(time.perf_counter() - start) * 1000,
            response_length=0,
            exception=None,
            context={},
        )
