"""The cache shared by every gunicorn worker: Redis when CACHE_REDIS_URL is set, else files.

Results are keyed by the data version (the newest loaded file in the run ledger), so a new load
makes every old entry unreachable: nothing has to be deleted, and no tab can see a mix of old and
new figures. A cold key is computed by one worker while the others wait for it, so twenty users
arriving together cost one query, not twenty. The lock is Redis's atomic ``add`` (SET NX) or, on
the filesystem, a lock file made with O_CREAT|O_EXCL (FileSystemCache's ``add`` checks, then
writes: two workers can both win it).
"""

from __future__ import annotations

import hashlib
import logging
import os
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
LOCKS = "sis_cache_locks"  # the lock-file folder, when the cache is the filesystem


def init_cache(server: Flask) -> Cache:
    redis_url = settings.get("CACHE_REDIS_URL")
    if redis_url:
        config = {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": redis_url}
    else:
        folder = settings.cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "locks").mkdir(exist_ok=True)
        server.extensions[LOCKS] = folder / "locks"
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
    lock = name + ".lock"
    if not _acquire(cache, lock):
        deadline = time.monotonic() + LOCK_SECONDS
        while time.monotonic() < deadline:  # another worker is computing it
            time.sleep(0.05)
            value = cache.get(name)
            if value is not None:
                return value
            if not _held(cache, lock):  # it failed: compute here
                break
    try:
        value = compute()
        cache.set(name, value, timeout=timeout)
        return value
    finally:
        _release(cache, lock)


def _acquire(cache: Cache, lock: str) -> bool:
    folder = current_app.extensions.get(LOCKS)
    if folder is None:
        return cache.add(lock, 1, timeout=LOCK_SECONDS)
    path = folder / lock
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        return True
    except FileExistsError:
        try:
            stale = time.time() - path.stat().st_mtime > LOCK_SECONDS  # its worker died
        except FileNotFoundError:
            stale = True
        if stale:
            path.unlink(missing_ok=True)
            return _acquire(cache, lock)
        return False


def _held(cache: Cache, lock: str) -> bool:
    folder = current_app.extensions.get(LOCKS)
    return cache.has(lock) if folder is None else (folder / lock).exists()


def _release(cache: Cache, lock: str) -> None:
    folder = current_app.extensions.get(LOCKS)
    if folder is None:
        cache.delete(lock)
    else:
        (folder / lock).unlink(missing_ok=True)
