"""The queue's statements, in process against real PostgreSQL: enqueue, claim order and
fairness, caps, retries with backoff, endings, reclaim, cancel and retry."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, Engine, text

from cliply.db.engine import owner_session
from cliply.errors import BadRequest, Conflict
from cliply.jobs import queue
from cliply.jobs.limits import CapCache, workspace_job_cap
from cliply.jobs.queue import HandlerEvent, backoff_seconds
from tests.jobs.conftest import events_of, job_row

# Every test here needs the database (or a server process): integration tier.
pytestmark = pytest.mark.integration

K = "T_NOOP"


def enqueue(ws: uuid.UUID | None, kind: str = K, **kw: object) -> uuid.UUID:
    with owner_session() as db:
        return queue.enqueue(db, kind, kw.pop("payload", {}), workspace_id=ws, **kw).id  # type: ignore[arg-type]


def claim(
    engine: Engine,
    n: int = 1,
    kinds: tuple[str, ...] = (K,),
    worker: str = "w1",
    caps: CapCache | None = None,
) -> list[queue.ClaimedJob]:
    with engine.begin() as conn:
        return queue.claim(conn, worker, kinds, n, caps).jobs


def test_enqueue_dedupe_and_event(engine, make_ws):
    ws = make_ws()
    a = enqueue(ws, payload={"x": 1}, dedupe_key="render:1")
    b = enqueue(ws, payload={"x": 2}, dedupe_key="render:1")
    assert a == b  # the same logical job is not queued twice
    with engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM jobs")).scalar() == 1
        assert [e["event"] for e in events_of(conn, a)] == ["enqueued"]
    # Once it has finished, the key is free again.
    [job] = claim(engine)
    with engine.begin() as conn:
        queue.succeed(conn, job.id, "w1", job.attempt, {"ok": 1})
    assert enqueue(ws, dedupe_key="render:1") != a


def test_enqueue_rejects_bad_arguments(engine):
    with owner_session() as db:
        with pytest.raises(BadRequest) as e1:
            queue.enqueue(db, K, [1, 2], workspace_id=None)  # type: ignore[arg-type]
        with pytest.raises(BadRequest) as e2:
            queue.enqueue(db, "", {}, workspace_id=None)
        with pytest.raises(BadRequest) as e3:
            queue.enqueue(db, K, {"f": object()}, workspace_id=None)
        with pytest.raises(BadRequest) as e4:
            queue.enqueue(db, K, {}, workspace_id=None, max_attempts=0)
    assert (e1.value.code, e2.value.code, e3.value.code, e4.value.code) == (
        "invalid-job-payload",
        "invalid-job-kind",
        "invalid-job-payload",
        "invalid-job-attempts",
    )


def test_claim_order_priority_then_age_and_only_due(engine):
    low = enqueue(None, payload={"n": 1})
    high = enqueue(None, payload={"n": 2}, priority=5)
    low2 = enqueue(None, payload={"n": 3})
    later = enqueue(
        None, payload={"n": 4}, priority=9, run_at=datetime.now(UTC) + timedelta(hours=1)
    )
    other_kind = enqueue(None, kind="T_SLEEP")
    got = [j.id for j in claim(engine, n=10)]
    assert got == [high, low, low2]
    assert later not in got and other_kind not in got


def test_fairness_single_job_is_not_stuck_behind_500(engine, make_ws):
    """Workspace A queued 500 renders first; B's single job is the very next claim."""
    a, b = make_ws(name="A"), make_ws(name="B")
    with engine.begin() as conn:
        a_ids = queue.enqueue_many(conn, K, [{"i": i} for i in range(500)], workspace_id=a)
    # One slot: A's first job is running when B's job arrives.
    [first] = claim(engine)
    assert first.id == a_ids[0]
    b_job = enqueue(b, payload={"single": True})
    with engine.begin() as conn:
        queue.succeed(conn, first.id, "w1", first.attempt, None)
    [nxt] = claim(engine)
    assert nxt.id == b_job
    # With 4 slots busy on A, B's next job is still taken by the next free slot.
    got = claim(engine, n=4)
    assert [j.workspace_id for j in got] == [a] * 4
    b2 = enqueue(b)
    [nxt] = claim(engine)
    assert nxt.id == b2
    # And A keeps its own order.
    rest = [j.id for j in claim(engine, n=3)]
    assert rest == a_ids[5:8]


def test_fairness_round_robin_between_two_busy_workspaces(engine, make_ws):
    a, b = make_ws(name="A"), make_ws(name="B")
    with engine.begin() as conn:
        queue.enqueue_many(conn, K, [{}] * 50, workspace_id=a)
    [first] = claim(engine)
    with engine.begin() as conn:
        queue.enqueue_many(conn, K, [{}] * 3, workspace_id=b)
    order = []
    running = first
    for _ in range(6):
        with engine.begin() as conn:
            queue.succeed(conn, running.id, "w1", running.attempt, None)
        [running] = claim(engine)
        order.append("A" if running.workspace_id == a else "B")
    assert order == ["B", "A", "B", "A", "B", "A"]


def test_workspace_cap_is_respected(engine, make_ws):
    basic, pro = make_ws(plan="basic"), make_ws(plan="pro")
    with engine.begin() as conn:
        assert workspace_job_cap(conn, basic) == 2
        assert workspace_job_cap(conn, pro) == 5
        queue.enqueue_many(conn, K, [{}] * 10, workspace_id=basic)
        queue.enqueue_many(conn, K, [{}] * 10, workspace_id=pro)
    got = claim(engine, n=20)
    by_ws = {basic: 0, pro: 0}
    for j in got:
        by_ws[j.workspace_id] += 1  # type: ignore[index]
    assert by_ws == {basic: 2, pro: 5}
    assert claim(engine, n=20) == []  # both at their cap


def test_workspace_cap_holds_under_concurrent_claimers(engine, make_ws):
    ws = make_ws(plan="basic")
    with engine.begin() as conn:
        queue.enqueue_many(conn, K, [{}] * 40, workspace_id=ws)
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def claimer(i: int) -> None:
        try:
            barrier.wait()
            for _ in range(10):
                claim(engine, n=2, worker=f"w{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with engine.begin() as conn:
        running = conn.execute(text("SELECT count(*) FROM jobs WHERE status = 'running'")).scalar()
    assert running == 2


def test_concurrent_claimers_never_share_a_job(engine):
    with engine.begin() as conn:
        ids = queue.enqueue_many(conn, K, [{}] * 300, workspace_id=None)
    seen: list[uuid.UUID] = []
    lock = threading.Lock()

    def claimer(i: int) -> None:
        while True:
            got = claim(engine, n=3, worker=f"w{i}")
            if not got:
                return
            with lock:
                seen.extend(j.id for j in got)

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == sorted(ids)


def test_backoff_schedule_max_attempts_and_last_error(engine):
    assert [backoff_seconds(n) for n in (1, 2, 3, 4, 8, 9, 20)] == [
        10,
        20,
        40,
        80,
        1280,
        1800,
        1800,
    ]
    job_id = enqueue(None, max_attempts=4)
    for attempt in range(1, 5):
        with engine.begin() as conn:  # make the retry due now
            conn.execute(text("UPDATE jobs SET run_at = now() WHERE id = :id"), {"id": job_id})
        [job] = claim(engine)
        assert (job.id, job.attempt) == (job_id, attempt)
        with engine.begin() as conn:
            status = queue.fail(
                conn,
                job.id,
                "w1",
                job.attempt,
                f"boom {attempt}",
                code="upstream-503",
                permanent=False,
            )
            row = job_row(conn, job_id)
            last = events_of(conn, job_id)[-1]
        if attempt < 4:
            assert status == "queued" and row["status"] == "queued"
            # run_at is set in the same statement as the event: exactly the backoff later.
            assert row["run_at"] - last["at"] == timedelta(seconds=backoff_seconds(attempt))
            assert last["event"] == "retry_scheduled" and last["attempt"] == attempt
            assert claim(engine) == []  # not due yet
        else:
            assert status == "failed" and row["status"] == "failed"
            assert (row["error"], row["error_code"]) == ("boom 4", "upstream-503")
            assert last["event"] == "failed"
    with engine.begin() as conn:
        events = [e["event"] for e in events_of(conn, job_id)]
    assert events == ["enqueued"] + ["started", "retry_scheduled"] * 3 + ["started", "failed"]


def test_backoff_is_capped_at_1800_s(engine):
    job_id = enqueue(None, max_attempts=20)
    with engine.begin() as conn:
        conn.execute(text("UPDATE jobs SET attempts = 11 WHERE id = :id"), {"id": job_id})
    [job] = claim(engine)
    with engine.begin() as conn:
        queue.fail(conn, job.id, "w1", job.attempt, "x", code="c", permanent=False)
        row, last = job_row(conn, job_id), events_of(conn, job_id)[-1]
    assert row["run_at"] - last["at"] == timedelta(seconds=1800)


def test_permanent_error_fails_at_once_and_handler_events_are_kept(engine):
    job_id = enqueue(None)
    [job] = claim(engine)
    t0 = datetime.now(UTC)
    events = [HandlerEvent(t0, "engine", "local model", {"words": 3})]
    with engine.begin() as conn:
        assert (
            queue.fail(
                conn,
                job.id,
                "w1",
                job.attempt,
                "bad input",
                code="bad-input",
                permanent=True,
                events=events,
            )
            == "failed"
        )
        row, evs = job_row(conn, job_id), events_of(conn, job_id)
    assert row["attempts"] == 1 and row["error_code"] == "bad-input"
    assert [e["event"] for e in evs] == ["enqueued", "started", "engine", "failed"]
    assert evs[2]["data"] == {"words": 3} and evs[2]["worker_id"] == "w1"


def test_finish_by_a_worker_that_lost_the_job_is_ignored(engine):
    job_id = enqueue(None)
    [job] = claim(engine, worker="old")
    with engine.begin() as conn:
        conn.execute(text("UPDATE jobs SET last_heartbeat = now() - interval '1 hour'"))
        assert queue.reclaim_stale(conn, 60, "w2") == 1
    [again] = claim(engine, worker="new")
    assert again.attempt == 2
    with engine.begin() as conn:
        assert not queue.succeed(conn, job.id, "old", job.attempt, {"late": True})
        assert queue.heartbeat(conn, "old", [job_id]) == {}
        assert queue.succeed(conn, again.id, "new", again.attempt, {"ok": True})
        row, evs = job_row(conn, job_id), events_of(conn, job_id)
    assert row["result"] == {"ok": True}
    assert [(e["event"], e["attempt"]) for e in evs] == [
        ("enqueued", 0),
        ("started", 1),
        ("reclaimed", 1),
        ("started", 2),
        ("succeeded", 2),
    ]
    assert evs[2]["data"]["previous_worker"] == "old"


def test_reclaim_after_last_attempt_fails_the_job(engine):
    job_id = enqueue(None, max_attempts=1)
    claim(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE jobs SET last_heartbeat = now() - interval '1 hour'"))
        queue.reclaim_stale(conn, 60)
        row = job_row(conn, job_id)
    assert (row["status"], row["error_code"]) == ("failed", "worker-lost")


def test_cancel_queued_running_and_finished(engine):
    queued = enqueue(None)
    with owner_session() as db:
        assert queue.cancel(db, queued) == "cancelled"
    assert claim(engine) == []  # a cancelled job is never claimed
    running = enqueue(None)
    [job] = claim(engine)
    with owner_session() as db:
        assert queue.cancel(db, running, by="user:x") == "running"
        assert queue.cancel(db, running) == "running"  # asking twice is harmless
    with engine.begin() as conn:
        assert queue.heartbeat(conn, "w1", [running]) == {running: True}
        assert queue.progress(conn, running, "w1", job.attempt, 0.5, "half") is True
        assert queue.mark_cancelled(conn, running, "w1", job.attempt)
        assert [e["event"] for e in events_of(conn, running)] == [
            "enqueued",
            "started",
            "cancel_requested",
            "cancelled",
        ]
    done = enqueue(None)
    [job] = claim(engine)
    with engine.begin() as conn:
        queue.succeed(conn, job.id, "w1", job.attempt, None)
    with owner_session() as db, pytest.raises(Conflict) as exc:
        queue.cancel(db, done)
    assert exc.value.code == "job-not-cancellable"


def test_release_returns_jobs_without_using_an_attempt(engine):
    job_id = enqueue(None)
    [job] = claim(engine)
    with engine.begin() as conn:
        assert queue.release(conn, "w1", [job.id]) == 1
        row = job_row(conn, job_id)
    assert (row["status"], row["attempts"], row["worker_id"]) == ("queued", 0, None)
    [again] = claim(engine)
    assert again.attempt == 1


def test_manual_retry_of_failed_job(engine):
    job_id = enqueue(None, max_attempts=1, dedupe_key="k1")
    [job] = claim(engine)
    with engine.begin() as conn:
        queue.fail(conn, job.id, "w1", job.attempt, "nope", code="x", permanent=False)
    dup = enqueue(None, dedupe_key="k1")  # the key is free while the first one is failed
    with owner_session() as db, pytest.raises(Conflict) as exc:
        queue.retry(db, job_id)
    assert exc.value.code == "job-duplicate-active"
    with owner_session() as db:
        queue.cancel(db, dup)
        queue.retry(db, job_id, by="user:u")
    with engine.begin() as conn:
        row = job_row(conn, job_id)
        assert (row["status"], row["attempts"]) == ("queued", 0)
        assert events_of(conn, job_id)[-1]["event"] == "retried"
    with owner_session() as db, pytest.raises(Conflict):
        queue.retry(db, job_id)  # only failed/cancelled jobs


def test_unknown_kinds_fail_permanently(engine):
    job_id = enqueue(None, kind="NO_SUCH_KIND")
    keep = enqueue(None)
    with engine.begin() as conn:
        assert queue.fail_unknown_kinds(conn, [K], "w1") == 1
        row, other = job_row(conn, job_id), job_row(conn, keep)
    assert (row["status"], row["error_code"]) == ("failed", "unknown-kind")
    assert "NO_SUCH_KIND" in row["error"]
    assert other["status"] == "queued"


def test_succeed_many_records_each_job_and_skips_lost_ones(engine):
    ids = [enqueue(None) for _ in range(3)]
    jobs = claim(engine, n=3)
    assert sorted(j.id for j in jobs) == sorted(ids)
    first, second, lost = jobs
    t0 = datetime.now(UTC)
    with engine.begin() as conn:
        # The third job was reclaimed and started elsewhere: its late success is ignored.
        conn.execute(text("UPDATE jobs SET worker_id = 'other' WHERE id = :id"), {"id": lost.id})
        done = queue.succeed_many(
            conn,
            "w1",
            [
                queue.Success(first.id, first.attempt, {"n": 1}),
                queue.Success(
                    second.id, second.attempt, None, [HandlerEvent(t0, "note", "hi", {"a": 1})]
                ),
                queue.Success(lost.id, lost.attempt, {"n": 3}),
            ],
        )
        assert done == {first.id, second.id}
        rows = {j.id: job_row(conn, j.id) for j in jobs}
        evs = {j.id: [e["event"] for e in events_of(conn, j.id)] for j in jobs}
        note = events_of(conn, second.id)[2]
    assert (rows[first.id]["status"], rows[first.id]["result"]) == ("succeeded", {"n": 1})
    assert (rows[second.id]["status"], rows[second.id]["result"]) == ("succeeded", None)
    assert rows[lost.id]["status"] == "running"
    assert evs[first.id] == ["enqueued", "started", "succeeded"]
    assert evs[second.id] == ["enqueued", "started", "note", "succeeded"]
    assert evs[lost.id] == ["enqueued", "started"]
    assert (note["message"], note["data"], note["worker_id"]) == ("hi", {"a": 1}, "w1")
    with engine.begin() as conn:
        assert queue.succeed_many(conn, "w1", []) == set()


def test_cancelling_a_projects_jobs_writes_each_transition(engine, make_ws):
    """A deleted project's pipeline stops through the jobs service: every job it cancels gets
    its timeline event (queued → cancelled at once; running → cancel requested)."""
    from cliply.jobs import service

    ws = make_ws()
    with engine.begin() as conn:
        pid = conn.execute(
            text(
                "INSERT INTO projects (workspace_id, name, source_type) "
                "VALUES (:ws, 'p', 'upload') RETURNING id"
            ),
            {"ws": ws},
        ).scalar_one()
    queued, running, done = (enqueue(ws, project_id=pid) for _ in range(3))
    other = enqueue(ws)  # another project's (none): untouched
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE jobs SET run_at = now() + interval '1 hour' WHERE id <> :id"),
            {"id": running},
        )
    [job] = claim(engine)
    assert job.id == running
    with engine.begin() as conn:
        conn.execute(text("UPDATE jobs SET status = 'succeeded' WHERE id = :id"), {"id": done})
    with owner_session() as db:
        assert service.cancel_project_jobs(db, pid, by="project deleted") == 2
    with engine.begin() as conn:
        rows = {j: job_row(conn, j) for j in (queued, running, done, other)}
        last = {j: events_of(conn, j)[-1] for j in (queued, running)}
    assert rows[queued]["status"] == "cancelled"
    assert (rows[running]["status"], rows[running]["cancel_requested"]) == ("running", True)
    assert rows[done]["status"] == "succeeded" and rows[other]["status"] == "queued"
    assert (last[queued]["event"], last[queued]["message"]) == ("cancelled", "project deleted")
    assert last[running]["event"] == "cancel_requested"


def _autocommit(engine: Engine) -> Engine:
    from cliply.jobs.worker import queue_engine

    return queue_engine(engine.url.render_as_string(hide_password=False), 4, autocommit=True)


def test_succeed_and_claim_writes_successes_first_and_keeps_the_cap(engine, make_ws):
    """The worker's claim: successes it carries, then the capped claim, in one transaction."""
    ws = make_ws(plan="basic")  # 2 at once
    with engine.begin() as conn:
        queue.enqueue_many(conn, K, [{}] * 5, workspace_id=ws)
    auto, caps = _autocommit(engine), CapCache()
    try:
        with auto.connect() as conn:
            # The cap is not cached yet: nothing is taken, the cap is looked up, try again.
            done, first = queue.succeed_and_claim(conn, "w1", [], (K,), 5, caps)
            assert (done, first.jobs, first.retry_soon) == (set(), [], True)
            assert caps.known() == {ws: 2}
            _, second = queue.succeed_and_claim(conn, "w1", [], (K,), 5, caps)
            assert len(second.jobs) == 2  # the cap, not the 5 asked for
            _, third = queue.succeed_and_claim(conn, "w1", [], (K,), 5, caps)
            assert third.jobs == []
            # One success frees one slot in the same transaction: the claim sees it.
            a, b = second.jobs
            done, fourth = queue.succeed_and_claim(
                conn, "w1", [queue.Success(a.id, a.attempt, {"ok": 1})], (K,), 5, caps
            )
            assert done == {a.id} and len(fourth.jobs) == 1
            # A success that is no longer ours is skipped; the claim still runs.
            done, fifth = queue.succeed_and_claim(
                conn, "w2", [queue.Success(b.id, b.attempt, None)], (K,), 5, caps
            )
            assert done == set() and fifth.jobs == []
    finally:
        auto.dispose()
    with engine.begin() as conn:
        assert job_row(conn, a.id)["status"] == "succeeded"
        assert job_row(conn, a.id)["result"] == {"ok": 1}
        assert [e["event"] for e in events_of(conn, a.id)] == ["enqueued", "started", "succeeded"]
        assert [e["event"] for e in events_of(conn, fourth.jobs[0].id)] == ["enqueued", "started"]
        running = conn.execute(text("SELECT count(*) FROM jobs WHERE status = 'running'")).scalar()
    assert running == 2


def test_succeed_and_claim_cap_holds_under_concurrent_claimers(engine, make_ws):
    ws = make_ws(plan="basic")
    with engine.begin() as conn:
        queue.enqueue_many(conn, K, [{}] * 40, workspace_id=ws)
    auto = _autocommit(engine)
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def claimer(i: int) -> None:
        caps = CapCache()
        with engine.connect() as c:
            caps.get_many(c, [ws])  # warm: every claim may take at once
        try:
            barrier.wait()
            for _ in range(10):
                with auto.connect() as conn:
                    queue.succeed_and_claim(conn, f"w{i}", [], (K,), 2, caps)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    auto.dispose()
    assert not errors
    with engine.begin() as conn:
        running = conn.execute(text("SELECT count(*) FROM jobs WHERE status = 'running'")).scalar()
    assert running == 2


def _holding_claim_lock(engine: Engine, ws: uuid.UUID) -> Connection:
    """A connection in a transaction that holds `ws`'s claim lock, as a claimer would."""
    holder = engine.connect()
    holder.begin()
    holder.execute(
        text("SELECT pg_advisory_xact_lock(:cls, hashtext(CAST(:ws AS text)))"),
        {"cls": queue.CLAIM_LOCK_CLASS, "ws": str(ws)},
    )
    return holder


def test_a_claim_waits_for_a_workspace_lock_another_claimer_holds(engine, make_ws):
    """Worker processes must not starve each other: a claim whose workspace lock another
    claimer holds waits for it (held only for the rest of that claim) and then takes the job,
    instead of coming back empty-handed."""
    ws = make_ws()
    job_id = enqueue(ws)
    auto, caps = _autocommit(engine), CapCache()
    with engine.connect() as c:
        caps.get_many(c, [ws])
    got: list[queue.ClaimResult] = []
    holder = _holding_claim_lock(engine, ws)
    try:

        def claimer() -> None:
            with auto.connect() as conn:
                got.append(queue.succeed_and_claim(conn, "w1", [], (K,), 4, caps)[1])

        t = threading.Thread(target=claimer)
        t.start()
        waiting = 0
        for _ in range(200):  # the claim reaches the lock and waits (no time is asserted)
            with engine.connect() as c:
                waiting = c.execute(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                    )
                ).scalar_one()
            if waiting or got:
                break
            threading.Event().wait(0.05)
        assert waiting == 1 and not got
        holder.commit()
        t.join(30)
    finally:
        holder.close()
        auto.dispose()
    assert [j.id for j in got[0].jobs] == [job_id]


def test_a_claim_gives_up_on_a_workspace_lock_held_too_long(engine, make_ws, monkeypatch):
    """A claimer frozen while holding a workspace lock stalls the others only for the claim
    lock timeout: their claim fails (the worker retries it) and leaves nothing half-done."""
    import psycopg

    monkeypatch.setattr(queue, "_CLAIM_LOCK_TIMEOUT", "SET LOCAL lock_timeout = '200ms'")
    ws = make_ws()
    job_id = enqueue(ws)
    auto, caps = _autocommit(engine), CapCache()
    with engine.connect() as c:
        caps.get_many(c, [ws])
    holder = _holding_claim_lock(engine, ws)
    try:
        with auto.connect() as conn:
            with pytest.raises(psycopg.errors.LockNotAvailable):
                queue.succeed_and_claim(conn, "w1", [], (K,), 4, caps)
            holder.rollback()
            # The failed claim left no transaction open and no row locked: claiming works.
            _, res = queue.succeed_and_claim(conn, "w1", [], (K,), 4, caps)
    finally:
        holder.close()
        auto.dispose()
    assert [j.id for j in res.jobs] == [job_id]
