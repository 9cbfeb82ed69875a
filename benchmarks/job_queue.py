# ruff: noqa: E402, ASYNC110
"""Queue benchmark: 20,000 no-op jobs through one worker process with 1, 4 and 16 slots on
the embedded PostgreSQL, then pick-up latency with an idle worker.

    uv run python benchmarks/job_queue.py [--jobs 20000] [--slots 1,4,16] [--samples 300]
    uv run python benchmarks/job_queue.py --compare [--jobs 10000] [--rounds 2] \
        [--procs 1,2,4,8] [--backlog 100000]

Prints jobs/s, enqueue → start latency percentiles under load, the claim statement's own
latency, and enqueue → start (pick-up) latency for single jobs arriving at an idle worker
(woken by LISTEN/NOTIFY; polling is set to 60 s so it cannot help).

`--compare` runs Cliply's queue, pgqueuer and procrastinate (both from the dev dependency
group; nothing is installed at run time) on the same embedded PostgreSQL, one after the other
at each slot count (interleaved, `--rounds` times, the median of each kept), and prints jobs/s and
Cliply's ratio to each; then Cliply worker processes (`--procs`, each with `--proc-slots`
slots) on one database and their scaling against one process; then enqueue → start latency
of single jobs arriving from other workspaces while a worker drains a `--backlog`-job backlog.
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
from collections.abc import Callable

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


def _equal_durability() -> None:
    """`--sync-commit on`: Cliply's worker commits its bookkeeping synchronously too.

    The worker ships with synchronous_commit=off for the queue's own bookkeeping (see
    `queue_engine`); pgqueuer and procrastinate take the database's setting, which `compare`
    sets to the same value. With `on`, every system waits for each commit's WAL flush.
    """
    if os.environ.get("CLIPLY_BENCH_SYNC_COMMIT") != "on":
        return
    from sqlalchemy import event

    from cliply.jobs import worker

    shipped = worker.queue_engine
    if getattr(shipped, "_bench_sync", False):
        return

    def synchronous(url: str, pool_size: int, *, autocommit: bool = False) -> Engine:
        eng = shipped(url, pool_size, autocommit=autocommit)

        @event.listens_for(eng, "connect")
        def _on(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            ac = dbapi_conn.autocommit
            dbapi_conn.autocommit = True
            dbapi_conn.execute("SET synchronous_commit = on")
            dbapi_conn.autocommit = ac

        return eng

    synchronous._bench_sync = True  # type: ignore[attr-defined]
    worker.queue_engine = synchronous  # type: ignore[assignment]


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
    real_claim = queue.succeed_and_claim  # the worker's claim (with the successes it carries)

    def timed_claim(*args, **kw):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        try:
            return real_claim(*args, **kw)
        finally:
            claim_times.append(time.perf_counter() - t0)

    queue.succeed_and_claim = timed_claim  # type: ignore[assignment]
    task = asyncio.create_task(worker.run())
    t0 = time.perf_counter()
    loop = asyncio.get_running_loop()
    while await loop.run_in_executor(None, _count_done, engine) < done:
        await asyncio.sleep(between)
    elapsed = time.perf_counter() - t0
    worker.request_stop()
    await task
    queue.succeed_and_claim = real_claim  # type: ignore[assignment]
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
        f"          claim (+ successes; {len(claims)} claims, "
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


# --- --compare: the same no-op load through pgqueuer and procrastinate ----------------------------


def _load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def _enqueue_cliply(engine: Engine, n: int, spaces: list[uuid.UUID]) -> int:
    from cliply.jobs import queue

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
    return per * len(spaces)


def _last_finished(engine: Engine) -> float:
    with engine.connect() as conn:
        return float(
            conn.execute(text("SELECT EXTRACT(EPOCH FROM max(finished_at)) FROM jobs")).scalar_one()
        )


def cliply_rate(engine: Engine, n: int, slots: int, spaces: list[uuid.UUID]) -> float:
    """Jobs/s from the worker's start to the last job's end (wall clock, both on this machine)."""
    from cliply.jobs.worker import Worker, queue_engine

    _reset(engine)
    total = _enqueue_cliply(engine, n, spaces)

    async def drive() -> float:
        opts = _options(slots, 2.0)
        worker_engine = queue_engine(opts.database_url, pool_size=slots + 3)
        worker = Worker(opts, worker_engine)
        t0 = time.time()
        task = asyncio.create_task(worker.run())
        loop = asyncio.get_running_loop()
        while await loop.run_in_executor(None, _count_done, engine) < total:
            await asyncio.sleep(0.1)
        worker.request_stop()
        await task
        worker_engine.dispose()
        return _last_finished(engine) - t0

    return total / asyncio.run(drive())


def _asyncpg_dsn() -> str:
    from cliply.db.engine import database_url

    return database_url().replace("postgresql+psycopg://", "postgresql://")


async def _pgq_install(dsn: str) -> None:
    import asyncpg
    from pgqueuer import AsyncpgDriver, Queries

    conn = await asyncpg.connect(dsn)
    try:
        q = Queries(AsyncpgDriver(conn))
        if not await q.has_table("pgqueuer"):
            await q.install()
    finally:
        await conn.close()


def pgqueuer_rate(n: int, slots: int) -> float:
    """pgqueuer 1.x: n no-op jobs, one QueueManager, at most `slots` in flight, drain mode."""
    import asyncpg
    from pgqueuer import AsyncpgDriver, Queries, QueueManager
    from pgqueuer.domain.types import QueueExecutionMode

    async def drive() -> float:
        dsn = _asyncpg_dsn()
        await _pgq_install(dsn)
        conn = await asyncpg.connect(dsn)
        driver = AsyncpgDriver(conn)
        q = Queries(driver)
        await q.clear_queue()
        await q.clear_queue_log()
        for start in range(0, n, 1000):
            k = min(n, start + 1000) - start
            await q.enqueue(["noop"] * k, [None] * k, [0] * k)
        qm = QueueManager(q)

        @qm.entrypoint("noop", concurrency_limit=slots)
        async def noop(job: object) -> None:
            return None

        t0 = time.perf_counter()
        await qm.run(batch_size=slots, mode=QueueExecutionMode.drain)
        elapsed = time.perf_counter() - t0
        await conn.close()
        return elapsed

    return n / asyncio.run(drive())


def procrastinate_rate(n: int, slots: int) -> float:
    """procrastinate 3.x: n no-op jobs deferred in batches, one worker with `slots` concurrency."""
    import logging

    import procrastinate

    logging.getLogger("procrastinate").setLevel(logging.ERROR)  # its "__main__ app" warning

    async def drive() -> float:
        app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=_asyncpg_dsn()))

        @app.task(name="noop")
        async def noop(i: int) -> None:
            return None

        async with app.open_async():
            connector = app.connector
            exists = await connector.execute_query_one_async(
                "SELECT to_regclass('procrastinate_jobs') IS NOT NULL AS e"
            )
            if not exists["e"]:
                await app.schema_manager.apply_schema_async()
            await connector.execute_query_async(
                "TRUNCATE procrastinate_jobs, procrastinate_events CASCADE"
            )
            for start in range(0, n, 1000):
                await noop.batch_defer_async(
                    *[{"i": i} for i in range(start, min(n, start + 1000))]
                )
            t0 = time.perf_counter()
            await app.run_worker_async(concurrency=slots, wait=False, install_signal_handlers=False)
            return time.perf_counter() - t0

    return n / asyncio.run(drive())


def _child_worker(slots: int) -> None:
    """One `--procs` worker process: the benchmark's no-op handler, until SIGTERM."""
    from cliply.config import get_settings
    from cliply.db.engine import database_url
    from cliply.jobs.worker import Worker, queue_engine
    from cliply.logging import configure

    configure("WARNING", True)
    from cliply.app import install_hooks
    from cliply.jobs.registry import JobContext, handler

    install_hooks()

    @handler(KIND)
    def _noop(ctx: JobContext) -> None:
        return None

    get_settings.cache_clear()
    opts = _options(slots, 2.0)
    eng = queue_engine(database_url(), pool_size=slots + 3)
    asyncio.run(Worker(opts, eng).run())
    eng.dispose()


def procs_rate(engine: Engine, n: int, procs: int, slots: int, spaces: list[uuid.UUID]) -> float:
    """Jobs/s of `procs` worker processes on one database (first start to last finish)."""
    import signal
    import subprocess

    _reset(engine)
    total = _enqueue_cliply(engine, n, spaces)
    children = [
        subprocess.Popen([sys.executable, __file__, "--child-worker", str(slots)])
        for _ in range(procs)
    ]
    try:
        while _count_done(engine) < total:
            time.sleep(0.2)
    finally:
        for c in children:
            c.send_signal(signal.SIGTERM)
        for c in children:
            c.wait(30)
    with engine.connect() as conn:
        span = conn.execute(
            text("SELECT EXTRACT(EPOCH FROM max(finished_at) - min(started_at)) FROM jobs")
        ).scalar_one()
    return total / float(span)


def backlog_latency(engine: Engine, backlog: int, probes: int, spaces: list[uuid.UUID]) -> None:
    """Enqueue → start of single jobs from other workspaces while 16 slots drain a backlog."""
    from cliply.db.engine import owner_session
    from cliply.jobs import queue
    from cliply.jobs.worker import Worker, queue_engine

    _reset(engine)
    busy, others = spaces[0], spaces[1:]
    t0 = time.perf_counter()
    with engine.begin() as conn:
        for start in range(0, backlog, 1000):
            queue.enqueue_many(
                conn,
                KIND,
                [{"i": i} for i in range(start, min(backlog, start + 1000))],
                workspace_id=busy,
            )
    enq = time.perf_counter() - t0
    with engine.begin() as conn:
        conn.execute(text("ANALYZE jobs"))  # as autovacuum would after such an insert
    probe_ids: list[uuid.UUID] = []

    async def drive() -> float:
        opts = _options(16, 2.0)
        worker_engine = queue_engine(opts.database_url, pool_size=19)
        worker = Worker(opts, worker_engine)
        task = asyncio.create_task(worker.run())
        loop = asyncio.get_running_loop()
        await asyncio.sleep(1.0)
        t1 = time.perf_counter()
        for i in range(probes):

            def one(i: int = i) -> None:
                with owner_session() as db:
                    job = queue.enqueue(
                        db, KIND, {"probe": i}, workspace_id=others[i % len(others)]
                    )
                    probe_ids.append(job.id)

            await loop.run_in_executor(None, one)
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.5)
        span = time.perf_counter() - t1
        worker.request_stop()
        await task
        worker_engine.dispose()
        return span

    span = asyncio.run(drive())
    with engine.connect() as conn:
        lat = [
            float(r[0])
            for r in conn.execute(
                text(
                    "SELECT EXTRACT(EPOCH FROM started_at - created_at) FROM jobs "
                    "WHERE id = ANY(:ids)"
                ),
                {"ids": probe_ids},
            )
            if r[0] is not None
        ]
        drained = conn.execute(
            text("SELECT count(*) FROM jobs WHERE workspace_id = :ws AND status = 'succeeded'"),
            {"ws": busy},
        ).scalar_one()
    print(
        f"backlog: {backlog:,} queued jobs of one workspace (enqueued at {backlog / enq:,.0f}/s); "
        f"16 slots drained {drained:,} of them in {span:.1f} s ({drained / span:,.0f} jobs/s) "
        f"while {probes} single jobs arrived from {len(others)} other workspaces [{_load()}]"
    )
    print(f"          enqueue → start of those jobs ({len(lat)} started): {_percentiles(lat)}")


def _compare_slots(
    rounds: int, slots_list: list[int], runners: dict[str, Callable[[int], float]]
) -> None:
    """The three queues at each slot count, interleaved for `rounds` rounds; medians and ratios."""
    rates: dict[tuple[str, int], list[float]] = {}
    loads: list[float] = []
    for rnd in range(rounds):
        for slots in slots_list:
            for name, run in runners.items():
                rate = run(slots)
                rates.setdefault((name, slots), []).append(rate)
                loads.append(os.getloadavg()[0])
                print(
                    f"  round {rnd + 1} slots={slots:>2} {name:<13} {rate:>7,.0f} jobs/s [{_load()}]"
                )
    print()
    print(
        f"median of {rounds} rounds [best]; load average (1 min) during the runs: median "
        f"{statistics.median(loads):.1f}, {min(loads):.1f} to {max(loads):.1f}"
    )
    print(
        "| slots | cliply jobs/s | pgqueuer jobs/s | procrastinate jobs/s | vs pgqueuer | vs procrastinate |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for slots in slots_list:
        c, p, r = (statistics.median(rates[k, slots]) for k in runners)
        bc, bp, br = (max(rates[k, slots]) for k in runners)
        print(
            f"| {slots} | {c:,.0f} [{bc:,.0f}] | {p:,.0f} [{bp:,.0f}] | {r:,.0f} [{br:,.0f}] "
            f"| {c / p:.2f}x | {c / r:.2f}x |"
        )
    print()


def compare(engine: Engine, args: argparse.Namespace) -> None:
    import importlib.metadata as md

    n = args.jobs or 10_000
    spaces = _workspaces(engine, args.workspaces)
    # The same commit durability for all three (pgqueuer and procrastinate read the database
    # default; Cliply's worker is switched by _equal_durability when it is `on`).
    os.environ["CLIPLY_BENCH_SYNC_COMMIT"] = args.sync_commit
    _equal_durability()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        db = conn.execute(text("SELECT current_database()")).scalar_one()
        conn.execute(text(f'ALTER DATABASE "{db}" SET synchronous_commit = {args.sync_commit}'))
        pg = conn.execute(text("SHOW server_version")).scalar_one()
    engine.dispose()  # new connections get the setting
    print(
        f"queue comparison: {n:,} no-op jobs per run, PostgreSQL {pg} (embedded), "
        f"{os.cpu_count()} CPUs; pgqueuer {md.version('pgqueuer')} (asyncpg), procrastinate "
        f"{md.version('procrastinate')} (psycopg); synchronous_commit={args.sync_commit} for "
        f"all three; {args.rounds} interleaved rounds, median [best] of each"
    )
    slots_list = [int(s) for s in args.slots.split(",")]
    runners: dict[str, Callable[[int], float]] = {
        "cliply": lambda s: cliply_rate(engine, n, s, spaces),
        "pgqueuer": lambda s: pgqueuer_rate(n, s),
        "procrastinate": lambda s: procrastinate_rate(n, s),
    }
    if args.rounds:  # 0: only the processes and backlog parts
        _compare_slots(args.rounds, slots_list, runners)
    if args.procs:
        counts = [int(p) for p in args.procs.split(",")]
        if 1 not in counts:
            counts.insert(0, 1)
        # Interleaved like the slot rounds (median kept), so a burst of load elsewhere does not
        # land on one process count only.
        runs: dict[int, list[float]] = {}
        for _ in range(max(1, args.rounds)):
            for k in counts:
                runs.setdefault(k, []).append(procs_rate(engine, n, k, args.proc_slots, spaces))
        base = statistics.median(runs[1])
        print(
            f"worker processes ({args.proc_slots} slots each, {n:,} jobs, median of "
            f"{max(1, args.rounds)} interleaved rounds) [{_load()}]:"
        )
        for k, got in runs.items():
            rate = statistics.median(got)
            spread = ", ".join(f"{r:,.0f}" for r in got)
            print(
                f"  {k} process{'es' if k > 1 else '  '}: {rate:>7,.0f} jobs/s  "
                f"{rate / base:.2f}x one process  (rounds: {spread})"
            )
        print()
    if args.backlog:
        backlog_latency(engine, args.backlog, args.samples, spaces)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=None, help="20,000; 10,000 with --compare")
    ap.add_argument("--slots", default="1,4,16")
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--workspaces", type=int, default=4)
    ap.add_argument("--compare", action="store_true", help="Cliply vs pgqueuer/procrastinate")
    ap.add_argument("--rounds", type=int, default=3, help="--compare: rounds (median kept)")
    ap.add_argument("--procs", default="1,2,4,8", help="--compare: worker processes ('' skips)")
    ap.add_argument("--proc-slots", type=int, default=4)
    ap.add_argument("--backlog", type=int, default=100_000, help="--compare: 0 skips")
    ap.add_argument(
        "--sync-commit",
        choices=("off", "on"),
        default="off",
        help="--compare: synchronous_commit for all three (off: what Cliply's worker ships)",
    )
    ap.add_argument("--child-worker", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_worker:
        _equal_durability()
        _child_worker(args.child_worker)
        return
    engine = _setup()
    if args.compare:
        compare(engine, args)
        return
    args.jobs = args.jobs or 20_000
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
