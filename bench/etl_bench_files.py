"""The benchmark exports, shared by bench/etl.py and bench/kpis.py."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ORDER = ("referrals", "contacts", "feedback", "outcomes")


def ordered(folder: Path) -> list[Path]:
    """The CSV exports in load order: referrals first, as a service would send them."""
    files = [f for f in folder.iterdir() if f.suffix == ".csv"]
    return sorted(files, key=lambda f: next(i for i, k in enumerate(ORDER) if k in f.name))


def generate(folder: Path, referrals: int) -> float:
    """Write plain-CSV exports of a simulated service into an emptied `folder`; seconds."""
    from etl.demo import write_demo_exports

    folder.mkdir(parents=True, exist_ok=True)
    for f in folder.iterdir():
        f.unlink()
    start = time.perf_counter()
    write_demo_exports(folder, referrals, seed=7, shapes="csv")
    return time.perf_counter() - start


def run_child(script: str, kind: str, backend: str, folder: Path, *extra: str) -> dict:
    """Run one measurement of `script` in a fresh process (so peak memory is its own) and
    return the JSON object it prints last."""
    out = subprocess.run(
        [sys.executable, script, "--child", kind, "--backends", backend, "--dir", str(folder)]
        + list(extra),
        capture_output=True,
        text=True,
        cwd=Path(script).resolve().parents[1],
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"{kind} on {backend} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])
