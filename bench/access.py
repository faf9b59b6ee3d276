"""What the access guard costs per request: the trivial `pong` callback through the Flask app,
in one process, as demo mode (no session lookup: the floor), a signed-in manager and a
commissioner link (each request checks its account or link in the warehouse).

    .venv/bin/python bench/access.py [--requests 2000] [--database-url URL]

Prints per-request p50/p95 in ms and the ratios against the demo floor, measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

# bench/dashboard.py would shadow the dashboard package: import from the project root.
sys.path[0] = str(Path(__file__).resolve().parents[1])

BODY = {
    "output": "pong.data",
    "outputs": {"id": "pong", "property": "data"},
    "inputs": [{"id": "ping", "property": "data", "value": 1}],
    "changedPropIds": ["ping.data"],
}


def timings(client, n: int) -> list[float]:  # noqa: ANN001
    out = []
    for _ in range(n):
        start = time.perf_counter()
        response = client.post("/_dash-update-component", json=BODY)
        out.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sis-bench-access-"))
    os.environ.update(SIS_INSTANCE=str(work), SIS_SECRET_KEY="bench", SIS_ENV="demo")
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    from dashboard import data
    from dashboard.access import accounts, links
    from dashboard.app import create_app
    from etl.db import upgrade

    upgrade(data.engine())
    app = create_app().server
    name = f"bench-{time.time_ns()}"
    accounts.add(data.engine(), name, "manager", "bench-password-long")
    _link, token = links.create(data.engine(), "Bench ICB", None, "bench")

    demo = app.test_client()
    manager = app.test_client()
    manager.get("/login")  # sets a CSRF token
    with manager.session_transaction() as s:
        csrf = s["csrf_token"]
    r = manager.post(
        "/login", data={"name": name, "password": "bench-password-long", "csrf_token": csrf}
    )
    assert r.status_code == 303, r.status_code
    commissioner = app.test_client()
    assert commissioner.get("/link/" + token).status_code == 303

    rows = {}
    for label, client in (
        ("demo (floor)", demo),
        ("manager", manager),
        ("commissioner", commissioner),
    ):
        timings(client, 100)  # warm-up
        ms = timings(client, args.requests)
        rows[label] = (statistics.median(ms), statistics.quantiles(ms, n=20)[18])
    floor50, floor95 = rows["demo (floor)"]
    print(f"{args.requests} pong callbacks per audience, {data.engine().dialect.name}")
    for label, (p50, p95) in rows.items():
        print(
            f"{label:14s} p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  "
            f"x{p50 / floor50:4.2f} / x{p95 / floor95:4.2f} of the floor"
        )


if __name__ == "__main__":
    main()
