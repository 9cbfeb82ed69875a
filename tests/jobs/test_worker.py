"""Real `python -m cliply worker` processes against real PostgreSQL.

Waits are safety nets for hangs (generous, since worker start-up imports every handler
module); assertions are on states, events and who ran what, never on time.
"""

from __future__ import annotations

import signal
import uuid
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from cliply.db.engine import owner_session
from cliply.jobs import queue
from tests.jobs import handlers as h
from tests.jobs.conftest import WorkerProcs, events_of, job_row, wait_until

# Every test here needs the database (or a server process): integration tier.
pytestmark = pytest.mark.integration


def enqueue(kind: str, payload: dict, ws: uuid.UUID | None = None, **kw: object) -> uuid.UUID:
    with owner_session() as db:
        return queue.enqueue(db, kind, payload, workspace_id=ws, **kw).id  # type: ignore[arg-type]


def status(engine: Engine, job_id: uuid.UUID) -> str:
    with engine.begin() as conn:
        return str(job_row(conn, job_id)["status"])


def count(engine: Engine, where: str) -> int:
    with engine.begin() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM jobs WHERE {where}")).scalar_one())


def test_concurrent_workers_never_run_a_job_twice(
    engine: Engine, make_ws, workers: WorkerProcs, tmp_path: Path
):
    log = tmp_path / "runs.log"
    for _ in range(3):
        workers.start(h.NOOP, slots=4)
    workers.wait_ready()
    spaces = [make_ws(plan="premium") for _ in range(3)] + [None]
    ids: list[uuid.UUID] = []
    with engine.begin() as conn:
        for ws in spaces:
            ids += queue.enqueue_many(
                conn,
                h.NOOP,
                [{"log": str(log), "n": i, "sleep": 0.01} for i in range(75)],
                workspace_id=ws,
            )
    wait_until(lambda: count(engine, "status = 'succeeded'") == len(ids), 120, "all jobs done")
    runs = h.read_log(log)
    ran = [r[0] for r in runs]
    dupes = {j for j in ran if ran.count(j) > 1}
    if dupes:
        with engine.begin() as conn:
            detail = {
                j: [
                    (e["event"], e["attempt"], e["worker_id"], str(e["at"]))
                    for e in events_of(conn, uuid.UUID(j))
                ]
                for j in list(dupes)[:3]
            }
        raise AssertionError(f"ran twice: {detail} {[r for r in runs if r[0] in dupes][:6]}")
    assert sorted(ran) == sorted(str(i) for i in ids)  # each job exactly once
    assert len({r[2] for r in runs}) >= 2  # the work really was shared between processes
    assert count(engine, "attempts <> 1") == 0
    with engine.begin() as conn:
        started = conn.execute(
            text("SELECT count(*) FROM job_events WHERE event = 'started'")
        ).scalar_one()
    assert started == len(ids)


def test_killed_worker_job_is_reclaimed_and_finished_elsewhere(
    engine: Engine, workers: WorkerProcs, tmp_path: Path
):
    log = tmp_path / "runs.log"
    procs = {p.pid: p for p in (workers.start(h.SLEEP, slots=1), workers.start(h.SLEEP, slots=1))}
    workers.wait_ready()
    job_id = enqueue(h.SLEEP, {"log": str(log), "s_first": 120, "s": 0.1})
    [(_, _, victim_pid, _)] = wait_until(lambda: h.read_log(log), 60, "attempt 1 started")
    procs[victim_pid].send_signal(signal.SIGKILL)
    procs[victim_pid].wait()
    wait_until(lambda: status(engine, job_id) == "succeeded", 60, "job finished elsewhere")
    with engine.begin() as conn:
        evs = events_of(conn, job_id)
    assert [(e["event"], e["attempt"]) for e in evs] == [
        ("enqueued", 0),
        ("started", 1),
        ("reclaimed", 1),
        ("started", 2),
        ("succeeded", 2),
    ]
    assert evs[1]["worker_id"] != evs[3]["worker_id"]
    assert evs[2]["data"]["previous_worker"] == evs[1]["worker_id"]
    [survivor] = [pid for pid in procs if pid != victim_pid]
    assert [(r[1], r[2], r[3]) for r in h.read_log(log)] == [
        (1, victim_pid, "start"),
        (2, survivor, "start"),
        (2, survivor, "end"),
    ]


def test_failures_payloads_unknown_kinds_and_handler_events(engine: Engine, workers: WorkerProcs):
    retry = enqueue(h.FAIL, {"how": "retry"}, max_attempts=3)
    permanent = enqueue(h.FAIL, {"how": "permanent"})
    crash = enqueue(h.FAIL, {"how": "crash"}, max_attempts=1)
    unknown = enqueue("T_NOT_REGISTERED", {})
    bad_fields = enqueue(h.STRICT, {"clip_id": "seven", "title": "x", "extra": 1})
    good = enqueue(h.STRICT, {"clip_id": 7, "title": "x"})
    ev_ok = enqueue(h.EVENTS, {})
    ev_fail = enqueue(h.EVENTS, {"fail": True})
    not_object = enqueue(h.NOOP, {})
    with engine.begin() as conn:  # a payload that is not a JSON object (written by hand)
        conn.execute(text("UPDATE jobs SET payload = '[1, 2]' WHERE id = :id"), {"id": not_object})
    proc = workers.start(h.KINDS, slots=3)
    finished = [permanent, crash, unknown, bad_fields, good, ev_ok, ev_fail, not_object]
    wait_until(lambda: all(status(engine, j) in queue.TERMINAL for j in finished), 120)
    wait_until(lambda: count(engine, "status = 'queued' AND attempts = 1") == 1, 60)
    with engine.begin() as conn:
        rows = {j: job_row(conn, j) for j in [retry, *finished]}
        retry_events = events_of(conn, retry)
        timelines = {j: events_of(conn, j) for j in (ev_ok, ev_fail)}
    assert (rows[retry]["status"], rows[retry]["error_code"]) == ("queued", "upstream-503")
    assert retry_events[-1]["event"] == "retry_scheduled"
    assert (rows[permanent]["status"], rows[permanent]["error_code"]) == ("failed", "bad-input")
    assert rows[permanent]["attempts"] == 1
    assert (rows[crash]["status"], rows[crash]["error_code"]) == ("failed", "handler-error")
    assert "ZeroDivisionError" in rows[crash]["error"]
    assert (rows[unknown]["status"], rows[unknown]["error_code"]) == ("failed", "unknown-kind")
    assert (rows[bad_fields]["status"], rows[bad_fields]["error_code"]) == (
        "failed",
        "invalid-payload",
    )
    assert "clip_id" in rows[bad_fields]["error"] and rows[bad_fields]["attempts"] == 1
    assert (rows[not_object]["status"], rows[not_object]["error_code"]) == (
        "failed",
        "invalid-payload",
    )
    assert rows[good]["status"] == "succeeded" and rows[good]["result"] == {"clip_id": 7}
    # JobContext.event() entries land in the timeline on success and on failure.
    for job_id, last in ((ev_ok, "succeeded"), (ev_fail, "failed")):
        evs = timelines[job_id]
        assert [e["event"] for e in evs] == ["enqueued", "started", "engine", "note", last]
        assert evs[2]["data"] == {"engine": "local", "words": 3}
        assert evs[2]["message"] == "used the local model"
    assert proc.poll() is None  # none of this took the worker down


def test_cancel_running_jobs_via_progress_and_via_heartbeat(
    engine: Engine, workers: WorkerProcs, tmp_path: Path
):
    log = tmp_path / "runs.log"
    by_progress = enqueue(h.SLEEP, {"log": str(log), "s": 120})
    by_heartbeat = enqueue(h.POLL, {"log": str(log), "s": 120})
    proc = workers.start(f"{h.SLEEP},{h.POLL}", slots=2)
    wait_until(lambda: len(h.read_log(log)) == 2, 120, "both started")
    with owner_session() as db:
        assert queue.cancel(db, by_progress) == "running"
        assert queue.cancel(db, by_heartbeat) == "running"
    wait_until(
        lambda: (
            status(engine, by_progress) == "cancelled"
            and status(engine, by_heartbeat) == "cancelled"
        ),
        60,
    )
    with engine.begin() as conn:
        for job_id in (by_progress, by_heartbeat):
            assert [e["event"] for e in events_of(conn, job_id)][-2:] == [
                "cancel_requested",
                "cancelled",
            ]
    assert not any(r[3] == "end" for r in h.read_log(log))
    assert proc.poll() is None


def test_graceful_shutdown_finishes_short_jobs_and_releases_the_rest(
    engine: Engine, workers: WorkerProcs, tmp_path: Path
):
    log = tmp_path / "runs.log"
    short = enqueue(h.SLEEP, {"log": str(log), "s": 1.0})
    long = enqueue(h.SLEEP, {"log": str(log), "s": 120})
    stuck = enqueue(h.HANG, {"log": str(log), "s": 120})
    proc = workers.start(f"{h.SLEEP},{h.HANG}", slots=3, WORKER_SHUTDOWN_GRACE_S="3")
    wait_until(lambda: len(h.read_log(log)) == 3, 120, "all three started")
    waiting = enqueue(h.SLEEP, {"log": str(log), "s": 0})  # no free slot: stays queued
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    with engine.begin() as conn:
        rows = {j: job_row(conn, j) for j in (short, long, stuck, waiting)}
        released = events_of(conn, long)[-1]
    assert rows[short]["status"] == "succeeded"  # finished within the grace period
    for j in (long, stuck, waiting):  # handed back without using up an attempt
        assert (rows[j]["status"], rows[j]["attempts"], rows[j]["worker_id"]) == ("queued", 0, None)
    assert released["event"] == "released" and released["attempt"] == 1
    assert count(engine, "status = 'running'") == 0


def test_worker_rejects_unknown_capability(workers: WorkerProcs):
    proc = workers.start("cpu,quantum", slots=1)
    assert proc.wait(timeout=120) == 2
    assert "quantum" in workers.log(0)


def test_idle_workers_wake_on_notify_and_ticks_run_once(
    engine: Engine, workers: WorkerProcs, tmp_path: Path
):
    tick_log = tmp_path / "ticks.log"
    env = {
        "CLIPLY_EXTRA_HANDLER_MODULES": "tests.jobs.handlers,tests.jobs.periodic_handlers",
        "CLIPLY_TEST_TICK_LOG": str(tick_log),
        "JOB_POLL_S": "600",
    }
    for _ in range(2):
        workers.start(h.NOOP, slots=1, scheduler=True, **env)
    workers.wait_ready()
    # Polling is every 10 minutes: only LISTEN/NOTIFY gets these picked up within the wait.
    jobs = [enqueue(h.NOOP, {}) for _ in range(3)]
    wait_until(lambda: all(status(engine, j) == "succeeded" for j in jobs), 60, "pick-up")
    wait_until(
        lambda: tick_log.exists() and len(tick_log.read_text().splitlines()) >= 3, 60, "three ticks"
    )
    workers.stop_all()
    ticks = [line.split()[0] for line in tick_log.read_text().splitlines()]
    assert len(ticks) == len(set(ticks))  # each tick ran exactly once across the processes
    with engine.begin() as conn:
        names = set(conn.execute(text("SELECT name FROM periodic_tasks")).scalars())
    assert {"test.tick", "jobs.reclaim_stale", "jobs.prune_finished"} <= names
