"""Operations: one run at a time across processes, a killed run leaves nothing half-loaded, the
scheduler fires on its expression, failures are recorded, exit non-zero and are notified, logs
are one JSON line per event, `sis status` tells the person on the server. Real processes, on
SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, func, select, text

from etl import runner
from etl.demo import write_demo_exports
from etl.ledger import INTERRUPTED
from etl.models import Contact, EtlFile, EtlRun, Feedback, Outcome, Referral, ReferralFact
from tests.browser import free_port
from tests.test_dashboard_callbacks import _url

SIS = str(Path(sys.executable).with_name("sis"))
MARTS = (Referral, Contact, Feedback, Outcome, ReferralFact)
EX_TEMPFAIL = 75
# A refused file that also holds a person's name: neither may reach a notification or a log.
BAD_EXPORT = "Client name,Favourite colour\nJane Placeholder-Smith,teal\n"


def _env(engine: Engine, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIS_")}
    env.update(
        DATABASE_URL=_url(engine),
        SIS_PSEUDONYM_KEY="test-key-not-secret",
        SIS_INSTANCE=str(tmp_path / "instance"),
        SIS_INBOX=str(tmp_path / "inbox"),
        SIS_LOG_FORMAT="json",
    )
    env.update(extra)
    return env


def _sis(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [SIS, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            m.__tablename__: conn.execute(select(func.count()).select_from(m)).scalar()
            for m in MARTS
        }


def _files_loaded(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(EtlFile).where(EtlFile.status == "loaded")
        ).scalar()


def _clean_load(paths: list[Path], tmp_path: Path) -> dict[str, int]:
    from etl.db import make_engine, upgrade

    clean = make_engine(f"sqlite:///{tmp_path / 'clean.db'}")
    upgrade(clean)
    runner.run(clean, paths)
    counts = _counts(clean)
    clean.dispose()
    return counts


def _inbox(tmp_path: Path, referrals: int, seed: int = 11) -> tuple[Path, list[Path]]:
    inbox = tmp_path / "inbox"
    paths = write_demo_exports(tmp_path / "exports", referrals, seed=seed)
    inbox.mkdir()
    for p in paths:  # in load order: the inbox loads oldest first
        shutil.copy2(p, inbox / p.name)
        time.sleep(0.01)
    return inbox, paths


def test_two_runs_started_together_load_once(engine: Engine, tmp_path: Path) -> None:
    inbox, paths = _inbox(tmp_path, 1000)
    env = _env(engine, tmp_path, SIS_RUN_LOCK_WAIT="0")
    first, second = _sis(env, "etl", "run", "--json"), _sis(env, "etl", "run", "--json")
    outs = [(p.wait(timeout=300), *p.communicate()) for p in (first, second)]
    codes = sorted(code for code, _, _ in outs)
    assert codes == [0, EX_TEMPFAIL], outs
    loser = next(err for code, _, err in outs if code == EX_TEMPFAIL)
    assert "Another ETL run is in progress" in loser and "loaded nothing" in loser
    winner = json.loads(next(out for code, out, _ in outs if code == 0))
    assert [f["status"] for f in winner["files"]] == ["loaded"] * len(paths)
    assert _files_loaded(engine) == len(paths)  # each file once
    assert _counts(engine) == _clean_load(paths, tmp_path)  # each row once
    assert not any(inbox.glob("*.csv")) and not any(inbox.glob("*.xlsx"))


def test_a_second_run_waits_for_the_first_within_its_limit(engine: Engine, tmp_path: Path) -> None:
    _inbox_dir, paths = _inbox(tmp_path, 600)
    env = _env(engine, tmp_path, SIS_RUN_LOCK_WAIT="120")
    runs = [_sis(env, "etl", "run", "--json") for _ in range(2)]
    assert [r.wait(timeout=300) for r in runs] == [0, 0]
    loaded = sorted(len(json.loads(r.communicate()[0])["files"]) for r in runs)
    assert loaded == [0, len(paths)]  # one waited, then found the inbox empty


def test_a_killed_run_is_rolled_back_and_the_next_run_loads_everything(
    engine: Engine, tmp_path: Path
) -> None:
    inbox, paths = _inbox(tmp_path, 6000, seed=5)
    env = _env(engine, tmp_path, SIS_CHUNK_ROWS="1000")
    victim = _sis(env, "etl", "run")
    deadline = time.monotonic() + 240
    while _files_loaded(engine) < 1 and time.monotonic() < deadline:  # first file committed:
        time.sleep(0.02)  # polling the ledger from outside; the second file is now loading
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    left = sorted(p.name for p in inbox.iterdir() if p.is_file())
    assert 1 <= _files_loaded(engine) < len(paths) and left, "the kill came after the run ended"
    with engine.connect() as conn:
        assert conn.execute(select(EtlRun.status)).scalars().all() == ["running"]
    again = _sis(env, "etl", "run", "--json")
    assert again.wait(timeout=300) == 0, again.communicate()
    report = json.loads(again.communicate()[0])
    assert sorted(f["path"] for f in report["files"]) == left
    statuses = [f["status"] for f in report["files"]]
    # A file committed just before the kill, but not yet moved to archive/, is skipped as
    # already loaded; every other file, the one being loaded among them, loads now.
    assert statuses.count("skipped") <= 1 and set(statuses) <= {"loaded", "skipped"}
    assert statuses.count("loaded") >= 1
    assert _counts(engine) == _clean_load(paths, tmp_path)
    with engine.connect() as conn:
        runs = conn.execute(select(EtlRun.status, EtlRun.message).order_by(EtlRun.run_id)).all()
    assert [r.status for r in runs] == ["failed", "ok"]
    assert runs[0].message == INTERRUPTED


class _Webhook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_args: Any) -> None:  # noqa: ANN401
        pass


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[str] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: ANN401, N802
        self.messages.append(envelope.content.decode("utf-8", "replace"))
        return "250 OK"


@pytest.fixture
def receivers() -> Iterator[dict[str, Any]]:
    """A local webhook receiver and a local SMTP server, both recording what they get."""
    _Webhook.received = []
    http = HTTPServer(("127.0.0.1", 0), _Webhook)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    mailbox = _Mailbox()
    port = free_port()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=port)
    smtp.start()
    yield {
        "env": {
            "SIS_NOTIFY_WEBHOOK": f"http://127.0.0.1:{http.server_port}/hook",
            "SIS_NOTIFY_EMAIL": "duty-manager@example.org",
            "SIS_SMTP_URL": f"smtp://127.0.0.1:{port}",
        },
        "webhook": _Webhook.received,
        "mail": mailbox.messages,
    }
    http.shutdown()
    smtp.stop()


def _wait_for(condition: Any, timeout: float, what: str) -> None:  # noqa: ANN401
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_a_refused_file_fails_the_run_exits_non_zero_and_notifies(
    engine: Engine, tmp_path: Path, receivers: dict[str, Any]
) -> None:
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "referrals_bad.csv").write_text(BAD_EXPORT)
    run = _sis(_env(engine, tmp_path, **receivers["env"]), "etl", "run")
    assert run.wait(timeout=120) == 1
    _, log = run.communicate()
    _wait_for(lambda: receivers["webhook"] and receivers["mail"], 10, "the notifications")
    note = receivers["webhook"][0]
    assert note["files"][0]["file"] == "referrals_bad.csv"
    assert note["files"][0]["status"] == "refused" and note["files"][0]["message"]
    assert "referrals_bad.csv" in receivers["mail"][0]
    assert note["files"][0]["message"][:40] in receivers["mail"][0].replace("\n", " ")
    for text_ in (json.dumps(note), receivers["mail"][0], log):
        assert "Placeholder-Smith" not in text_ and "teal" not in text_
    with engine.connect() as conn:
        status, message = conn.execute(select(EtlRun.status, EtlRun.message)).one()
    assert status == "failed" and "referrals_bad.csv" in message
    assert (tmp_path / "inbox" / "failed" / "referrals_bad.csv.report.txt").exists()


def test_the_scheduler_fires_on_its_expression_and_reports_a_failing_file(
    engine: Engine, tmp_path: Path, receivers: dict[str, Any]
) -> None:
    inbox, _paths = _inbox(tmp_path, 120)
    (inbox / "zz_referrals_bad.csv").write_text(BAD_EXPORT)
    env = _env(engine, tmp_path, SIS_ETL_SCHEDULE="*/2 * * * * *", **receivers["env"])
    clock = _sis(env, "etl", "schedule")
    try:
        _wait_for(lambda: _runs(engine) >= 2, 90, "two scheduled runs")
    finally:
        clock.send_signal(signal.SIGTERM)  # what a process manager sends
        _, log = clock.communicate(timeout=60)  # not wait(): a full pipe would hang it
    events = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any(
        e.get("event") == "file_refused" and e["file"] == "zz_referrals_bad.csv" for e in events
    )
    loaded = [e for e in events if e.get("event") == "file_loaded"]
    assert loaded and all(e["run_id"] and e["read"] > 0 and e["seconds"] >= 0 for e in loaded)
    assert "Placeholder-Smith" not in log
    assert clock.returncode == 0 and '"scheduler stopped"' in log  # stopped, not killed
    with engine.connect() as conn:
        first = conn.execute(
            select(EtlRun.status, EtlRun.message).order_by(EtlRun.run_id).limit(1)
        ).one()
    assert first.status == "failed" and "zz_referrals_bad.csv" in first.message
    assert receivers["webhook"][0]["files"][0]["file"] == "zz_referrals_bad.csv"


def _runs(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(EtlRun).where(EtlRun.finished_at.is_not(None))
        ).scalar()


def test_sis_status_says_fresh_stale_or_unreachable(engine: Engine, tmp_path: Path) -> None:
    _inbox(tmp_path, 100)
    env = _env(engine, tmp_path)
    assert _sis(env, "etl", "run").wait(timeout=120) == 0
    stale = _sis(env, "status", "--json")  # demo data ends last month: stale
    assert stale.wait(timeout=60) == 1
    body = json.loads(stale.communicate()[0])
    assert body["database"] == "ok" and body["stale"] is True and body["last_run"] == "ok"
    fresh = _sis({**env, "SIS_STALE_HOURS": "100000"}, "status")
    assert fresh.wait(timeout=60) == 0
    assert "Warehouse: reachable" in fresh.communicate()[0]
    gone = _sis({**env, "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/x"}, "status")
    assert gone.wait(timeout=60) == 2
    assert "UNREACHABLE" in gone.communicate()[0]


def test_the_lock_is_the_databases_own(engine: Engine, tmp_path: Path) -> None:
    """PostgreSQL: an advisory lock held by another session makes a run give up; SQLite: a
    lock file beside the database that the OS releases when its holder dies."""
    from etl import runlock

    env = _env(engine, tmp_path, SIS_RUN_LOCK_WAIT="1")
    with runlock.hold(engine, 0):
        blocked = _sis(env, "etl", "run")
        assert blocked.wait(timeout=60) == EX_TEMPFAIL
    assert _sis(env, "etl", "run").wait(timeout=60) == 0  # released with the `with`
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            held = conn.execute(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
            ).scalar()
        assert held == 0


def test_an_unreachable_warehouse_fails_the_run_in_plain_words_and_notifies(
    tmp_path: Path, receivers: dict[str, Any]
) -> None:
    _inbox(tmp_path, 50)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIS_") and k != "DATABASE_URL"}
    env.update(
        DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2",
        SIS_PSEUDONYM_KEY="test-key-not-secret",
        SIS_INSTANCE=str(tmp_path / "instance"),
        SIS_INBOX=str(tmp_path / "inbox"),
        **receivers["env"],
    )
    run = _sis(env, "etl", "run")
    assert run.wait(timeout=120) == 3
    _, err = run.communicate()
    assert "The warehouse could not be reached" in err and "Traceback" not in err
    _wait_for(lambda: receivers["webhook"], 10, "the notification")
    assert receivers["webhook"][0]["files"][0]["file"] == "(warehouse)"
    assert len(list((tmp_path / "inbox").glob("*.csv"))) >= 1  # nothing moved
