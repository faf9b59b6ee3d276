"""Operations, serving side: the warehouse going away while the dashboard is up (and coming
back without a restart), and the Redis cache shared by two gunicorn workers, which a new load
invalidates for both. PostgreSQL and Redis for real."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from dash import no_update
from sqlalchemy import Engine

from dashboard import data, shell
from dashboard.app import create_app
from dashboard.pages import overview
from etl import runner
from etl.demo import write_demo_exports
from kpi.report import build_report
from tests.browser import (
    ROOT,
    Server,
    _gunicorn_command,
    environment,
    expected_cards,
    free_port,
    sis,
)
from tests.conftest import PG_URL, signed_in
from tests.test_dashboard_callbacks import find, text_of

REDIS_URL = os.environ.get("SIS_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


class Proxy:
    """A TCP proxy in front of PostgreSQL that can be cut and restored on the same port, so the
    warehouse can become unreachable for the app while the server itself keeps running."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target, self.port = target, free_port()
        self.listener: socket.socket | None = None
        self.pipes: list[socket.socket] = []

    def up(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port), reuse_port=True)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def down(self) -> None:
        assert self.listener is not None
        for s in [self.listener, *self.pipes]:  # shutdown wakes a thread blocked on the socket
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()
        self.pipes.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self.pipes += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass


@pytest.fixture
def proxied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Proxy, Engine]]:
    """A PostgreSQL warehouse (its own schema) reached through the proxy, with demo data."""
    from tests.conftest import _pg_engine

    schema = f"t_proxy_{os.getpid()}_{time.monotonic_ns()}"
    direct = _pg_engine(schema)
    from etl.db import upgrade

    upgrade(direct)
    runner.run(direct, sorted(write_demo_exports(tmp_path / "in", 150, seed=21)))
    proxy = Proxy(("127.0.0.1", 5432))
    proxy.up()
    url = re.sub(r"127\.0\.0\.1:5432", f"127.0.0.1:{proxy.port}", PG_URL)
    monkeypatch.setenv("DATABASE_URL", f"{url}?options=-csearch_path%3D{schema}&connect_timeout=2")
    monkeypatch.setenv("SIS_CACHE_DIR", str(tmp_path / "cache"))
    data._engine_for.cache_clear()
    yield proxy, direct
    proxy.down()
    data._engine_for.cache_clear()
    with direct.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    direct.dispose()


def _until(check: Any, timeout: float = 15) -> Any:  # noqa: ANN401
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.2)  # the data status is shared for up to 5 s


def _poll(current: dict[str, Any]) -> dict[str, Any]:
    """What the open page's status store holds after one more poll."""
    new = shell.poll(1, current)
    return current if new is no_update else new


def test_an_unreachable_warehouse_shows_a_plain_banner_and_recovers(proxied) -> None:
    proxy, _direct = proxied
    server = create_app().server
    manager, anyone = signed_in(server), server.test_client()
    assert anyone.get("/healthz").status_code == 200
    with server.test_request_context():
        from flask import g

        g.principal = None
        status = shell.poll(1, None)
        assert status["version"] and "Contacted" in text_of(overview.update(status, {}))

        proxy.down()
        assert anyone.get("/healthz").status_code == 503
        down = _until(lambda: _poll(status).get("unavailable") and _poll(status))
        assert down, "the poll never noticed the warehouse had gone"
        words, tone = shell.banner(down)
        assert "temporarily unavailable" in text_of(words) and "red" in tone
        assert "temporarily unavailable" in text_of(overview.update(down, {}))
        page = manager.get("/", headers={"Accept": "text/html"})
        assert page.status_code == 503 and b"temporarily unavailable" in page.data
        assert b"Traceback" not in page.data

        proxy.up()  # back, with no restart of anything
        assert _until(lambda: anyone.get("/healthz").status_code == 200)
        back = _until(lambda: _poll(down).get("version") and _poll(down))
        assert back and back["version"] == status["version"]
        assert "Contacted" in text_of(overview.update(back, {}))
        assert manager.get("/", headers={"Accept": "text/html"}).status_code == 200


# --- the Redis cache shared by two gunicorn workers ------------------------------------------


@dataclass
class _LoggedServer(Server):
    """gunicorn with an access log of worker pid and request line."""

    access_log: Path | None = None

    def launch(self) -> Server:
        command = _gunicorn_command(self.port, self.workers)
        command[-1:-1] = [
            "--access-logfile",
            str(self.access_log),
            "--access-logformat",
            "%(p)s %(r)s",
        ]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                command,
                env=self.env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self


def _overview_request(url: str) -> str:
    """The Overview's figures callback as the browser sends it; the contact_72h detail text."""
    import urllib.request

    body = {
        "output": "overview-content.children",
        "outputs": {"id": "overview-content", "property": "children"},
        "inputs": [
            {"id": "data-status", "property": "data", "value": {"version": 1}},
            {"id": "filters", "property": "data", "value": {}},
        ],
        "changedPropIds": ["data-status.data"],
    }
    request = urllib.request.Request(
        url + "/_dash-update-component",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        tree = json.loads(response.read())["response"]["overview-content"]["children"]
    return text_of(find(tree, "card-contact_72h-detail")["children"])


def test_a_new_load_invalidates_the_redis_cache_of_both_workers(tmp_path: Path) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    exports = write_demo_exports(tmp_path / "older", 200, seed=31)
    later = write_demo_exports(tmp_path / "newer", 260, seed=31)
    db = tmp_path / "warehouse.db"
    env = environment(f"sqlite:///{db}", tmp_path / "instance", CACHE_REDIS_URL=REDIS_URL)
    sis(env, "etl", "run", *map(str, exports))
    log = tmp_path / "access.log"
    server = _LoggedServer(env, tmp_path / "gunicorn.log", workers=2, access_log=log).start()
    try:
        with ThreadPoolExecutor(8) as pool:
            before = set(pool.map(lambda _: _overview_request(server.url), range(16)))
            assert len(before) == 1 and client.dbsize() > 0  # one answer, cached in Redis
            sis(env, "etl", "run", *map(str, later))
            from etl.db import make_engine

            exact = build_report(make_engine(f"sqlite:///{db}"), None, "manager")
            expected = expected_cards(exact)["card-contact_72h-detail"]

            def fresh() -> set[str]:
                return set(pool.map(lambda _: _overview_request(server.url), range(16)))

            after = _until(lambda: fresh() == {expected} and fresh(), timeout=20)
        assert after == {expected} and before != after
        pids = {line.split()[0] for line in log.read_text().splitlines() if "_dash-update" in line}
        assert len(pids) == 2, "both workers must have answered"
    finally:
        server.stop()
        client.flushdb()
