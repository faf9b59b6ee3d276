"""The cache shared by every gunicorn worker: Redis when CACHE_REDIS_URL is set, else files.

Results are keyed by the data version (the newest loaded file in the run ledger), so a new load
makes every old entry unreachable: nothing has to be deleted, and no tab can see a mix of old and
new figures. A cold key is computed by one worker while the others wait for it (a lock entry made
with the cache's atomic ``add``), so twenty users arriving together cost one query, not twenty.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app
from flask_caching import Cache

from etl import settings

log = logging.getLogger(__name__)
TIMEOUT = 24 * 3600  # entries of an old data version simply age out
LOCK_SECONDS = 60
EXTENSION = "sis_cache"


def init_cache(server: Flask) -> Cache:
    redis_url = settings.get("CACHE_REDIS_URL")
    if redis_url:
        config = {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": redis_url}
    else:
        folder = settings.cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        config = {
            "CACHE_TYPE": "FileSystemCache",
            "CACHE_DIR": str(folder),
            "CACHE_THRESHOLD": 2000,
        }
    config |= {"CACHE_DEFAULT_TIMEOUT": TIMEOUT, "CACHE_KEY_PREFIX": "sis:"}
    cache = Cache(server, config=config)
    server.extensions[EXTENSION] = cache
    return cache


def _cache() -> Cache:
    return current_app.extensions[EXTENSION]


def key(*parts: object) -> str:
    text = "|".join(map(str, parts))
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def cached(parts: tuple, compute: Callable[[], Any], timeout: int = TIMEOUT) -> Any:  # noqa: ANN401
    """The cached value of `parts`, computing it once across workers when missing."""
    cache, name = _cache(), key(*parts)
    value = cache.get(name)
    if value is not None:
        return value
    lock = name + ":lock"
    if not cache.add(lock, 1, timeout=LOCK_SECONDS):
        deadline = time.monotonic() + LOCK_SECONDS
        while time.monotonic() < deadline:  # another worker is computing it
            time.sleep(0.05)
            value = cache.get(name)
            if value is not None:
                return value
            if not cache.has(lock):  # it failed: compute here
                break
    try:
        value = compute()
        cache.set(name, value, timeout=timeout)
        return value
    finally:
        cache.delete(lock)
