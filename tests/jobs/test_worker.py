"""Real `python -m cliply worker` processes against real PostgreSQL."""

from __future__ import annotations

import signal
import uuid
from pathlib import Path

from sqlalchemy import Engine, text

from cliply.db.engine import owner_session
from cliply.jobs import queue
from tests.jobs import handlers as h
from tests.jobs.conftest import WorkerProcs, events_of, job_row, wait_until


def enqueue(kind: str, payload: dict, ws: uuid.UUID | None = None, **kw: object) -> uuid.UUID:
    with owner_session() as db:
        return queue.enqueue(db, kind, payload, workspace_id=ws, **kw).id  # type: ignore[arg-type]


def status(engine: Engine, job_id: uuid.UUID) -> str:
    with engine.begin() as conn:
        return str(job_row(conn, job_id)["status"])


def count(engine: Engine, where: str) -> int:
    with engine.begin() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM jobs WHERE {where}")).scalar_one())


def test_concurrent_workers_never_run_a_job_twice(engine: Engine, make_ws, workers: WorkerProcs,
                                                  tmp_path: Path):
    log = tmp_path / "runs.log"
    spaces = [make_ws(plan="premium") for _ in range(3)] + [None]
    ids: list[uuid.UUID] = []
    with engine.begin() as conn:
        for ws in spaces:
            ids += queue.enqueue_many(conn, h.NOOP, [{"log": str(log), "n": i} for i in range(100)],
                                      workspace_id=ws)
    for _ in range(3):
        workers.start(h.NOOP, slots=4)
    wait_until(lambda: count(engine, "status = 'succeeded'") == len(ids), 60, "all jobs done")
    runs = h.read_log(log)
    ran = [r[0] for r in runs]
    assert sorted(ran) == sorted(str(i) for i in ids)  # each job exactly once
    assert len({r[2] for r in runs}) >= 2  # the work really was shared between processes
    assert count(engine, "attempts <> 1") == 0


def test_killed_worker_job_is_reclaimed_and_finished_elsewhere(engine: Engine,
                                                               workers: WorkerProcs,
                                                               tmp_path: Path):
    log = tmp_path / "runs.log"
    job_id = enqueue(h.SLEEP, {"log": str(log), "s_first": 60, "s": 0.1})
    first = workers.start(h.SLEEP, slots=1)
    wait_until(lambda: any(r[3] == "start" for r in h.read_log(log)), 30, "attempt 1 started")
    first.send_signal(signal.SIGKILL)
    first.wait()
    second = workers.start(h.SLEEP, slots=1)
    wait_until(lambda: status(engine, job_id) == "succeeded", 30, "job finished on worker 2")
    with engine.begin() as conn:
        evs = events_of(conn, job_id)
    assert [(e["event"], e["attempt"]) for e in evs] == [
        ("enqueued", 0), ("started", 1), ("reclaimed", 1), ("started", 2), ("succeeded", 2)]
    assert evs[1]["worker_id"] != evs[3]["worker_id"]
    assert evs[2]["data"]["previous_worker"] == evs[1]["worker_id"]
    pids = [r[2] for r in h.read_log(log)]
    assert pids == [first.pid, second.pid, second.pid]  # start 1, start 2, end 2


def test_failures_retry_permanent_crash_unknown_and_malformed(engine: Engine,
                                                              workers: WorkerProcs):
    retry = enqueue(h.FAIL, {"how": "retry"}, max_attempts=3)
    permanent = enqueue(h.FAIL, {"how": "permanent"})
    crash = enqueue(h.FAIL, {"how": "crash"}, max_attempts=1)
    unknown = enqueue("T_NOT_REGISTERED", {})
    bad_fields = enqueue(h.STRICT, {"clip_id": "seven", "title": "x", "extra": 1})
    good = enqueue(h.STRICT, {"clip_id": 7, "title": "x"})
    with engine.begin() as conn:  # a payload that is not a JSON object (written by hand)
        not_object = enqueue(h.NOOP, {})
        conn.execute(text("UPDATE jobs SET payload = '[1, 2]' WHERE id = :id"), {"id": not_object})
    proc = workers.start(h.KINDS, slots=3)
    finished = [permanent, crash, unknown, bad_fields, good, not_object]
    wait_until(lambda: all(status(engine, j) in queue.TERMINAL for j in finished), 30)
    wait_until(lambda: count(engine, "status = 'queued' AND attempts = 1") == 1, 30)
    with engine.begin() as conn:
        rows = {j: job_row(conn, j) for j in [retry, *finished]}
        retry_events = events_of(conn, retry)
    assert (rows[retry]["status"], rows[retry]["error_code"]) == ("queued", "upstream-503")
    assert retry_events[-1]["event"] == "retry_scheduled"
    assert (rows[permanent]["status"], rows[permanent]["error_code"]) == ("failed", "bad-input")
    assert rows[permanent]["attempts"] == 1
    assert (rows[crash]["status"], rows[crash]["error_code"]) == ("failed", "handler-error")
    assert "ZeroDivisionError" in rows[crash]["error"]
    assert (rows[unknown]["status"], rows[unknown]["error_code"]) == ("failed", "unknown-kind")
    assert (rows[bad_fields]["status"], rows[bad_fields]["error_code"]) == (
        "failed", "invalid-payload")
    assert "clip_id" in rows[bad_fields]["error"] and rows[bad_fields]["attempts"] == 1
    assert (rows[not_object]["status"], rows[not_object]["error_code"]) == (
        "failed", "invalid-payload")
    assert rows[good]["status"] == "succeeded" and rows[good]["result"] == {"clip_id": 7}
    assert proc.poll() is None  # none of this took the worker down


def test_handler_events_are_written_on_success_and_failure(engine: Engine, workers: WorkerProcs):
    ok = enqueue(h.EVENTS, {})
    bad = enqueue(h.EVENTS, {"fail": True})
    workers.start(h.EVENTS, slots=2)
    wait_until(lambda: status(engine, ok) == "succeeded" and status(engine, bad) == "failed", 30)
    with engine.begin() as conn:
        for job_id, last in ((ok, "succeeded"), (bad, "failed")):
            evs = events_of(conn, job_id)
            assert [e["event"] for e in evs] == ["enqueued", "started", "engine", "note", last]
            assert evs[2]["data"] == {"engine": "local", "words": 3}
            assert evs[2]["message"] == "used the local model"


def test_cancel_running_jobs_via_progress_and_via_heartbeat(engine: Engine,
                                                            workers: WorkerProcs,
                                                            tmp_path: Path):
    log = tmp_path / "runs.log"
    by_progress = enqueue(h.SLEEP, {"log": str(log), "s": 60})
    by_heartbeat = enqueue(h.POLL, {"log": str(log), "s": 60})
    proc = workers.start(f"{h.SLEEP},{h.POLL}", slots=2)
    wait_until(lambda: len(h.read_log(log)) == 2, 30, "both started")
    with owner_session() as db:
        assert queue.cancel(db, by_progress) == "running"
        assert queue.cancel(db, by_heartbeat) == "running"
    wait_until(lambda: status(engine, by_progress) == "cancelled"
               and status(engine, by_heartbeat) == "cancelled", 30)
    with engine.begin() as conn:
        for job_id in (by_progress, by_heartbeat):
            assert [e["event"] for e in events_of(conn, job_id)][-2:] == [
                "cancel_requested", "cancelled"]
    assert not any(r[3] == "end" for r in h.read_log(log))
    assert proc.poll() is None


def test_graceful_shutdown_finishes_short_jobs_and_releases_the_rest(engine: Engine,
                                                                     workers: WorkerProcs,
                                                                     tmp_path: Path):
    log = tmp_path / "runs.log"
    short = enqueue(h.SLEEP, {"log": str(log), "s": 0.8})
    long = enqueue(h.SLEEP, {"log": str(log), "s": 60})
    stuck = enqueue(h.HANG, {"log": str(log), "s": 60})
    proc = workers.start(f"{h.SLEEP},{h.HANG}", slots=3, WORKER_SHUTDOWN_GRACE_S="1.5")
    wait_until(lambda: len(h.read_log(log)) == 3, 30, "all three started")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    with engine.begin() as conn:
        rows = {j: job_row(conn, j) for j in (short, long, stuck)}
        released = events_of(conn, long)[-1]
    assert rows[short]["status"] == "succeeded"
    for j in (long, stuck):
        assert (rows[j]["status"], rows[j]["attempts"], rows[j]["worker_id"]) == (
            "queued", 0, None)
    assert released["event"] == "released" and released["attempt"] == 1
    # Nothing else was claimed after the signal.
    assert count(engine, "status = 'running'") == 0


def test_worker_rejects_unknown_capability(workers: WorkerProcs):
    proc = workers.start("cpu,quantum", slots=1)
    assert proc.wait(timeout=30) == 2
    assert "quantum" in workers.log(0)


def test_idle_worker_wakes_on_notify_and_scheduler_runs_ticks_once(engine: Engine,
                                                                   workers: WorkerProcs,
                                                                   tmp_path: Path):
    tick_log = tmp_path / "ticks.log"
    env = {"CLIPLY_EXTRA_HANDLER_MODULES": "tests.jobs.handlers,tests.jobs.periodic_handlers",
           "CLIPLY_TEST_TICK_LOG": str(tick_log), "JOB_POLL_S": "30"}
    for _ in range(3):
        workers.start(h.NOOP, slots=1, scheduler=True, **env)
    wait_until(lambda: tick_log.exists() and len(tick_log.read_text().splitlines()) >= 3, 30,
               "three ticks")
    # With polling at 30 s, only LISTEN/NOTIFY can make this prompt enough for the wait below.
    job = enqueue(h.NOOP, {})
    wait_until(lambda: status(engine, job) == "succeeded", 10, "notified pick-up")
    workers.stop_all()
    ticks = [line.split()[0] for line in tick_log.read_text().splitlines()]
    assert len(ticks) == len(set(ticks))  # each tick ran exactly once across three processes
    with engine.begin() as conn:
        names = set(conn.execute(text("SELECT name FROM periodic_tasks")).scalars())
    assert {"test.tick", "jobs.reclaim_stale", "jobs.prune_finished"} <= names
