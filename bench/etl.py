"""ETL benchmark: the real load against naive and floor baselines, measured in the same run.

    .venv/bin/python bench/etl.py                       # 1,000,000 referrals, SQLite + PostgreSQL
    .venv/bin/python bench/etl.py --referrals 100000 --backends sqlite

Generates plain-CSV exports with `sis demo-data --shapes csv`, then times, each in its own
process (so peak memory is per measurement):
  etl      `sis etl run` on the files (validation, pseudonymisation, staging, merge);
  naive    pandas.read_csv + DataFrame.to_sql of the same files;
  floor    PostgreSQL: raw COPY of the same files; SQLite: sqlite3.executemany of the same rows
           in one transaction.
and a linearity run at a tenth of the size. Prints rows per second, peak memory and ratios.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import resource
import sqlite3
import sys
import time
import uuid
from pathlib import Path

from etl_bench_files import generate, ordered, run_child

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get(
    "SIS_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
EXPORTED_AT = dt.datetime(2026, 10, 31, 17, 30)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _target(backend: str, folder: Path, tag: str) -> tuple[str, str | None]:
    if backend == "sqlite":
        db = folder / f"{tag}-{uuid.uuid4().hex[:6]}.db"
        return f"sqlite:///{db}", None
    schema = f"bench_{tag}_{uuid.uuid4().hex[:6]}"
    return PG_URL, schema


def _engine(url: str, schema: str | None):  # noqa: ANN202
    from sqlalchemy import create_engine, text

    if schema is None:
        from etl.db import make_engine

        return make_engine(url)
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    return create_engine(url, connect_args={"options": f"-csearch_path={schema}"})


def _drop(schema: str | None) -> None:
    if schema:
        from sqlalchemy import create_engine, text

        admin = create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def measure_etl(backend: str, folder: Path) -> dict:
    os.environ.setdefault("SIS_PSEUDONYM_KEY", "bench-key")
    from etl import runner
    from etl.db import upgrade

    url, schema = _target(backend, folder, "etl")
    engine = _engine(url, schema)
    upgrade(engine)
    files = ordered(folder)
    start = time.perf_counter()
    reports = runner.run(engine, files, "default", EXPORTED_AT)
    seconds = time.perf_counter() - start
    engine.dispose()
    _drop(schema)
    bad = [r.path for r in reports if r.status != "loaded" or not r.adds_up]
    return {
        "seconds": seconds,
        "rows": sum(r.read for r in reports),
        "failed": bad,
        "quarantined": sum(r.quarantined for r in reports),
    }


def measure_naive(backend: str, folder: Path) -> dict:
    import pandas as pd

    url, schema = _target(backend, folder, "naive")
    engine = _engine(url, schema)
    start = time.perf_counter()
    rows = 0
    for f in ordered(folder):
        frame = pd.read_csv(f)
        rows += len(frame)
        frame.to_sql(f.stem.split("_")[0], engine, index=False, if_exists="append")
    seconds = time.perf_counter() - start
    engine.dispose()
    _drop(schema)
    return {"seconds": seconds, "rows": rows}


def measure_floor(backend: str, folder: Path) -> dict:
    start = time.perf_counter()
    rows = 0
    if backend == "sqlite":
        db = folder / f"floor-{uuid.uuid4().hex[:6]}.db"
        conn = sqlite3.connect(db)
        for f in ordered(folder):
            with f.open(newline="", encoding="utf-8") as fh:
                reader = csv.reader(fh)
                header = next(reader)
                name = f.stem.split("_")[0]
                cols = ", ".join(f'"c{i}"' for i in range(len(header)))
                conn.execute(f"CREATE TABLE {name} ({cols})")
                marks = ", ".join("?" for _ in header)
                cur = conn.executemany(f"INSERT INTO {name} VALUES ({marks})", reader)
                rows += cur.rowcount
        conn.commit()
        conn.close()
        db.unlink()
    else:
        import psycopg

        url, schema = _target(backend, folder, "floor")
        with psycopg.connect(url.replace("+psycopg", "")) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
            for f in ordered(folder):
                with f.open(encoding="utf-8") as fh:
                    header = next(csv.reader([fh.readline()]))
                name = f"{schema}.{f.stem.split('_')[0]}"
                conn.execute(
                    f"CREATE TABLE {name} ({', '.join(f'c{i} text' for i in range(len(header)))})"
                )
                with (
                    conn.cursor().copy(
                        f"COPY {name} FROM STDIN WITH (FORMAT csv, HEADER true)"
                    ) as cp,
                    f.open("rb") as fh,
                ):
                    while block := fh.read(1 << 20):
                        cp.write(block)
                rows += conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
    return {"seconds": time.perf_counter() - start, "rows": rows}


def _child(kind: str, backend: str, folder: Path) -> dict:
    return run_child(__file__, kind, backend, folder)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--referrals", type=int, default=1_000_000)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--dir", type=Path, default=ROOT / "bench" / "out")
    ap.add_argument("--no-linearity", action="store_true")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.child:
        fn = {"etl": measure_etl, "naive": measure_naive, "floor": measure_floor}[args.child]
        result = fn(args.backends, args.dir)
        result["peak_mb"] = _peak_mb()
        print(json.dumps(result))
        return
    big, small = args.dir / "full", args.dir / "tenth"
    gen = generate(big, args.referrals)
    sizes = {f.name: f.stat().st_size for f in big.iterdir()}
    print(
        f"generated {args.referrals:,} referrals in {gen:.1f} s: "
        + ", ".join(f"{k} {v / 1e6:.0f} MB" for k, v in sizes.items())
    )
    if not args.no_linearity:
        generate(small, args.referrals // 10)
    for backend in args.backends.split(","):
        etl = _child("etl", backend, big)
        floor = _child("floor", backend, big)
        naive = _child("naive", backend, big)
        print(f"\n== {backend} ({etl['rows']:,} rows read, {etl['quarantined']:,} quarantined)")
        for name, m in (("etl", etl), ("floor", floor), ("naive", naive)):
            print(
                f"  {name:6} {m['seconds']:8.1f} s  {m['rows'] / m['seconds']:>10,.0f} rows/s"
                f"  peak {m['peak_mb']:7.0f} MB"
            )
        print(
            f"  etl / floor = {etl['seconds'] / floor['seconds']:.2f}x   "
            f"etl / naive = {etl['seconds'] / naive['seconds']:.2f}x"
        )
        if etl["failed"]:
            print(f"  files not loaded cleanly: {etl['failed']}")
        if not args.no_linearity:
            tenth = _child("etl", backend, small)
            print(
                f"  linearity: {args.referrals // 10:,} -> {args.referrals:,} referrals took "
                f"{etl['seconds'] / tenth['seconds']:.1f}x the time (10x is linear)"
            )


if __name__ == "__main__":
    main()
