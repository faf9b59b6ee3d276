"""KPI benchmark: the whole `sis kpis --json` report against a pandas baseline, same run.

    .venv/bin/python bench/kpis.py                          # 1,000,000 referrals
    .venv/bin/python bench/kpis.py --referrals 100000 --backends sqlite

Generates the same plain-CSV exports as bench/etl.py (`sis demo-data --shapes csv`), loads them
once with the real ETL into bench/out (a SQLite file and a PostgreSQL schema, kept and reused
while the exports are unchanged), then measures, each in its own process so that peak memory is
per measurement:
  report     build_report(): every measure, by month, by breakdown, SPC (the whole --json);
  filtered   the same for one referral source and one year;
  pandas     the baseline: the marts read into pandas, then the headline figures computed there
             (overall, by month and by source), checked against the engine's.
Prints seconds (first run in a fresh process, and the best of the next three), peak memory and
the ratios pandas / engine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import sys
import time
from pathlib import Path

from etl_bench_files import run_child

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get(
    "SIS_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
EXPORTED_AT = dt.datetime(2026, 10, 31, 17, 30)
FILTER = {"month_from": "2025-11", "month_to": "2026-10", "source": "gp"}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _engine(backend: str, folder: Path, referrals: int):  # noqa: ANN202
    from sqlalchemy import create_engine, text

    from etl.db import make_engine

    if backend == "sqlite":
        return make_engine(f"sqlite:///{folder / f'kpis-{referrals}.db'}")
    schema = f"bench_kpis_{referrals}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
    admin.dispose()
    return create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})


def load(backend: str, folder: Path, referrals: int) -> dict:
    """Load the exports once (the run ledger skips files already loaded)."""
    os.environ.setdefault("SIS_PSEUDONYM_KEY", "bench-key")
    from etl_bench_files import ordered

    from etl import runner
    from etl.db import upgrade

    engine = _engine(backend, folder, referrals)
    upgrade(engine)
    start = time.perf_counter()
    reports = runner.run(engine, ordered(folder / "exports"), "default", EXPORTED_AT)
    return {"seconds": time.perf_counter() - start, "loaded": [r.status for r in reports]}


def measure_report(backend: str, folder: Path, referrals: int, **filters: str) -> dict:
    from kpi.report import build_report

    engine = _engine(backend, folder, referrals)
    times = []
    for _ in range(4):
        start = time.perf_counter()
        report = build_report(engine, **filters)
        times.append(time.perf_counter() - start)
    text = json.dumps(report, default=str)
    return {
        "first": times[0],
        "best": min(times[1:]),
        "bytes": len(text),
        "figures": _headline(report),
    }


def _headline(report: dict) -> dict:
    m = report["measures"]
    return {
        "referrals": m["referrals"]["value"],
        "contact_72h": [m["contact_72h"][k] for k in ("numerator", "denominator")],
        "appt_offered_7d": [m["appt_offered_7d"][k] for k in ("numerator", "denominator")],
        "hours_median": m["hours_to_contact"]["median"],
        "sessions": m["sessions"]["value"],
        "dna_rate": [m["dna_rate"][k] for k in ("numerator", "denominator")],
        "fft_positive": [m["fft_positive"][k] for k in ("numerator", "denominator")],
        "waiting_now": m["waiting_now"]["value"],
    }


def measure_pandas(backend: str, folder: Path, referrals: int) -> dict:
    from pandas_baseline import headline

    engine = _engine(backend, folder, referrals)
    start = time.perf_counter()
    figures = headline(engine, EXPORTED_AT)
    seconds = time.perf_counter() - start
    return {"first": seconds, "best": seconds, "figures": figures}


def _child(kind: str, backend: str, folder: Path, referrals: int) -> dict:
    return run_child(__file__, kind, backend, folder, "--referrals", str(referrals))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--referrals", type=int, default=1_000_000)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--dir", type=Path, default=ROOT / "bench" / "out" / "kpis")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))  # the project's etl package before bench/etl.py
    if args.child:
        kinds = {
            "load": load,
            "report": measure_report,
            "filtered": lambda b, f, r: measure_report(b, f, r, **FILTER),
            "pandas": measure_pandas,
        }
        result = kinds[args.child](args.backends, args.dir, args.referrals)
        result["peak_mb"] = _peak_mb()
        print(json.dumps(result, default=str))
        return
    from etl_bench_files import generate

    exports = args.dir / "exports"
    marker = args.dir / f"generated-{args.referrals}"
    if not marker.exists():
        for old in args.dir.glob("kpis-*.db*"):
            old.unlink()
        seconds = generate(exports, args.referrals)
        marker.touch()
        print(f"generated {args.referrals:,} referrals in {seconds:.1f} s")
    for backend in args.backends.split(","):
        loaded = _child("load", backend, args.dir, args.referrals)
        print(f"\n== {backend}, {args.referrals:,} referrals (load: {loaded['seconds']:.1f} s)")
        results = {
            k: _child(k, backend, args.dir, args.referrals)
            for k in ("report", "filtered", "pandas")
        }
        for name, m in results.items():
            print(
                f"  {name:9} first {m['first']:7.3f} s   best of 3 {m['best']:7.3f} s"
                f"   peak {m['peak_mb']:6.0f} MB"
            )
        base = results["pandas"]["first"]
        print(
            f"  pandas / report = {base / results['report']['first']:.1f}x (first), "
            f"{base / results['report']['best']:.1f}x (best);  "
            f"pandas / filtered = {base / results['filtered']['best']:.1f}x"
        )
        same = results["pandas"]["figures"] == results["report"]["figures"]
        print(f"  headline figures agree with the pandas baseline: {same}")
        if not same:
            print(f"    engine: {results['report']['figures']}")
            print(f"    pandas: {results['pandas']['figures']}")


if __name__ == "__main__":
    main()
