# ruff: noqa: E402, ASYNC110
"""Queue benchmark: 20,000 no-op jobs through one worker process with 1, 4 and 16 slots on
the embedded PostgreSQL, then pick-up latency with an idle worker.

    uv run python benchmarks/job_queue.py [--jobs 20000] [--slots 1,4,16] [--samples 300]

Prints jobs/s, enqueue → start latency percentiles under load, the claim statement's own
latency, and enqueue → start (pick-up) latency for single jobs arriving at an idle worker
(woken by LISTEN/NOTIFY; polling is set to 60 s so it cannot help).
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the stdlib `queue` module: keep its folder off the import path
# (asyncio → concurrent.futures imports `queue`).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if not p or Path(p).resolve() != _HERE]

import argparse
import asyncio
import atexit
import os
import shutil
import statistics
import tempfile
import time
import uuid

from sqlalchemy import Engine, text

KIND = "BENCH_NOOP"


def _percentiles(values: list[float]) -> str:
    if not values:
        return "n/a"
    q = statistics.quantiles(values, n=100, method="inclusive")
    return f"p50 {q[49] * 1000:.1f} ms, p90 {q[89] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms"


def _setup() -> Engine:
    data = Path(tempfile.mkdtemp(prefix="cliply-queue-bench-"))
    # Registered before the server's own stop hook, so it runs after it (atexit is LIFO).
    atexit.register(shutil.rmtree, data, ignore_errors=True)
    os.environ.update(
        {
            "CLIPLY_DATA_DIR": str(data),
            "LOG_LEVEL": "WARNING",
            "SECRET_KEY": "bench-" + uuid.uuid4().hex,
        }
    )
    from cliply.db.embedded import embedded_url
    from cliply.db.migrate import upgrade

    url = embedded_url(data, "bench", stop_at_exit=True)
    upgrade(url)
    os.environ["DATABASE_URL"] = url.replace("postgresql+psycopg://", "postgresql://")
    from cliply.config import get_settings
    from cliply.db.engine import get_engine
    from cliply.logging import configure

    configure("WARNING", True)
    from cliply.app import install_hooks
    from cliply.jobs.registry import JobContext, handler

    install_hooks()  # per-workspace job caps come from billing through this hook

    @handler(KIND)
    def _noop(ctx: JobContext) -> None:
        return None

    get_settings.cache_clear()
    return get_engine()


def _workspaces(engine: Engine, n: int) -> list[uuid.UUID]:
    with engine.begin() as conn:
        return [
            conn.execute(
                text("INSERT INTO workspaces (name, plan) VALUES (:n, 'premium') RETURNING id"),
                {"n": f"bench{i}"},
            ).scalar_one()
            for i in range(n)
        ]


def _options(slots: int, poll_s: float):  # type: ignore[no-untyped-def]
    from cliply.db.engine import database_url
    from cliply.jobs.worker import WorkerOptions

    return WorkerOptions(
        kinds=(KIND,),
        slots=slots,
        heartbeat_s=5.0,
        stale_after_s=60.0,
        poll_s=poll_s,
        grace_s=5.0,
        with_scheduler=False,
        database_url=database_url(),
    )


def _count_done(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(text("SELECT count(*) FROM jobs WHERE status = 'succeeded'")).scalar_one()
        )


async def _run_until(engine: Engine, slots: int, poll_s: float, done: int, between: float = 0.05):  # type: ignore[no-untyped-def]
    from cliply.jobs import queue
    from cliply.jobs.worker import Worker, queue_engine

    worker_engine = queue_engine(_options(slots, poll_s).database_url, pool_size=slots + 3)
    worker = Worker(_options(slots, poll_s), worker_engine)
    claim_times: list[float] = []
    real_claim = queue.claim

    def timed_claim(*args, **kw):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        try:
            return real_claim(*args, **kw)
        finally:
            claim_times.append(time.perf_counter() - t0)

    queue.claim = timed_claim  # type: ignore[assignment]
    task = asyncio.create_task(worker.run())
    t0 = time.perf_counter()
    loop = asyncio.get_running_loop()
    while await loop.run_in_executor(None, _count_done, engine) < done:
        await asyncio.sleep(between)
    elapsed = time.perf_counter() - t0
    worker.request_stop()
    await task
    queue.claim = real_claim  # type: ignore[assignment]
    worker_engine.dispose()
    return elapsed, claim_times


def _reset(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE jobs, job_events CASCADE"))


def throughput(engine: Engine, n: int, slots: int, spaces: list[uuid.UUID]) -> None:
    from cliply.jobs import queue

    _reset(engine)
    t0 = time.perf_counter()
    per = n // len(spaces)
    with engine.begin() as conn:
        for ws in spaces:
            for start in range(0, per, 1000):
                queue.enqueue_many(
                    conn,
                    KIND,
                    [{"i": i} for i in range(start, min(per, start + 1000))],
                    workspace_id=ws,
                )
    enq = time.perf_counter() - t0
    total = per * len(spaces)
    elapsed, claims = asyncio.run(_run_until(engine, slots, 2.0, total))
    with engine.connect() as conn:
        lat = [
            r[0]
            for r in conn.execute(
                text("SELECT EXTRACT(EPOCH FROM started_at - created_at) FROM jobs")
            )
        ]
    print(
        f"slots={slots:>2}: {total} jobs in {elapsed:.2f} s = {total / elapsed:,.0f} jobs/s "
        f"(enqueue {total / enq:,.0f} jobs/s)"
    )
    print(
        f"          claim statement ({len(claims)} claims, "
        f"{total / max(len(claims), 1):.1f} jobs/claim): {_percentiles(claims)}"
    )
    print(f"          enqueue → start with a {total}-job backlog: {_percentiles(lat)}")


def pickup(engine: Engine, samples: int, spaces: list[uuid.UUID]) -> None:
    from cliply.db.engine import owner_session
    from cliply.jobs import queue

    _reset(engine)

    async def drive() -> None:
        from cliply.jobs.worker import Worker, queue_engine

        opts = _options(4, 60.0)
        worker_engine = queue_engine(opts.database_url, pool_size=7)
        worker = Worker(opts, worker_engine)
        task = asyncio.create_task(worker.run())
        loop = asyncio.get_running_loop()
        await asyncio.sleep(1.0)  # LISTEN is set up
        for i in range(samples):

            def one(i: int = i) -> None:
                with owner_session() as db:
                    queue.enqueue(db, KIND, {"i": i}, workspace_id=spaces[i % len(spaces)])

            await loop.run_in_executor(None, one)
            # Let it finish so the next job finds the worker idle again.
            while await loop.run_in_executor(None, _count_done, engine) < i + 1:
                await asyncio.sleep(0.005)
            await asyncio.sleep(0.01)
        worker.request_stop()
        await task
        worker_engine.dispose()

    asyncio.run(drive())
    with engine.connect() as conn:
        lat = [
            r[0]
            for r in conn.execute(
                text("SELECT EXTRACT(EPOCH FROM started_at - created_at) FROM jobs")
            )
        ]
    print(
        f"idle worker pick-up (enqueue commit → running, LISTEN/NOTIFY, {len(lat)} jobs): "
        f"{_percentiles([float(x) for x in lat])}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=20_000)
    ap.add_argument("--slots", default="1,4,16")
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--workspaces", type=int, default=4)
    args = ap.parse_args()
    engine = _setup()
    spaces = _workspaces(engine, args.workspaces)
    print(
        f"cliply queue benchmark: {args.jobs} no-op jobs over {len(spaces)} workspaces, "
        f"one worker process, {os.cpu_count()} CPUs"
    )
    for slots in [int(s) for s in args.slots.split(",")]:
        throughput(engine, args.jobs, slots, spaces)
    pickup(engine, args.samples, spaces)


if __name__ == "__main__":
    main()
