"""The benchmark exports, shared by bench/etl.py and bench/kpis.py."""

from __future__ import annotations

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
