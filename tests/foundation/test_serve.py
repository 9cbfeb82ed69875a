"""`cliply serve` for real: migrations, API, workers in one process tree; clean shutdown."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_starts_api_and_workers_and_stops_cleanly(db_url, tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "CLIPLY_PORT": str(port),
        "SERVE_WORKERS": "1",
        "WORKER_SHUTDOWN_GRACE_S": "2",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "cliply", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 60
        ready = None
        while time.time() < deadline:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                if ready.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        assert ready is not None and ready.status_code == 200
        # The worker child is part of the same process tree.
        children = subprocess.run(
            ["pgrep", "-f", "-P", str(proc.pid), "cliply worker"], capture_output=True, text=True
        ).stdout.split()
        assert children, "serve started no worker"
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, out.decode(errors="replace")[-3000:]
        for pid in children:
            stat = Path(f"/proc/{pid}/stat")
            assert not stat.exists() or stat.read_text().split()[2] == "Z"
    finally:
        # The whole process group, so no worker outlives a failed run.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
