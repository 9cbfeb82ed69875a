"""Fixtures for the job-system tests: workspaces, connections and real worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text

ROOT = Path(__file__).resolve().parents[2]

# Short timings so reclaim/heartbeat/shutdown tests stay quick.
WORKER_ENV = {
    "CLIPLY_EXTRA_HANDLER_MODULES": "tests.jobs.handlers",
    "JOB_HEARTBEAT_S": "0.2",
    "JOB_STALE_AFTER_S": "1.5",
    "JOB_POLL_S": "0.25",
    "WORKER_SHUTDOWN_GRACE_S": "5",
    "LOG_LEVEL": "INFO",
}


def wait_until(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    """Poll until `predicate()` is truthy (a safety net for hangs, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what or predicate}")
        time.sleep(0.05)


@pytest.fixture
def engine(db_url: str) -> Engine:
    import tests.jobs.handlers  # noqa: F401  (registers the test handlers here too)
    from cliply.app import install_hooks
    from cliply.db.engine import get_engine

    install_hooks()  # the queue's per-workspace caps come from billing through this hook

    return get_engine()


@pytest.fixture
def make_ws(engine: Engine) -> Callable[..., uuid.UUID]:
    def make(plan: str = "premium", name: str = "ws") -> uuid.UUID:
        with engine.begin() as conn:
            return conn.execute(
                text("INSERT INTO workspaces (name, plan) VALUES (:n, :p) RETURNING id"),
                {"n": name, "p": plan},
            ).scalar_one()

    return make


def job_row(conn: Connection, job_id: uuid.UUID) -> Any:
    return conn.execute(text("SELECT * FROM jobs WHERE id = :id"), {"id": job_id}).mappings().one()


def events_of(conn: Connection, job_id: uuid.UUID) -> list[Any]:
    return list(
        conn.execute(
            text("SELECT * FROM job_events WHERE job_id = :id ORDER BY at, id"), {"id": job_id}
        ).mappings()
    )


class WorkerProcs:
    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(
        self,
        kinds: str,
        slots: int = 2,
        scheduler: bool = False,
        new_session: bool = False,
        **env: str,
    ) -> subprocess.Popen[bytes]:
        """A worker process; with `new_session` it leads its own process group, so a test can
        signal the whole group the way a terminal or service manager does."""
        n = len(self.procs)
        out = open(self.log_dir / f"worker-{n}.log", "wb")  # noqa: SIM115
        args = [
            sys.executable,
            "-m",
            "cliply",
            "worker",
            "--kinds",
            kinds,
            "--slots",
            str(slots),
            "--scheduler" if scheduler else "--no-scheduler",
        ]
        proc = subprocess.Popen(
            args,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=new_session,
            # src first: the worker runs this tree's code even where the venv points elsewhere.
            env={
                **os.environ,
                **WORKER_ENV,
                "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
                **env,
            },
        )
        self.procs.append(proc)
        return proc

    def log(self, i: int) -> str:
        return (self.log_dir / f"worker-{i}.log").read_text(errors="replace")

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Wait until every started worker logged that it runs (imports take a while)."""
        for i, p in enumerate(self.procs):
            wait_until(
                lambda i=i, p=p: p.poll() is not None or "worker started" in self.log(i),
                timeout,
                f"worker {i} to start",
            )

    def stop_all(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@pytest.fixture
def workers(db_url: str, tmp_path: Path) -> Iterator[WorkerProcs]:
    w = WorkerProcs(tmp_path)
    yield w
    w.stop_all()
