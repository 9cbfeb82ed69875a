"""Batch claims in a real worker process: one claim fills several free slots, and caps,
fairness, the timeline and crash recovery hold as with single-job claims.

A claim's jobs share their `started` event time (one transaction's now()), which is how
these tests see that a batch really was claimed. Assertions are on states, events and the
order of what ran, never on durations.
"""

from __future__ import annotations

import signal
import uuid
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from cliply.db.engine import owner_session
from cliply.jobs import queue
from tests.jobs import handlers as h
from tests.jobs.conftest import WorkerProcs, events_of, wait_until

pytestmark = pytest.mark.integration


def _count(engine: Engine, where: str, **params: object) -> int:
    with engine.begin() as conn:
        return int(
            conn.execute(text(f"SELECT count(*) FROM jobs WHERE {where}"), params).scalar_one()
        )


def _started_at(engine: Engine, ids: list[uuid.UUID]) -> dict[uuid.UUID, object]:
    with engine.begin() as conn:
        rows = conn.execute(
            text(
                "SELECT job_id, at FROM job_events WHERE event = 'started' AND attempt = 1 "
                "AND job_id = ANY(:ids)"
            ),
            {"ids": ids},
        ).all()
    return {r[0]: r[1] for r in rows}


def test_batch_claims_keep_caps_fairness_and_every_event(
    engine: Engine, make_ws, workers: WorkerProcs, tmp_path: Path
):
    log = tmp_path / "runs.log"
    workers.start(h.SLEEP, slots=8)
    workers.wait_ready()
    capped, busy, late = make_ws(plan="basic"), make_ws(plan="premium"), make_ws(plan="premium")
    job = {"log": str(log), "s": 0.2}
    with engine.begin() as conn:
        capped_ids = queue.enqueue_many(conn, h.SLEEP, [job] * 8, workspace_id=capped)
        busy_ids = queue.enqueue_many(conn, h.SLEEP, [job] * 60, workspace_id=busy)
    wait_until(lambda: _count(engine, "status <> 'queued'") > 0, 60, "the worker to start")
    with owner_session() as db:
        late_id = queue.enqueue(db, h.SLEEP, job, workspace_id=late).id
    # Counted after the commit, so jobs started meanwhile only make the check below weaker.
    busy_waiting = _count(engine, "status = 'queued' AND workspace_id = :ws", ws=busy)
    every = [*capped_ids, *busy_ids, late_id]
    wait_until(lambda: _count(engine, "status = 'succeeded'") == len(every), 120, "all jobs done")

    # Batches: some claim started several jobs at once.
    started = _started_at(engine, every)
    assert len(started) == len(every)
    assert max(Counter(started.values()).values()) >= 2

    # The basic plan's cap (2 at once) held: replay the handlers' start/end lines in order.
    running, peak = 0, 0
    capped_set = {str(j) for j in capped_ids}
    for job_id, _attempt, _pid, what in h.read_log(log):
        if job_id in capped_set:
            running += 1 if what == "start" else -1
            peak = max(peak, running)
    assert peak <= 2

    # Fairness: the late workspace's one job did not wait behind the busy backlog (at most
    # one claim's worth of busy jobs with fair keys up to its own went first).
    after_late = sum(1 for j in busy_ids if started[j] > started[late_id])  # type: ignore[operator]
    assert after_late >= busy_waiting - 8

    # A complete timeline for every job, each run exactly once.
    with engine.begin() as conn:
        for job_id in every:
            assert [(e["event"], e["attempt"]) for e in events_of(conn, job_id)] == [
                ("enqueued", 0),
                ("started", 1),
                ("succeeded", 1),
            ], job_id
    starts = [r[0] for r in h.read_log(log) if r[3] == "start"]
    assert sorted(starts) == sorted(str(j) for j in every)


def test_killed_worker_mid_batch_keeps_finished_jobs_and_returns_the_rest(
    engine: Engine, make_ws, workers: WorkerProcs, tmp_path: Path
):
    log = tmp_path / "runs.log"
    victim = workers.start(h.SLEEP, slots=4)
    workers.wait_ready()
    ws = make_ws(plan="premium")
    quick = {"log": str(log), "s_first": 0, "s": 0}
    slow = {"log": str(log), "s_first": 120, "s": 0}
    with engine.begin() as conn:  # one commit: the idle worker claims all four together
        ids = queue.enqueue_many(conn, h.SLEEP, [quick, quick, slow, slow], workspace_id=ws)
    done, unfinished = ids[:2], ids[2:]
    wait_until(
        lambda: _count(engine, "status = 'succeeded' AND id = ANY(:ids)", ids=done) == 2,
        60,
        "the quick half of the batch to succeed",
    )
    wait_until(
        lambda: sum(1 for r in h.read_log(log) if r[3] == "start") == 4, 60, "all four started"
    )
    assert len(set(_started_at(engine, ids).values())) == 1  # one claim took all four
    victim.send_signal(signal.SIGKILL)
    victim.wait()

    survivor = workers.start(h.SLEEP, slots=4)
    wait_until(
        lambda: _count(engine, "status = 'succeeded' AND id = ANY(:ids)", ids=ids) == 4,
        120,
        "the unfinished jobs to come back and finish elsewhere",
    )
    with engine.begin() as conn:
        for job_id in done:
            assert [(e["event"], e["attempt"]) for e in events_of(conn, job_id)] == [
                ("enqueued", 0),
                ("started", 1),
                ("succeeded", 1),
            ]
        for job_id in unfinished:
            evs = events_of(conn, job_id)
            assert [(e["event"], e["attempt"]) for e in evs] == [
                ("enqueued", 0),
                ("started", 1),
                ("reclaimed", 1),
                ("started", 2),
                ("succeeded", 2),
            ]
            assert evs[2]["data"]["previous_worker"] == evs[1]["worker_id"]
    runs = [(r[0], r[1], r[2]) for r in h.read_log(log) if r[3] == "start"]
    assert sorted(runs) == sorted(
        [(str(j), 1, victim.pid) for j in ids] + [(str(j), 2, survivor.pid) for j in unfinished]
    )
