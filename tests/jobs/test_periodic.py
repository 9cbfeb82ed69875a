"""Periodic ticks, built-in tasks and worker configuration, in process."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from cliply.jobs import queue
from cliply.jobs.registry import HANDLERS, PeriodicSpec, periodic
from cliply.jobs.scheduler import claim_tick, finish_tick, next_tick, tick_for
from cliply.jobs.tasks import cleanup_temp_files, prune_finished
from cliply.jobs.worker import WorkerConfigError, resolve_kinds


def _spec(every_s: float | None = None, cron: str | None = None) -> PeriodicSpec:
    return PeriodicSpec("t", lambda: None, every_s, cron)


def test_ticks_for_intervals_and_cron():
    now = datetime(2030, 5, 17, 12, 34, 56, tzinfo=UTC)
    assert tick_for(_spec(every_s=60), now) == datetime(2030, 5, 17, 12, 34, tzinfo=UTC)
    assert next_tick(_spec(every_s=60), now) == datetime(2030, 5, 17, 12, 35, tzinfo=UTC)
    assert tick_for(_spec(cron="*/15 * * * *"), now) == datetime(2030, 5, 17, 12, 30, tzinfo=UTC)
    on_tick = datetime(2030, 5, 17, 12, 45, tzinfo=UTC)
    assert tick_for(_spec(cron="*/15 * * * *"), on_tick) == on_tick
    assert next_tick(_spec(cron="0 3 * * *"), now) == datetime(2030, 5, 18, 3, tzinfo=UTC)
    with pytest.raises(ValueError):
        periodic("bad", cron="every tuesday")
    with pytest.raises(ValueError):
        periodic("bad", every_s=5, cron="* * * * *")


def test_a_tick_is_claimed_exactly_once_across_concurrent_claimers(engine: Engine):
    tick = datetime(2030, 1, 1, tzinfo=UTC)
    wins: list[int] = []
    barrier = threading.Barrier(8)

    def contender(i: int) -> None:
        barrier.wait()
        with engine.begin() as conn:
            if claim_tick(conn, "race", tick):
                wins.append(i)

    threads = [threading.Thread(target=contender, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    with engine.begin() as conn:
        assert not claim_tick(conn, "race", tick + timedelta(minutes=1))  # previous still running
        finish_tick(conn, "race", None)
        assert claim_tick(conn, "race", tick + timedelta(minutes=1))
        assert not claim_tick(conn, "race", tick)  # ticks never go backwards
        finish_tick(conn, "race", "ValueError: boom")
        row = conn.execute(
            text("SELECT run_count, last_error FROM periodic_tasks WHERE name = 'race'")
        ).one()
    assert tuple(row) == (2, "ValueError: boom")


def test_temp_cleanup_removes_only_old_entries(tmp_path: Path):
    root = tmp_path / "tmp"
    (root / "old-dir").mkdir(parents=True)
    (root / "old-dir" / "x.mp4").write_bytes(b"x")
    (root / "old.part").write_bytes(b"x")
    (root / "fresh.part").write_bytes(b"x")
    day_ago = time.time() - 2 * 86400
    for p in (root / "old-dir", root / "old.part"):
        os.utime(p, (day_ago, day_ago))
    assert cleanup_temp_files(root, 86400) == 2
    assert [p.name for p in root.iterdir()] == ["fresh.part"]
    assert cleanup_temp_files(tmp_path / "missing", 86400) == 0


def test_prune_finished_jobs(engine: Engine):
    with engine.begin() as conn:
        ids = queue.enqueue_many(conn, "T_NOOP", [{}] * 3, workspace_id=None)
        conn.execute(
            text(
                "UPDATE jobs SET status = 'succeeded', finished_at = now() - "
                "interval '40 days' WHERE id = :id"
            ),
            {"id": ids[0]},
        )
        conn.execute(
            text(
                "UPDATE jobs SET status = 'failed', finished_at = now() - "
                "interval '1 day' WHERE id = :id"
            ),
            {"id": ids[1]},
        )
        n = prune_finished(conn, datetime.now(UTC) - timedelta(days=30), batch=1)
        left = set(conn.execute(text("SELECT id FROM jobs")).scalars())
        events = conn.execute(
            text("SELECT count(*) FROM job_events WHERE job_id = :id"), {"id": ids[0]}
        ).scalar_one()
    assert n == 1 and left == {ids[1], ids[2]} and events == 0


def test_worker_kinds_from_capabilities_and_names(engine: Engine):
    kinds = resolve_kinds("T_NOOP, t_sleep", HANDLERS)
    assert kinds == ("T_NOOP", "T_SLEEP")
    cpu = resolve_kinds("cpu", HANDLERS)
    assert "T_NOOP" in cpu and all(HANDLERS[k].capability == "cpu" for k in cpu)
    with pytest.raises(WorkerConfigError) as exc:
        resolve_kinds("cpu,quantum", HANDLERS)
    assert exc.value.code == "invalid-worker-config" and "quantum" in exc.value.detail
    with pytest.raises(WorkerConfigError):
        resolve_kinds(" , ", HANDLERS)
