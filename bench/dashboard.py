"""Dashboard benchmark: 20 people using the dashboard at once, on 1,000,000 referrals in PostgreSQL.

    .venv/bin/python bench/dashboard.py                          # 1,000,000 referrals
    .venv/bin/python bench/dashboard.py --referrals 20000        # a quick one
    .venv/bin/python bench/dashboard.py --redis                  # the Redis cache (db 15)

Loads the demo exports once with bench/kpis.py's loader (into the PostgreSQL schema
bench_kpis_<N>, reused when it already holds a load, so bench/kpis.py and this share it), starts
the app as in production (`gunicorn --workers 2 dashboard.app:server`, SIS_ENV=demo, state and
the filesystem cache in bench/out/dashboard/) with an empty cache, then runs headless locust
(bench/locustfile_dashboard.py) in three phases of --users people for --seconds each:
  floor  the same clicks, but every callback is the app's one-line `pong`: what any callback
         costs here (HTTP, gunicorn, Flask, Dash's dispatch), measured in the same run;
  cold   each person changes filters to month ranges and sources nobody has asked for yet
         (every combination is new: the report is computed), now and then opening another
         page; it ends early if the combinations run out;
  warm   each person repeats exactly what they did in the cold phase, now from the cache.
People open the dashboard at random moments in the first few seconds (up to the longest
think time), think --think seconds between clicks, and poll for the data version every
SIS_POLL_SECONDS (30 s), as an open tab does. The requests are the browser's (see the
locustfile). Then it fetches a first view of / (the page, every JS/CSS/icon it loads, the
layout, the dependencies and the six initial callbacks) with and without compression.
Prints callbacks per second and p50/p95/p99 latency per phase, per callback and per click
(first request to last answer), the CPU in use, the gunicorn workers' memory (RSS from /proc,
sampled every half second), the first-view bytes, and the goals: warm p95 within 2x of the
floor's, cold p95 under 1 s, no errors, each worker under 300 MB, a first view under 2 MB on
the wire.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
PG_URL = os.environ.get(
    "SIS_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = "redis://127.0.0.1:6379/15"
GOAL_WARM_RATIO, GOAL_COLD_MS, GOAL_RSS_MB, GOAL_FIRST_VIEW = 2.0, 1000.0, 300.0, 2_000_000
# dcc components whose code the browser loads on demand (dash/dcc/__init__.py async_resources)
ASYNC_CHUNKS = {
    "Dropdown": ["dash/dcc/async-dropdown.js"],
    "Graph": ["dash/dcc/async-graph.js", "plotly/package_data/plotly.min.js"],
    "DatePickerSingle": ["dash/dcc/async-datepicker.js"],
    "DatePickerRange": ["dash/dcc/async-datepicker.js"],
    "Slider": ["dash/dcc/async-slider.js"],
    "RangeSlider": ["dash/dcc/async-slider.js"],
    "Markdown": ["dash/dcc/async-markdown.js"],
    "Upload": ["dash/dcc/async-upload.js"],
    "DataTable": ["dash/dash_table/async-table.js", "dash/dash_table/async-highlight.js"],
}


# -- shared with the locustfile ---------------------------------------------------------------


def callback_body(spec: dict, values: dict, changed: list[str]) -> str:
    """The JSON the dash renderer posts to /_dash-update-component for callback `spec`."""
    outputs = [{"id": i, "property": p} for i, p in spec["outputs"]]
    return json.dumps(
        {
            "output": spec["output"],
            "outputs": outputs if len(outputs) > 1 else outputs[0],
            "inputs": [
                {"id": i, "property": p, "value": values.get(f"{i}.{p}")} for i, p in spec["inputs"]
            ],
            "changedPropIds": changed,
            "parsedChangedPropsIds": changed,
            "state": [
                {"id": i, "property": p, "value": values.get(f"{i}.{p}")} for i, p in spec["state"]
            ],
        }
    )


def search(filters: dict) -> str:
    """The address's query string for `filters`, as dashboard/filters.py writes it."""
    pairs = [(k, filters[k]) for k in ("from", "to", "source") if filters.get(k)]
    return "?" + urlencode(pairs) if pairs else ""


# -- the warehouse --------------------------------------------------------------------------


def schema_of(referrals: int) -> str:
    return f"bench_kpis_{referrals}"  # bench/kpis.py's schema


def prepare(referrals: int, folder: Path) -> str:
    """The PostgreSQL schema holding `referrals`: reused when loaded, else generated and loaded
    with bench/kpis.py's loader (about 5 minutes for 1,000,000)."""
    from sqlalchemy import create_engine, text

    schema = schema_of(referrals)
    engine = create_engine(PG_URL)
    with engine.connect() as conn:
        try:
            loaded = conn.execute(
                text(f"SELECT count(*) FROM {schema}.etl_file WHERE status = 'loaded'")
            ).scalar()
        except Exception:  # noqa: BLE001 - no schema or no tables yet
            loaded = 0
    engine.dispose()
    if loaded >= 4:  # referrals, contacts, feedback, outcomes
        print(f"reusing PostgreSQL schema {schema} ({loaded} files loaded)")
        return schema
    from etl_bench_files import generate, run_child

    data = folder / f"data-{referrals}"
    if not (data / "generated").exists():
        seconds = generate(data / "exports", referrals)
        (data / "generated").touch()
        print(f"generated {referrals:,} referrals in {seconds:.1f} s")
    print(f"loading them into PostgreSQL schema {schema} ...", flush=True)
    args = ("--referrals", str(referrals))
    loaded = run_child(str(BENCH / "kpis.py"), "load", "postgresql", data, *args)
    print(f"loaded in {loaded['seconds']:.1f} s: {loaded['loaded']}")
    return schema


# -- the app under gunicorn ---------------------------------------------------------------------


class Server:
    def __init__(self, args: argparse.Namespace, schema: str) -> None:
        self.port = args.port
        out = args.dir
        self.cache_dir = out / "cache"
        self.redis = REDIS_URL if args.redis else None
        self.env = {
            **os.environ,
            "SIS_ENV": "demo",
            "SIS_INSTANCE": str(out / "instance"),
            "SIS_CACHE_DIR": str(self.cache_dir),
            "DATABASE_URL": f"{PG_URL}?options=-csearch_path%3D{schema}",
        }
        self.env.pop("CACHE_REDIS_URL", None)
        if self.redis:
            self.env["CACHE_REDIS_URL"] = self.redis
        self.cmd = [
            str(Path(sys.executable).with_name("gunicorn")),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(args.workers),
            *args.gunicorn_args.split(),
            "dashboard.app:server",
        ]
        self.log = out / "gunicorn.log"
        self.proc: subprocess.Popen | None = None

    def empty_cache(self) -> None:
        if self.redis:
            import redis

            redis.Redis.from_url(self.redis).flushdb()
        shutil.rmtree(self.cache_dir, ignore_errors=True)
        self.cache_dir.mkdir(parents=True)

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.cmd,
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited; see {self.log}")
            try:
                if get(self.port, "/_dash-dependencies")[0] == 200 and len(self.workers()) > 0:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"gunicorn did not answer in 60 s; see {self.log}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def workers(self) -> list[int]:
        """The pids of the gunicorn workers (children of the master)."""
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if self.proc and int(fields[1]) == self.proc.pid:
                pids.append(int(stat.parent.name))
        return sorted(pids)


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class MemorySampler(threading.Thread):
    """Peak RSS of each gunicorn worker, sampled every half second; and the CPU used during
    the phase (the machine's, the workers', PostgreSQL's and locust's, in cores)."""

    def __init__(self, server: Server) -> None:
        super().__init__(daemon=True)
        self.server, self.peak, self.running = server, {}, True
        self.cpu_start = cpu_ticks(server)

    def run(self) -> None:
        while self.running:
            for pid in self.server.workers():
                mb = rss_mb(pid)
                if mb is not None:
                    self.peak[pid] = max(self.peak.get(pid, 0.0), mb)
            time.sleep(0.5)

    def stop(self) -> tuple[dict[int, float], dict[str, float]]:
        self.running = False
        self.join()
        end = cpu_ticks(self.server)
        wall = end["wall"] - self.cpu_start["wall"]
        hz = os.sysconf("SC_CLK_TCK")
        cores = {k: (end[k] - self.cpu_start.get(k, 0)) / hz / wall for k in end if k != "wall"}
        return self.peak, cores | {"wall": wall}


def cpu_ticks(server: Server) -> dict[str, float]:
    """CPU ticks so far: the machine (busy), the gunicorn workers and postgres."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(x) for x in fields]
    out = {"wall": time.monotonic(), "machine": sum(ticks) - ticks[3] - ticks[4]}
    workers = set(server.workers())
    out["workers"] = out["postgres"] = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        comm = text[text.index("(") + 1 : text.rindex(")")]
        rest = text.rsplit(")", 1)[1].split()
        used = int(rest[11]) + int(rest[12])  # utime + stime
        if int(stat.parent.name) in workers:
            out["workers"] += used
        elif comm.startswith("postgres"):
            out["postgres"] += used
    return out


# -- HTTP, counting what travels ----------------------------------------------------------------


def request(
    port: int, method: str, path: str, body: str | None = None, encoding: str = "identity"
) -> tuple[int, bytes, bytes, int]:
    """(status, wire body, decoded body, response header bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    headers = {"Accept-Encoding": encoding}
    if body is not None:
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=body, headers=headers)
    resp = conn.getresponse()
    wire = resp.read()
    header_bytes = len("HTTP/1.1 200 OK\r\n\r\n") + sum(
        len(k) + len(v) + 4 for k, v in resp.getheaders()
    )
    coding = resp.getheader("Content-Encoding", "")
    if coding == "gzip":
        data = gzip.decompress(wire)
    elif coding == "br":
        import brotli

        data = brotli.decompress(wire)
    else:
        data = wire
    conn.close()
    return resp.status, wire, data, header_bytes


def get(port: int, path: str) -> tuple[int, bytes]:
    status, _, data, _ = request(port, "GET", path)
    return status, data


def post(port: int, spec: dict, values: dict, changed: list[str]) -> dict:
    status, _, data, _ = request(
        port, "POST", "/_dash-update-component", callback_body(spec, values, changed)
    )
    if status != 200:
        raise SystemExit(f"callback {spec['output']} answered {status}: {data[:500]!r}")
    return json.loads(data)


# -- the callbacks, the pages and each person's plan --------------------------------------------


def callbacks(port: int) -> dict[str, dict]:
    """The callbacks the locust users call, by kind, from /_dash-dependencies."""
    deps = json.loads(get(port, "/_dash-dependencies")[1])
    out: dict[str, dict] = {}
    for d in deps:
        if d.get("clientside_function"):
            continue
        spec = {
            "output": d["output"],
            "outputs": [(o["id"], o["property"]) for o in _outputs(d["output"])],
            "inputs": [(i["id"], i["property"]) for i in d["inputs"]],
            "state": [(s["id"], s["property"]) for s in d["state"]],
        }
        first = spec["outputs"][0]
        inputs = {f"{i}.{p}" for i, p in spec["inputs"]}
        if first == ("pong", "data"):
            out["pong"] = spec
        elif first == ("data-status", "data"):
            out["poll"] = spec
        elif first == ("_pages_content", "children"):
            out["route"] = spec
        elif first == ("url", "search"):
            out["sync"] = spec
        elif first == ("data-banner", "children"):
            out["banner"] = spec
        elif first[1] == "children" and inputs == {"data-status.data", "filters.data"}:
            out["content:" + first[0]] = spec
    missing = {"pong", "poll", "route", "sync", "banner"} - out.keys()
    if missing:
        raise SystemExit(f"callbacks not found in /_dash-dependencies: {sorted(missing)}")
    return out


def _outputs(output: str) -> list[dict]:
    """'..a.b...c.d..' or 'a.b' -> [{id, property}, ...] (ids here hold no dots)."""
    parts = output.strip(".").split("...") if output.startswith("..") else [output]
    return [dict(zip(("id", "property"), p.rsplit(".", 1), strict=True)) for p in parts]


def components(node: object) -> list[dict]:
    """Every component in a Dash layout (JSON), depth first."""
    found = []
    if isinstance(node, dict):
        if "type" in node and isinstance(node.get("props"), dict):
            found.append(node)
        for value in (node.get("props") or node).values():
            found += components(value)
    elif isinstance(node, list):
        for value in node:
            found += components(value)
    return found


def pages(port: int, specs: dict[str, dict]) -> dict[str, str]:
    """Page name -> path, from the navigation links, each matched to the content callback
    whose container the page route mounts for it."""
    layout = json.loads(get(port, "/_dash-layout")[1])
    paths = [c["props"]["href"] for c in components(layout) if c.get("type") == "Link"]
    found = {}
    for path in dict.fromkeys(paths):
        routed = post(
            port,
            specs["route"],
            {"_pages_location.pathname": path, "_pages_location.search": ""},
            ["_pages_location.pathname"],
        )
        text = json.dumps(routed)
        for kind in specs:
            if kind.startswith("content:") and f'"id": "{kind[8:]}"' in text:
                found[kind[8:].removesuffix("-content")] = path
    for kind in [k for k in specs if k.startswith("content:")]:
        name = kind[8:].removesuffix("-content")
        if name in found:
            specs["page:" + name] = specs.pop(kind)
    if not found:
        raise SystemExit("no page content callback found behind the navigation links")
    return found


def route_remounts(port: int, spec: dict, paths: dict[str, str]) -> bool:
    """Whether the page route mounts the page afresh when only the address's query changes
    (a filter change): then the browser asks for the page content a second time. A route
    that keeps the mounted page answers 204 (PreventUpdate)."""
    values = {"_pages_location.pathname": next(iter(paths.values()))}
    values["_pages_location.search"] = "?source=gp"
    body = callback_body(spec, values, ["_pages_location.search"])
    return request(port, "POST", "/_dash-update-component", body)[0] != 204


def make_plans(
    users: int,
    page_names: list[str],
    months: list[str],
    sources: list[str],
    seed: int,
    arrival: float,
) -> list[dict]:
    """Each person: when they open the dashboard (within `arrival` seconds of the start), a
    first page, then clicks. Two clicks in three change the filters to a combination of months
    and source that no one else asks for; the third opens another page. Combinations are dealt
    round-robin from one shuffled list, so each is new when asked."""
    rng = random.Random(seed)
    combos = [(a, b, s) for i, a in enumerate(months) for b in months[i:] for s in [None, *sources]]
    rng.shuffle(combos)
    plans = []
    for u in range(users):
        mine = combos[u::users]
        page = rng.choice(page_names)
        plan = {"first_page": page, "arrives": round(rng.uniform(0, arrival), 2), "actions": []}
        step = 0
        for combo in mine:
            if step % 3 == 2:
                page = rng.choice([p for p in page_names if p != page])
                plan["actions"].append(["nav", page])
                step += 1
            plan["actions"].append(["filter", *combo])
            step += 1
        plans.append(plan)
    return plans


# -- a phase ------------------------------------------------------------------------------------


def run_phase(args: argparse.Namespace, mode: str, plan_file: Path, done: Path | None) -> dict:
    result = args.dir / f"result-{mode}.json"
    result.unlink(missing_ok=True)
    env = {
        **os.environ,
        "BENCH_PLAN": str(plan_file),
        "BENCH_MODE": mode,
        "BENCH_RESULT": str(result),
        "BENCH_DONE": str(done) if done else "",
    }
    cmd = [
        str(Path(sys.executable).with_name("locust")),
        "-f",
        str(BENCH / "locustfile_dashboard.py"),
        "--headless",
        "--users",
        str(args.users),
        "--spawn-rate",
        str(args.users),
        "--run-time",
        f"{args.seconds}s",
        "--stop-timeout",
        "0",
        "--host",
        f"http://127.0.0.1:{args.port}",
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    with (args.dir / f"locust-{mode}.log").open("w") as log:
        subprocess.run(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
    if not result.exists():
        raise SystemExit(f"locust wrote no result; see {args.dir / f'locust-{mode}.log'}")
    return json.loads(result.read_text())


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (ms)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q / 100 * len(ordered) + 0.5)) - 1))]


def figures(result: dict, names: set[str] | None = None, callbacks_only: bool = True) -> dict:
    seconds = max(1e-9, result["end"] - result["start"])
    rows = [
        r
        for r in result["records"]
        if (names is None or r[0] in names)
        and (not callbacks_only or ("GET" not in r[0] and not r[0].startswith("click:")))
    ]
    ok = [r[1] for r in rows if r[3] is None]
    return {
        "n": len(rows),
        "errors": sum(1 for r in rows if r[3] is not None),
        "per_s": len(rows) / seconds,
        "p50": pct(ok, 50),
        "p95": pct(ok, 95),
        "p99": pct(ok, 99),
        "kb": (sum(r[2] for r in rows) / len(rows) / 1024) if rows else 0.0,
        "seconds": seconds,
        "error_samples": sorted({f"{r[0]}: {r[3]}" for r in rows if r[3]})[:3],
    }


def requests(result: dict) -> dict:
    """The figures of every HTTP request of a phase (callbacks and GETs, not the clicks)."""
    names = {rec[0] for rec in result["records"] if not rec[0].startswith("click:")}
    return figures(result, names, callbacks_only=False)


# -- first view bytes ---------------------------------------------------------------------------


def first_view(port: int, specs: dict, status: dict, page: str, path: str) -> dict[str, dict]:
    """Bytes (bodies + response headers) of a first view of `path`, per encoding."""
    encodings = {"identity": "identity", "gzip": "gzip", "br": "br, gzip"}
    html = get(port, path)[1].decode()
    assets = re.findall(r'<script[^>]+src="([^"]+)"', html) + re.findall(
        r'<link[^>]+href="([^"]+)"', html
    )
    values = {
        "data-status.data": status,
        "filters.data": {"from": None, "to": None, "source": None},
    }
    initial = [
        ("sync", {"url.search": ""}, ["url.search"]),
        ("poll", {"poll.n_intervals": 0}, []),
        (
            "route",
            {"_pages_location.pathname": path, "_pages_location.search": ""},
            ["_pages_location.pathname"],
        ),
        ("banner", values, ["data-status.data"]),
        ("sync", {**values, "url.search": ""}, ["data-status.data"]),  # the month options
        ("page:" + page, values, ["filters.data", "data-status.data"]),
    ]
    # the components on screen decide which on-demand chunks the browser fetches
    shown = get(port, "/_dash-layout")[1].decode()
    for kind, vals, changed in initial:
        shown += json.dumps(post(port, specs[kind], vals, changed))
    chunks = []
    for component, files in ASYNC_CHUNKS.items():
        if re.search(rf'"type":\s*"{component}"', shown):
            chunks += [f"/_dash-component-suites/{f}" for f in files if f not in chunks]
    chunks = list(dict.fromkeys(chunks))
    out: dict[str, dict] = {}
    for label, accept in encodings.items():
        sizes = {"page": 0, "JS/CSS/icon in the page": 0, "layout + dependencies": 0}
        sizes |= {"initial callbacks (6)": 0, "on-demand JS chunks": 0, "largest": ("", 0)}

        def add(group: str, method: str, url: str, body: str | None = None) -> None:
            code, wire, _, head = request(port, method, url, body, accept)  # noqa: B023
            if code != 200:
                raise SystemExit(f"first view: {method} {url} answered {code}")
            sizes[group] += len(wire) + head  # noqa: B023
            if len(wire) > sizes["largest"][1]:  # noqa: B023
                sizes["largest"] = (url.split("?")[0].rsplit("/", 1)[-1], len(wire))  # noqa: B023

        add("page", "GET", path)
        for url in assets:
            add("JS/CSS/icon in the page", "GET", url)
        add("layout + dependencies", "GET", "/_dash-layout")
        add("layout + dependencies", "GET", "/_dash-dependencies")
        for kind, vals, changed in initial:
            body = callback_body(specs[kind], vals, changed)
            add("initial callbacks (6)", "POST", "/_dash-update-component", body)
        for url in chunks:
            add("on-demand JS chunks", "GET", url)
        out[label] = sizes
    out["_chunks"] = {"list": [c.rsplit("/", 1)[-1] for c in chunks]}
    return out


# -- the run ------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--referrals", type=int, default=1_000_000)
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--seconds", type=int, default=60, help="length of each phase")
    ap.add_argument("--redis", action="store_true", help=f"CACHE_REDIS_URL={REDIS_URL} (flushed)")
    ap.add_argument("--think", default="1,5", help="seconds between a person's clicks: min,max")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--gunicorn-args", default="", help='more gunicorn options, e.g. "--threads 4"')
    ap.add_argument("--port", type=int, default=8157)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--dir", type=Path, default=BENCH / "out" / "dashboard")
    args = ap.parse_args()
    args.dir = args.dir.resolve()
    args.dir.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT))  # the project's packages (etl) for the loader
    think = [float(x) for x in args.think.split(",")]

    schema = prepare(args.referrals, args.dir)
    server = Server(args, schema)
    server.empty_cache()
    server.start()
    try:
        report = bench(args, server, think)
    finally:
        server.stop()
    print_report(args, schema, think, report)


def bench(args: argparse.Namespace, server: Server, think: list[float]) -> dict:
    port = args.port
    specs = callbacks(port)
    paths = pages(port, specs)
    status = post(port, specs["poll"], {"poll.n_intervals": 1}, ["poll.n_intervals"])
    status = status["response"]["data-status"]["data"]
    if status.get("version") is None:
        raise SystemExit(f"the app sees no loaded data: {status}")
    options = post(port, specs["sync"], {"data-status.data": status}, ["data-status.data"])
    months = [o["value"] for o in options["response"]["filter-from"]["options"]]  # sync's
    layout = json.loads(get(port, "/_dash-layout")[1])
    sources = [
        o["value"]
        for c in components(layout)
        if c["props"].get("id") == "filter-source"
        for o in c["props"].get("options", [])
    ]
    plan = {
        "callbacks": specs,
        "paths": paths,
        "route_remounts": route_remounts(port, specs["route"], paths),
        "status": status,
        "think": think,
        "poll_seconds": float(server.env.get("SIS_POLL_SECONDS", "30")),
        "users": make_plans(args.users, sorted(paths), months, sources, args.seed, think[1]),
    }
    plan_file = args.dir / "plan.json"
    plan_file.write_text(json.dumps(plan))
    memory: dict[str, dict] = {"start": {p: rss_mb(p) for p in server.workers()}}
    results, cpu = {}, {}
    for mode in ("floor", "cold", "warm"):
        if mode == "warm":
            time.sleep(3)  # computations the cold phase left running finish and are cached
        print(f"{mode} phase: {args.users} users, up to {args.seconds} s ...", flush=True)
        sampler = MemorySampler(server)
        sampler.start()
        done = args.dir / "result-cold.json" if mode == "warm" else None
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        results[mode] = run_phase(args, mode, plan_file, done)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        memory[mode], cpu[mode] = sampler.stop()
        used = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        cpu[mode]["locust"] = used / cpu[mode]["wall"]
    memory["end"] = {p: rss_mb(p) for p in server.workers()}
    page = "overview" if "overview" in paths else sorted(paths)[0]
    view = first_view(port, specs, status, page, paths[page])
    return {
        "results": results,
        "memory": memory,
        "cpu": cpu,
        "first_view": view,
        "months": months,
        "sources": sources,
        "combos": sum(len(u["actions"]) for u in plan["users"]),
        "route_remounts": plan["route_remounts"],
        "pids": server.workers(),
        "cmd": " ".join(server.cmd[1:]),
    }


def _row(label: str, f: dict) -> str:
    return (
        f"  {label:34} {f['n']:6d} {f['per_s']:8.1f} {f['errors']:6d}"
        f" {f['p50']:8.0f} {f['p95']:8.0f} {f['p99']:8.0f} {f['kb']:8.1f}"
    )


def print_report(args: argparse.Namespace, schema: str, think: list[float], r: dict) -> None:
    res = r["results"]
    cache = f"Redis ({REDIS_URL})" if args.redis else "filesystem (SIS_CACHE_DIR)"
    print(
        f"\n== Dashboard, {args.referrals:,} referrals (PostgreSQL schema {schema}); "
        f"gunicorn {r['cmd']}; {cache} cache"
    )
    cold_s = res["cold"]["end"] - res["cold"]["start"]
    note = ""
    if res["cold"]["exhausted"]:
        note = f" (the cold phase ran {cold_s:.0f} s: {res['cold']['exhausted']} users ran out)"
    print(
        f"   {args.users} users, {args.seconds} s per phase{note}; {think[0]:g}-{think[1]:g} s "
        f"between clicks; {len(r['months'])} months x {len(r['sources']) + 1} sources"
    )
    again = "then the page content again (the route mounts the page afresh)"
    if not r["route_remounts"]:
        again = "no second page content (the route keeps the mounted page)"
    print(f"   a filter change: sync, the route and the page content together, {again}")
    cols = ("calls/s", "errors", "p50 ms", "p95 ms", "p99 ms", "KB/call")
    head = f"  {'':34} {'calls':>6} " + " ".join(
        f"{c:>8}" if c != "errors" else f"{c:>6}" for c in cols
    )
    page_names = {"nav: page", "filter: page", "filter: page again", "first view: page"}
    new_filters = {"filter: page", "filter: page again"}
    floor_all = figures(res["floor"])
    cold_all, warm_all = figures(res["cold"]), figures(res["warm"])
    cold_new = figures(res["cold"], new_filters)
    warm_pages = figures(res["warm"], page_names)
    print("\n" + head)
    for m in ("floor", "cold", "warm"):
        print(_row(f"{m}: every request, GETs too", requests(res[m])))
    print(_row("floor: pong, every callback", floor_all))
    print(_row("cold: every callback", cold_all))
    print(_row("cold: page content, new filters", cold_new))
    print(_row("cold: page content, all", figures(res["cold"], page_names)))
    print(_row("warm: every callback", warm_all))
    print(_row("warm: page content, all", warm_pages))
    print("  a click, from its first request to the page's last answer:")
    for m in ("floor", "cold", "warm"):
        for click in ("change filters", "open a page"):
            print(_row(f"{m}: {click}", figures(res[m], {f"click: {click}"}, False)))
    print("\n  by callback (the floor's pong sent in the same place)")
    cols = ("cold p50", "cold p95", "warm p50", "warm p95", "warm n")
    print(f"  {'':34} {'floor p95':>10} " + " ".join(f"{c:>9}" for c in cols))
    names = sorted({rec[0] for rec in res["warm"]["records"] + res["cold"]["records"]})
    for name in names:
        if "GET" in name or name.startswith("click:"):
            continue
        fl, co, wa = (figures(res[m], {name}) for m in ("floor", "cold", "warm"))
        print(
            f"  {name:34} {fl['p95']:10.0f} {co['p50']:9.0f} {co['p95']:9.0f} {wa['p50']:9.0f} "
            f"{wa['p95']:9.0f} {wa['n']:9d}"
        )
    errors = {m: requests(res[m]) for m in ("floor", "cold", "warm")}
    for m, f in errors.items():
        for sample in f["error_samples"]:
            print(f"  {m} error: {sample}")
    cut = ", ".join(f"{m} {res[m]['interrupted']}" for m in res)
    print(f"  requests cut off by the end of a phase (not counted): {cut}")
    busy = [m for m in res if res[m].get("locust_cpu_warning")]
    if busy:
        print(f"  locust itself ran short of CPU in: {', '.join(busy)} (figures include that)")

    label = f"CPU in use, cores of {os.cpu_count()}"
    print(
        f"\n  {label:34} "
        + " ".join(f"{c:>9}" for c in ("machine", "workers", "postgres", "locust"))
    )
    for m, c in r["cpu"].items():
        cells = " ".join(f"{c[k]:9.2f}" for k in ("machine", "workers", "postgres", "locust"))
        print(f"  {m:34} {cells}")

    mem = r["memory"]
    print("\n  gunicorn workers' RSS (MB)       start    floor peak   cold peak   warm peak   end")
    peak_all = 0.0
    for pid in sorted(set(mem["start"]) | set(mem["end"]) | set(mem["cold"]) | set(mem["warm"])):
        cells = [mem["start"].get(pid)] + [mem[m].get(pid) for m in ("floor", "cold", "warm")]
        cells.append(mem["end"].get(pid))
        peak_all = max([peak_all] + [c for c in cells if c])
        text = "  ".join(f"{c:10.0f}" if c else f"{'-':>10}" for c in cells)
        print(f"  worker {pid:<24} {text}")

    fv = r["first_view"]
    print(
        "\n  first view of / (bytes: bodies + response headers), with the chunks fetched on demand:"
    )
    print(f"  {', '.join(fv['_chunks']['list'])}")
    groups = [k for k in fv["identity"] if k != "largest"]
    print(f"  {'':34} {'identity':>12} {'gzip':>12} {'br':>12}")
    totals = {}
    for g in groups:
        print(f"  {g:34} " + " ".join(f"{fv[e][g]:12,d}" for e in ("identity", "gzip", "br")))
    for e in ("identity", "gzip", "br"):
        totals[e] = sum(fv[e][g] for g in groups)
    print(f"  {'total':34} " + " ".join(f"{totals[e]:12,d}" for e in ("identity", "gzip", "br")))
    print(
        f"  {'largest (its body)':34} "
        + " ".join(f"{fv[e]['largest'][1]:12,d}" for e in ("identity", "gzip", "br"))
        + f"   {fv['identity']['largest'][0]}"
    )

    ratio = warm_pages["p95"] / floor_all["p95"] if floor_all["p95"] else float("inf")
    ratio_all = warm_all["p95"] / floor_all["p95"] if floor_all["p95"] else float("inf")
    n_errors = sum(f["errors"] for f in errors.values())
    compressed = min(totals["gzip"], totals["br"])
    goals = [
        (
            f"warm p95 within {GOAL_WARM_RATIO:g}x of the floor: page content "
            f"{warm_pages['p95']:.0f} ms / pong {floor_all['p95']:.0f} ms = {ratio:.1f}x "
            f"(every callback {ratio_all:.1f}x)",
            ratio <= GOAL_WARM_RATIO,
        ),
        (
            f"cold p95 under {GOAL_COLD_MS / 1000:g} s: page content with new filters "
            f"{cold_new['p95']:.0f} ms (every cold callback {cold_all['p95']:.0f} ms)",
            cold_new["p95"] < GOAL_COLD_MS,
        ),
        (
            f"no errors: {n_errors} in {sum(f['n'] for f in errors.values())} requests",
            n_errors == 0,
        ),
        (f"each worker under {GOAL_RSS_MB:g} MB: peak {peak_all:.0f} MB", peak_all < GOAL_RSS_MB),
        (
            f"first view under {GOAL_FIRST_VIEW / 1e6:g} MB on the wire: {compressed / 1e6:.2f} MB "
            f"compressed ({totals['identity'] / 1e6:.2f} MB without)",
            compressed < GOAL_FIRST_VIEW,
        ),
    ]
    print("\n  goals")
    for text, met in goals:
        print(f"  [{'met' if met else 'NOT met':7}] {text}")


if __name__ == "__main__":
    main()
