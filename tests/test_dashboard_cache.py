"""The dashboard's cache is shared: what one worker computed, another reads, on the filesystem
cache and on Redis (SIS_TEST_REDIS_URL, default the local server; CI fails without it), and a
cold key is computed once however many requests arrive together."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
import redis

from dashboard import cache
from dashboard.app import create_app

REDIS_URL = os.environ.get("SIS_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
KINDS = ["filesystem"] + (["redis"] if REDIS_URL else [])


@pytest.fixture(params=KINDS)
def two_workers(request, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """Two app instances (as two gunicorn workers have) configured for the same cache."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'w.db'}")
    monkeypatch.setenv("SIS_CACHE_DIR", str(tmp_path / "cache"))
    if request.param == "redis":
        client = redis.Redis.from_url(REDIS_URL)
        client.flushdb()  # an unreachable Redis fails here, loudly
        monkeypatch.setenv("CACHE_REDIS_URL", REDIS_URL)
    apps = (create_app().server, create_app().server)
    yield request.param, apps
    if request.param == "redis":
        redis.Redis.from_url(REDIS_URL).flushdb()


def test_a_value_computed_by_one_worker_is_read_by_the_other(two_workers) -> None:
    kind, (first, second) = two_workers
    calls: list[str] = []

    def compute(worker: str) -> dict:
        calls.append(worker)
        return {"figure": 42, "worker": worker}

    with first.test_request_context():
        assert cache.cached(("report", 7, "gp"), lambda: compute("first"))["worker"] == "first"
    with second.test_request_context():
        assert cache.cached(("report", 7, "gp"), lambda: compute("second"))["worker"] == "first"
        assert cache.cached(("report", 8, "gp"), lambda: compute("second"))["worker"] == "second"
    assert calls == ["first", "second"]
    if kind == "redis":
        keys = redis.Redis.from_url(REDIS_URL).keys("sis:*")
        assert len(keys) == 2


def test_a_cold_key_is_computed_once_for_requests_arriving_together(two_workers) -> None:
    _kind, apps = two_workers
    calls: list[int] = []
    results: list[dict] = []

    def compute() -> dict:
        calls.append(1)
        time.sleep(0.3)  # a slow query, so that every request arrives while it runs
        return {"figure": 1}

    def request(app) -> None:  # noqa: ANN001
        with app.test_request_context():
            results.append(cache.cached(("report", 1, None), compute))

    threads = [threading.Thread(target=request, args=(apps[i % 2],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert results == [{"figure": 1}] * 8


def test_a_failed_computation_lets_the_next_request_try_again(two_workers) -> None:
    _kind, (first, _second) = two_workers
    with first.test_request_context():
        with pytest.raises(RuntimeError):
            cache.cached(("report", 2), lambda: (_ for _ in ()).throw(RuntimeError("down")))
        started = time.monotonic()
        assert cache.cached(("report", 2), lambda: {"ok": True}) == {"ok": True}
        assert time.monotonic() - started < 5  # the failed lock was released, not waited out
