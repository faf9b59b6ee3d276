"""The README's run command: `sis demo` loads a simulated service and serves the dashboard."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sis_demo_serves_the_dashboard_on_loaded_demo_data(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "SIS_INSTANCE": str(tmp_path / "instance")}
    env.pop("SIS_PSEUDONYM_KEY", None)  # demo mode must not need a key
    sis = Path(sys.executable).with_name("sis")
    proc = subprocess.Popen(
        [str(sis), "demo", "--port", str(port), "--referrals", "300"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline, status = time.monotonic() + 120, None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    status = response.status
                    break
            except OSError:
                time.sleep(0.5)
        assert status == 200, proc.stdout.read() if proc.poll() is not None else "no answer"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_dash-layout", timeout=5) as r:
            assert r.status == 200
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    assert output.count(": loaded (") == 5  # every demo export loaded
    assert "refused" not in output
    assert (tmp_path / "instance" / "warehouse.db").is_file()
    assert len(list((tmp_path / "instance" / "inbox" / "archive").iterdir())) == 5
