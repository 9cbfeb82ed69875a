"""`cliply worker`: claim jobs, run handlers in threads, heartbeat, reclaim, shut down cleanly.

One asyncio loop per process. The dispatcher claims as many jobs as there are free slots
(one round trip per claim, so several free slots are filled by one claim; one claim at a time,
and with few slots free it waits a moment for more); handlers run in a thread pool of `slots`
threads, so the loop (heartbeats, LISTEN, signals) never waits on them. Successes are written
in batches (one statement for the jobs that finished while the previous batch was written).
Queue bookkeeping runs on a separate small thread pool and connection pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import os
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import psycopg
import structlog
from pydantic import ValidationError
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from cliply import subprocs
from cliply.config import get_settings
from cliply.db.engine import database_url
from cliply.errors import CliplyError
from cliply.jobs import metrics, queue, scratch
from cliply.jobs.limits import CapCache
from cliply.jobs.queue import ClaimedJob, HandlerEvent
from cliply.jobs.registry import (
    CAPABILITIES,
    HANDLERS,
    INTERRUPTED,
    PERIODIC,
    HandlerSpec,
    JobCancelled,
    JobContext,
    ProgressSink,
    load_handlers,
)
from cliply.jobs.scheduler import Scheduler
from cliply.logging import configure

log = structlog.get_logger("cliply.worker")
T = TypeVar("T")

PROGRESS_MIN_INTERVAL_S = 0.2  # progress rows are written at most this often per job
# A job's outcome that cannot be written (database down) is retried this long, then left to
# stale reclamation; while shutting down, only until SHUTDOWN_DB_S past the grace period.
OUTCOME_RETRY_S = 600.0
OUTCOME_RETRY_MAX_DELAY_S = 1.0
SHUTDOWN_DB_S = 10.0
CHILD_STOP_S = 3.0  # a stopped job's tools get SIGTERM, then SIGKILL after this long
DB_CONNECT_TIMEOUT_S = 5  # no call waits longer for a database that does not answer
SUCCESS_BATCH_MAX = 200  # successes written per statement at most
# One claim at a time: two claims of one worker would contend for the same workspaces' claim
# locks (the second skips what the first holds), and a claim for all the slots freed meanwhile
# is one round trip instead of several.
MAX_CLAIMS_IN_FLIGHT = 1
CLAIM_GATHER_S = 0.002  # with under half the slots free and jobs running, wait this long


class WorkerConfigError(CliplyError):
    status, code, title = 400, "invalid-worker-config", "Invalid worker configuration"


@dataclass(frozen=True)
class WorkerOptions:
    kinds: tuple[str, ...]
    slots: int
    heartbeat_s: float
    stale_after_s: float
    poll_s: float
    grace_s: float
    with_scheduler: bool
    database_url: str
    worker_id: str = field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    )


def resolve_kinds(spec: str, handlers: Mapping[str, HandlerSpec]) -> tuple[str, ...]:
    """`cpu,publish` or `TRANSCRIBE,CLIP_RENDER` (or a mix) → the job kinds to claim."""
    tokens = [t.strip() for t in spec.split(",") if t.strip()]
    if not tokens:
        raise WorkerConfigError("Give at least one capability or job kind.")
    kinds: list[str] = []
    for token in tokens:
        if token.lower() in CAPABILITIES:
            kinds += sorted(k for k, h in handlers.items() if h.capability == token.lower())
        elif token in handlers:
            kinds.append(token)
        elif token.upper() in handlers:
            kinds.append(token.upper())
        else:
            raise WorkerConfigError(
                f"Unknown capability or job kind {token!r}. Capabilities: "
                f"{', '.join(CAPABILITIES)}; kinds: {', '.join(sorted(handlers)) or '(none)'}.",
                token=token,
            )
    return tuple(dict.fromkeys(kinds))


@dataclass
class _Outcome:
    status: str  # succeeded | failed | cancelled | dropped
    result: dict[str, Any] | None = None
    error: str = ""
    code: str = ""
    permanent: bool = False


def failure_outcome(exc: CliplyError) -> _Outcome:
    """The one mapping from an error to a job failure: a retryable error is retried with
    backoff while attempts remain; any other fails the job now. Code and message are kept."""
    return _Outcome("failed", error=exc.message, code=exc.code, permanent=not exc.retryable)


@dataclass
class _Claim:
    slots: int  # free slots it asked for
    carry: list[tuple[queue.Success, asyncio.Future[None]]]  # successes it writes first


@dataclass
class _Active:
    job: ClaimedJob
    ctx: JobContext  # ctx.stop_reason: cancelled | lost | timeout | shutdown
    task: asyncio.Task[None] | None = None
    recording: bool = False  # the handler ended; its outcome is being written


class Worker:
    def __init__(self, options: WorkerOptions, engine: Engine) -> None:
        self.o = options
        self.engine = engine
        # Single-statement bookkeeping runs without BEGIN/COMMIT round trips.
        self.autocommit = queue_engine(
            engine.url.render_as_string(hide_password=False),
            pool_size=engine.pool.size(),  # type: ignore[attr-defined]
            autocommit=True,
        )
        self.kind_set = frozenset(options.kinds)
        self.active: dict[uuid.UUID, _Active] = {}
        self.handler_pool = ThreadPoolExecutor(options.slots, thread_name_prefix="cliply-job")
        self.db_pool = ThreadPoolExecutor(min(options.slots, 8) + 2, thread_name_prefix="cliply-db")
        self.periodic_pool = ThreadPoolExecutor(2, thread_name_prefix="cliply-periodic")
        self.handlers_running = 0
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = asyncio.Event()
        self._hurry = asyncio.Event()  # a second signal: skip the grace period
        self._wake = asyncio.Event()
        self._slot_freed = asyncio.Event()
        self.claimed_total = 0
        self.caps = CapCache()
        # Successes waiting to be written (group commit): one statement records them all.
        self._done: list[tuple[queue.Success, asyncio.Future[None]]] = []
        self._freed = 0  # active jobs whose success is queued or being written
        self._flushing = False
        self._flush_task: asyncio.Task[None] | None = None  # held so it is not collected
        self._exit_by: float | None = None  # loop time by which a stopping worker gives up
        self._stopping_children: set[asyncio.Future[int]] = set()

    # --- plumbing ---------------------------------------------------------------------------

    async def _db(self, fn: Callable[..., T], *args: Any) -> T:
        """Run one single-statement queue operation (autocommit) on the bookkeeping pool."""

        def call() -> T:
            with self.autocommit.connect() as conn:
                return fn(conn, *args)

        assert self._loop is not None
        return await self._loop.run_in_executor(self.db_pool, call)

    async def _db_tx(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a multi-statement queue operation (the claim) in one transaction."""

        def call() -> T:
            with self.engine.begin() as conn:
                return fn(conn, *args)

        assert self._loop is not None
        return await self._loop.run_in_executor(self.db_pool, call)

    def request_stop(self, signum: int = 0) -> None:
        log.info("stop requested", signal=signum, again=self._stop.is_set())
        if self._stop.is_set():
            self._hurry.set()
        self._stop.set()
        self._wake.set()
        self._slot_freed.set()

    async def _sleep_or_stop(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)

    # --- main ----------------------------------------------------------------------------------

    async def run(self) -> int:
        self._loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._loop.add_signal_handler(sig, self.request_stop, int(sig))
        structlog.contextvars.bind_contextvars(worker_id=self.o.worker_id)
        log.info(
            "worker started",
            kinds=list(self.o.kinds),
            slots=self.o.slots,
            scheduler=self.o.with_scheduler,
        )
        if not self.o.kinds:
            log.warning("no handlers match this worker's kinds; it only runs periodic tasks")
        await self._maintain_once()  # stale jobs are reclaimed at start
        background = [
            asyncio.create_task(self._listen(), name="listen"),
            asyncio.create_task(self._heartbeats(), name="heartbeat"),
            asyncio.create_task(self._maintenance(), name="maintenance"),
        ]
        scheduler: Scheduler | None = None
        scheduler_task: asyncio.Task[None] | None = None
        if self.o.with_scheduler:
            scheduler = Scheduler(
                self.engine, PERIODIC, self.db_pool, self.periodic_pool, self.o.worker_id
            )
            scheduler_task = asyncio.create_task(scheduler.run(self._stop), name="scheduler")
        try:
            await self._dispatch()
        finally:
            await self._shutdown(background, scheduler, scheduler_task)
        return 0

    async def _shutdown(
        self,
        background: list[asyncio.Task[None]],
        scheduler: Scheduler | None,
        scheduler_task: asyncio.Task[None] | None,
    ) -> None:
        log.info("worker stopping", running=len(self.active), grace_s=self.o.grace_s)
        assert self._loop is not None
        self._exit_by = self._loop.time() + self.o.grace_s + SHUTDOWN_DB_S
        await self._wait_running(self.o.grace_s)
        if scheduler_task is not None:
            await scheduler_task
        if scheduler is not None:
            await scheduler.drain(max(0.0, self.o.grace_s))
        # Handlers still running past the grace period: stop them and their tools (which run
        # in their own sessions, so only we stop them) and hand their jobs back unharmed.
        left = [
            a
            for a in self.active.values()
            if a.task is not None and not a.task.done() and not a.recording
        ]
        for a in left:
            self._stop_job(a.job.id, "shutdown")
        if left:
            n = await self._write_outcome(
                "release", queue.release, self.o.worker_id, [a.job.id for a in left]
            )
            if n is not None:
                log.info("released jobs back to the queue", count=n)
        if self._stopping_children:
            await asyncio.wait(self._stopping_children, timeout=CHILD_STOP_S + 2.0)
        # Outcomes still being written (database away) get until _exit_by, stopped handlers
        # a moment to notice; then stale reclamation covers whatever is left.
        pending = [a.task for a in self.active.values() if a.task is not None and not a.task.done()]
        if pending:
            await asyncio.wait(pending, timeout=max(1.0, self._exit_by - self._loop.time()))
        for t in background:
            t.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        self.db_pool.shutdown(wait=True)
        self.autocommit.dispose()
        self.handler_pool.shutdown(wait=False, cancel_futures=True)
        self.periodic_pool.shutdown(wait=False, cancel_futures=True)
        log.info("worker stopped", claimed=self.claimed_total)

    async def _wait_running(self, limit_s: float) -> None:
        """Let running jobs finish, for up to `limit_s` or until a second stop signal."""
        assert self._loop is not None
        deadline = self._loop.time() + limit_s
        hurry = asyncio.create_task(self._hurry.wait())
        try:
            while not self._hurry.is_set():
                pending = {
                    a.task for a in self.active.values() if a.task is not None and not a.task.done()
                }
                remaining = deadline - self._loop.time()
                if not pending or remaining <= 0:
                    return
                await asyncio.wait(
                    {*pending, hurry}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                )
        finally:
            hurry.cancel()

    # --- claiming --------------------------------------------------------------------------------

    async def _dispatch(self) -> None:
        """Claim for free slots, MAX_CLAIMS_IN_FLIGHT claims at a time.

        A claim asks only for slots that are free and not already asked for by a claim in
        flight, so no claim ever takes more jobs than there are slots to run them. With fewer
        than half the slots free while jobs run, it first waits up to CLAIM_GATHER_S for more
        to free: one claim (one round trip) then fills many slots instead of one each.
        A finished job's success frees its slot at once and is written by the next claim, in
        its transaction (one round trip for both); with no claim to carry them, successes are
        written on their own.
        """
        failures = 0
        inflight: dict[asyncio.Task[tuple[set[uuid.UUID], queue.ClaimResult]], _Claim] = {}
        idle = False  # the last claim came up short: wait for a wake (or poll) first
        batch_min = max(1, self.o.slots // 2)
        hold_until: float | None = None  # gathering freed slots for one claim until then
        assert self._loop is not None
        stop = asyncio.create_task(self._stop.wait())
        try:
            while not self._stop.is_set():
                if not self.o.kinds:
                    await self._stop.wait()
                    break
                free = self.o.slots - self._occupied() - sum(c.slots for c in inflight.values())
                if free > 0 and len(inflight) < MAX_CLAIMS_IN_FLIGHT and not idle:
                    now = self._loop.time()
                    if free < batch_min and self._occupied() > 0:
                        # Few slots free and jobs still running: wait a moment for more to
                        # free, so one claim (one round trip) fills several slots.
                        hold_until = now + CLAIM_GATHER_S if hold_until is None else hold_until
                        if now < hold_until:
                            await self._wait_slot_freed(hold_until - now)
                            continue
                    hold_until = None
                    self._wake.clear()
                    carry = self._take_successes()
                    inflight[asyncio.create_task(self._claim(free, carry))] = _Claim(free, carry)
                    continue
                if self._done and not inflight:
                    self._flush_soon()  # no claim to carry them
                self._slot_freed.clear()
                helpers = [asyncio.create_task(self._slot_freed.wait())]
                if idle and not inflight:
                    helpers.append(asyncio.create_task(self._wake.wait()))
                done, _ = await asyncio.wait(
                    {*inflight, *helpers, stop},
                    timeout=self.o.poll_s if idle and not inflight else None,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                for h in helpers:
                    h.cancel()
                if not done or self._wake.is_set():
                    idle = False  # polled, or woken by NOTIFY or a freed slot
                for t in [t for t in inflight if t.done()]:
                    claim = inflight.pop(t)
                    exc = t.exception()
                    if exc is not None:
                        # Its successes are written on their own, retried through an outage.
                        self._done[:0] = claim.carry
                        if self._done:
                            self._flush_soon()
                        failures += 1
                        log.warning("claim failed", error=str(exc), failures=failures)
                        await self._sleep_or_stop(min(self.o.poll_s * failures, 30.0))
                        continue
                    failures = 0
                    _, result = t.result()
                    self._settle(claim.carry)
                    for job in result.jobs:
                        self._start(job)
                    if len(result.jobs) >= claim.slots:
                        continue
                    if result.retry_soon:
                        await asyncio.sleep(0.002)  # a cap cut it short: the next passes it over
                    elif not self._wake.is_set():
                        idle = True
        finally:
            stop.cancel()
            # Claims still in flight at stop: their jobs are ours, so run (or release) them.
            for t, claim in inflight.items():
                try:
                    _, result = await t
                except Exception:
                    self._done[:0] = claim.carry
                    continue
                self._settle(claim.carry)
                for job in result.jobs:
                    self._start(job)
            if self._done:
                self._flush_soon()

    async def _wait_slot_freed(self, within_s: float) -> None:
        self._slot_freed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._slot_freed.wait(), within_s)

    def _occupied(self) -> int:
        """Slots in use: active jobs, less those whose success only waits to be written."""
        return len(self.active) - self._freed

    def _take_successes(self) -> list[tuple[queue.Success, asyncio.Future[None]]]:
        carry, self._done = self._done[:SUCCESS_BATCH_MAX], self._done[SUCCESS_BATCH_MAX:]
        return carry

    @staticmethod
    def _settle(batch: list[tuple[queue.Success, asyncio.Future[None]]]) -> None:
        for _, fut in batch:
            if not fut.done():
                fut.set_result(None)

    async def _claim(
        self, free: int, carry: list[tuple[queue.Success, asyncio.Future[None]]]
    ) -> tuple[set[uuid.UUID], queue.ClaimResult]:
        t0 = time.perf_counter()
        result = await self._db(
            queue.succeed_and_claim,
            self.o.worker_id,
            [d for d, _ in carry],
            self.o.kinds,
            free,
            self.caps,
        )
        metrics.CLAIM_LATENCY.observe(time.perf_counter() - t0)
        return result

    def _start(self, job: ClaimedJob) -> None:
        self.claimed_total += 1
        ctx = JobContext(
            job_id=job.id,
            kind=job.kind,
            payload=job.payload if isinstance(job.payload, dict) else {},
            workspace_id=job.workspace_id,
            project_id=job.project_id,
            attempt=job.attempt,
            worker_id=self.o.worker_id,
        )
        active = _Active(job=job, ctx=ctx)
        ctx.sink = self._progress_sink(active)
        self.active[job.id] = active
        active.task = asyncio.create_task(self._run_job(active), name=f"job-{job.id}")

    # --- running -----------------------------------------------------------------------------------

    async def _run_job(self, a: _Active) -> None:
        job = a.job
        t0 = time.perf_counter()
        try:
            outcome = await self._execute(a)
            await self._record(a, outcome)
            elapsed = time.perf_counter() - t0
            metrics.finished(job.kind, outcome.status, elapsed)
            if outcome.status == "failed":
                metrics.JOB_FAILURES.labels(job.kind, outcome.code).inc()
        except Exception as exc:  # never let one job take the worker down
            log.exception("job bookkeeping failed", job_id=str(job.id), error=str(exc))
        finally:
            self.active.pop(job.id, None)
            self._slot_freed.set()
            self._wake.set()  # a slot is free (and a capped workspace may have room now)

    async def _execute(self, a: _Active) -> _Outcome:
        job, ctx = a.job, a.ctx
        spec = HANDLERS.get(job.kind)
        if spec is None:
            return _Outcome(
                "failed",
                error=f"No handler is registered for job kind {job.kind}.",
                code="unknown-kind",
                permanent=True,
            )
        if not isinstance(job.payload, dict):
            return _Outcome(
                "failed",
                error="The job payload is not a JSON object.",
                code="invalid-payload",
                permanent=True,
            )
        if job.cancel_requested:
            return _Outcome("cancelled", error="cancelled before it started")
        assert self._loop is not None
        timer = None
        if spec.timeout_s:
            timer = self._loop.call_later(spec.timeout_s, self._stop_job, job.id, "timeout")
        call = functools.partial(contextvars.copy_context().run, self._call_handler, spec, ctx)
        try:
            result = await self._loop.run_in_executor(self.handler_pool, call)
        except Exception as exc:
            # Stopped by the worker: the stop decides, whatever the handler raised on the way
            # out (a tool killed during shutdown is not a failure of the job).
            return self._stopped(spec, ctx.stop_reason) or self._failure(job, exc)
        finally:
            if timer is not None:
                timer.cancel()
        if result is not None and not isinstance(result, dict):
            return _Outcome(
                "failed",
                error=f"The handler returned {type(result).__name__}, not a dict or None.",
                code="invalid-result",
                permanent=True,
            )
        try:
            if result is not None:
                queue.dumps(result)
        except (TypeError, ValueError) as exc:
            return _Outcome(
                "failed",
                error=f"The handler's result is not JSON: {exc}",
                code="invalid-result",
                permanent=True,
            )
        return _Outcome("succeeded", result=result)

    @staticmethod
    def _stopped(spec: HandlerSpec, reason: str | None) -> _Outcome | None:
        if reason is None:
            return None
        if reason == "timeout":
            return _Outcome(
                "failed", error=f"Timed out after {spec.timeout_s:g} s.", code="timeout"
            )
        if reason in INTERRUPTED:
            return _Outcome("dropped", error=reason)
        return _Outcome("cancelled", error="cancelled while running")

    @staticmethod
    def _failure(job: ClaimedJob, exc: Exception) -> _Outcome:
        """The outcome of a handler that raised `exc` (the worker did not stop it)."""
        if isinstance(exc, JobCancelled):
            return _Outcome("cancelled", error="cancelled while running")
        if isinstance(exc, CliplyError):
            return failure_outcome(exc)
        if isinstance(exc, ValidationError):
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(payload)'}: {e['msg']}"
                for e in exc.errors()[:5]
            )
            return _Outcome(
                "failed",
                error=f"Invalid job payload: {problems}",
                code="invalid-payload",
                permanent=True,
            )
        log.warning(
            "handler raised",
            job_id=str(job.id),
            kind=job.kind,
            error=f"{type(exc).__name__}: {exc}",
        )
        return _Outcome("failed", error=f"{type(exc).__name__}: {exc}", code="handler-error")

    def _call_handler(self, spec: HandlerSpec, ctx: JobContext) -> dict[str, Any] | None:
        with self._lock:
            self.handlers_running += 1
        ctx.scratch_root = scratch.attempt_dir(ctx.job_id, ctx.attempt, self.o.worker_id)
        try:
            with (
                structlog.contextvars.bound_contextvars(
                    job_id=str(ctx.job_id),
                    job_kind=ctx.kind,
                    workspace_id=str(ctx.workspace_id) if ctx.workspace_id else None,
                ),
                subprocs.owned_by(ctx.job_id),  # its tools, for _stop_job to stop
            ):
                return spec.fn(ctx)
        finally:
            scratch.remove(ctx.scratch_root)  # the attempt is over, whatever its outcome
            with self._lock:
                self.handlers_running -= 1

    async def _record(self, a: _Active, outcome: _Outcome) -> None:
        job, ctx = a.job, a.ctx
        events = [
            HandlerEvent(at=at, event=e[0], message=e[1], data=e[2])
            for e, at in zip(ctx.events, ctx.event_times, strict=False)
        ]
        if outcome.status == "dropped":
            return
        a.recording = True
        if outcome.status == "succeeded":
            await self._record_success(queue.Success(job.id, job.attempt, outcome.result, events))
        elif outcome.status == "cancelled":
            await self._write_outcome(
                "cancelled",
                queue.mark_cancelled,
                job.id,
                self.o.worker_id,
                job.attempt,
                outcome.error,
                events,
            )
        else:
            await self._write_outcome(
                "failure",
                functools.partial(
                    queue.fail, code=outcome.code, permanent=outcome.permanent, events=events
                ),
                job.id,
                self.o.worker_id,
                job.attempt,
                outcome.error,
            )

    async def _write_outcome(self, what: str, fn: Callable[..., T], *args: Any) -> T | None:
        """Write a job outcome, retrying through a database outage (bounded: OUTCOME_RETRY_S,
        or until _exit_by while stopping); None when given up (stale reclamation redoes the
        job). Each write checks the job is still this attempt's, so a retry never doubles."""
        assert self._loop is not None
        give_up = self._loop.time() + OUTCOME_RETRY_S
        delay, failures = 0.1, 0
        while True:
            try:
                result = await self._db(fn, *args)
            except Exception as exc:
                failures += 1
                if failures == 1:
                    log.warning("could not write job outcome; retrying", what=what, error=str(exc))
                limit = give_up if self._exit_by is None else min(give_up, self._exit_by)
                if self._loop.time() + delay > limit:
                    log.error(
                        "gave up writing job outcome; stale reclamation will redo the job",
                        what=what,
                        failures=failures,
                        error=str(exc),
                    )
                    return None
                await asyncio.sleep(delay)
                delay = min(delay * 2, OUTCOME_RETRY_MAX_DELAY_S)
                continue
            if failures:
                log.info("job outcome written after retries", what=what, failures=failures)
            return result

    async def _record_success(self, done: queue.Success) -> None:
        """Queue a success for the next write; returns once it is written (or given up).

        Its slot is free from now on: the claim for it writes the success in its own
        transaction (see _dispatch). No timer: while one write is under way, the jobs finishing
        meanwhile gather for the next, so a busy worker writes many per trip.
        """
        assert self._loop is not None
        fut: asyncio.Future[None] = self._loop.create_future()
        self._done.append((done, fut))
        self._freed += 1
        try:
            self._slot_freed.set()
            self._wake.set()
            if self._stop.is_set():
                self._flush_soon()  # no more claims to carry it
            await fut
        finally:
            self._freed -= 1

    def _flush_soon(self) -> None:
        if not self._flushing:
            self._flushing = True
            self._flush_task = asyncio.create_task(self._flush_successes(), name="record-successes")

    async def _flush_successes(self) -> None:
        try:
            while self._done:
                batch, self._done = self._done[:SUCCESS_BATCH_MAX], self._done[SUCCESS_BATCH_MAX:]
                await self._write_outcome(
                    "successes", queue.succeed_many, self.o.worker_id, [d for d, _ in batch]
                )
                for _, fut in batch:
                    if not fut.done():
                        fut.set_result(None)
        finally:
            self._flushing = False
            for _, fut in self._done:  # only if this task was cancelled mid-way
                if not fut.done():
                    fut.set_result(None)
            self._done = []

    def _stop_job(self, job_id: uuid.UUID, reason: str) -> None:
        a = self.active.get(job_id)
        if a is None or a.recording:
            return
        if a.ctx.stop_reason is None:
            a.ctx.stop_reason = reason
        a.ctx.cancelled = True
        # Its tools (ffmpeg, …) run in their own sessions: stop them here, or a long one
        # would run on after its job, and past the worker's exit.
        assert self._loop is not None
        fut = self._loop.run_in_executor(None, subprocs.terminate, job_id, CHILD_STOP_S)
        self._stopping_children.add(fut)
        fut.add_done_callback(self._stopping_children.discard)

    def _progress_sink(self, a: _Active) -> ProgressSink:
        last = [0.0]

        def sink(job_id: uuid.UUID, fraction: float, message: str | None) -> bool:
            now = time.monotonic()
            if a.ctx.cancelled:
                return True
            if now - last[0] < PROGRESS_MIN_INTERVAL_S and fraction < 1.0:
                return False
            last[0] = now
            try:
                with self.autocommit.connect() as conn:
                    state = queue.progress(
                        conn, job_id, self.o.worker_id, a.job.attempt, fraction, message
                    )
            except Exception as exc:  # progress is best effort: the job goes on (db away)
                log.debug("progress not written", job_id=str(job_id), error=str(exc))
                return False
            if state is None:
                a.ctx.stop_reason = a.ctx.stop_reason or "lost"
                return True
            if state:
                a.ctx.stop_reason = a.ctx.stop_reason or "cancelled"
            return state

        return sink

    # --- background loops ----------------------------------------------------------------------

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.o.heartbeat_s)
            ids = list(self.active)
            if not ids:
                continue
            try:
                states = await self._db(queue.heartbeat, self.o.worker_id, ids)
            except Exception as exc:
                log.warning("heartbeat failed", error=str(exc))
                continue
            for job_id in ids:
                if job_id not in states:
                    if job_id in self.active:  # still running here but no longer ours
                        self._stop_job(job_id, "lost")
                elif states[job_id]:
                    self._stop_job(job_id, "cancelled")

    async def _maintain_once(self) -> None:
        try:
            # Never our own jobs: we are alive, so they are too (after an outage their
            # heartbeats and outcomes resume; reclaiming them would redo finished work).
            n = await self._db(
                functools.partial(
                    queue.reclaim_stale, except_worker=self.o.worker_id, after_restart=True
                ),
                self.o.stale_after_s,
                self.o.worker_id,
            )
            if n:
                metrics.JOBS_RECLAIMED.inc(n)
                log.info("reclaimed stale jobs", count=n)
                self._wake.set()
            m = await self._db(queue.fail_unknown_kinds, sorted(HANDLERS), self.o.worker_id)
            if m:
                log.warning("failed jobs of unknown kinds", count=m)
        except Exception as exc:
            log.warning("maintenance failed", error=str(exc))

    async def _maintenance(self) -> None:
        every = max(0.5, min(self.o.stale_after_s / 2, 30.0))
        while not self._stop.is_set():
            await self._sleep_or_stop(every)
            if not self._stop.is_set():
                await self._maintain_once()

    async def _listen(self) -> None:
        """LISTEN for new jobs; polling (poll_s) covers the gaps while reconnecting."""
        conninfo = (
            make_url(self.o.database_url)
            .set(drivername="postgresql")
            .render_as_string(hide_password=False)
        )
        backoff = 0.5
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(
                    conninfo, autocommit=True, connect_timeout=DB_CONNECT_TIMEOUT_S
                )
                async with conn:
                    await conn.execute(f"LISTEN {queue.NOTIFY_CHANNEL}")
                    backoff = 0.5
                    self._wake.set()  # catch up on anything queued while not listening
                    async for note in conn.notifies():
                        if note.payload in self.kind_set:
                            self._wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("LISTEN connection lost; polling meanwhile", error=str(exc))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)


def queue_engine(url: str, pool_size: int, *, autocommit: bool = False) -> Engine:
    """The worker's own pool for queue bookkeeping (claims, heartbeats, endings).

    Its commits are asynchronous (synchronous_commit=off): if PostgreSQL crashes, the last
    few hundred milliseconds of bookkeeping may be lost, but WAL order is kept, so the queue
    only goes back in time: a job looks still running (or queued) and runs again, which
    at-least-once handlers tolerate. Enqueues and handlers' own writes stay durable. No
    pre-ping: every caller retries or leaves the job to stale reclamation.
    """
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=False,
        pool_recycle=1800,
        # Bounded waits on a database that went away without closing the connection (TCP:
        # keepalives, and unacknowledged writes give up after tcp_user_timeout).
        connect_args={
            "connect_timeout": DB_CONNECT_TIMEOUT_S,
            "keepalives": 1,
            "keepalives_idle": 10,
            "keepalives_interval": 5,
            "keepalives_count": 3,
            "tcp_user_timeout": 30_000,
        },
    )

    # One pool per mode, fixed when each connection opens: the claim must never run in
    # autocommit (its row and workspace locks span two statements).
    @event.listens_for(engine, "connect")
    def _session_settings(dbapi_conn: Any, _record: Any) -> None:
        with dbapi_conn.cursor() as cur:
            cur.execute("SET TIME ZONE 'UTC'")
            cur.execute("SET synchronous_commit = off")
        dbapi_conn.commit()
        dbapi_conn.autocommit = autocommit

    return engine


def build_options(kinds: str, slots: int, with_scheduler: bool) -> WorkerOptions:
    s = get_settings()
    if slots < 1:
        raise WorkerConfigError("A worker needs at least one slot.")
    heartbeat = s.job_heartbeat_s
    if heartbeat * 2 > s.job_stale_after_s:
        raise WorkerConfigError(
            f"JOB_HEARTBEAT_S ({heartbeat:g}) must be at most half of JOB_STALE_AFTER_S "
            f"({s.job_stale_after_s:g}), or live jobs would be reclaimed."
        )
    return WorkerOptions(
        kinds=resolve_kinds(kinds, HANDLERS),
        slots=slots,
        heartbeat_s=heartbeat,
        stale_after_s=s.job_stale_after_s,
        poll_s=s.job_poll_s,
        grace_s=s.worker_shutdown_grace_s,
        with_scheduler=with_scheduler,
        database_url=database_url(s),
    )


def run_worker(kinds: str, slots: int, with_scheduler: bool) -> int:
    """Run a worker until SIGTERM/SIGINT; returns the process exit code."""
    s = get_settings()
    configure(s.log_level, s.log_json)
    extra = [m.strip() for m in s.cliply_extra_handler_modules.split(",") if m.strip()]
    try:
        load_handlers(extra)
        options = build_options(kinds, slots, with_scheduler)
    except WorkerConfigError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    except ImportError as exc:
        print(f"error: cannot import a handler module: {exc}", file=sys.stderr)
        return 2
    if s.worker_metrics_port:
        from prometheus_client import start_http_server

        start_http_server(s.worker_metrics_port)
    engine = queue_engine(options.database_url, pool_size=slots + 3)
    worker = Worker(options, engine)
    code = asyncio.run(worker.run())
    engine.dispose()
    if worker.handlers_running:
        # A handler ignored cancellation past the grace period; its job is already back in
        # the queue, so leave without waiting for its thread.
        log.warning("exiting with handlers still running", count=worker.handlers_running)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code
