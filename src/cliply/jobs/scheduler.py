"""Periodic tasks: each registered task runs once per tick across every process.

A tick is the latest scheduled time at or before now (every_s: multiples of the interval
since the epoch; cron: croniter's previous match, UTC). The process that moves
`periodic_tasks.last_tick` forward in one upsert (row lock, re-checked condition) runs it;
everyone else sees the tick taken. A tick is skipped while the previous run of the same
task is still going (unless that run started over an hour ago: its process died).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import math
import time
import traceback
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import structlog
from croniter import croniter
from sqlalchemy import Connection, Engine, text

from cliply.jobs.registry import PeriodicSpec

log = structlog.get_logger("cliply.scheduler")

STUCK_AFTER_S = 3600.0
_current_tick: contextvars.ContextVar[datetime | None] = contextvars.ContextVar(
    "cliply_periodic_tick", default=None
)
T = TypeVar("T")


def current_tick() -> datetime | None:
    """Inside a periodic task: the tick it runs for."""
    return _current_tick.get()


def tick_for(spec: PeriodicSpec, now: datetime) -> datetime:
    """The latest tick of `spec` at or before `now`."""
    if spec.every_s is not None:
        t = math.floor(now.timestamp() / spec.every_s) * spec.every_s
        return datetime.fromtimestamp(t, UTC)
    assert spec.cron is not None
    prev: datetime = croniter(spec.cron, now + timedelta(milliseconds=1)).get_prev(datetime)
    return prev.astimezone(UTC)


def next_tick(spec: PeriodicSpec, now: datetime) -> datetime:
    if spec.every_s is not None:
        return tick_for(spec, now) + timedelta(seconds=spec.every_s)
    assert spec.cron is not None
    nxt: datetime = croniter(spec.cron, now).get_next(datetime)
    return nxt.astimezone(UTC)


def claim_tick(conn: Connection, name: str, tick: datetime) -> bool:
    """Take `tick` of task `name` for this process; False if someone has it (or is running)."""
    row = conn.execute(
        text("""
        INSERT INTO periodic_tasks (name, last_tick, last_started_at, run_count)
        VALUES (:name, :tick, now(), 1)
        ON CONFLICT (name) DO UPDATE SET
          last_tick = EXCLUDED.last_tick, last_started_at = now(),
          run_count = periodic_tasks.run_count + 1
        WHERE (periodic_tasks.last_tick IS NULL OR periodic_tasks.last_tick < EXCLUDED.last_tick)
          AND (periodic_tasks.last_started_at IS NULL
               OR periodic_tasks.last_finished_at >= periodic_tasks.last_started_at
               OR periodic_tasks.last_started_at < now() - make_interval(secs => :stuck))
        RETURNING name"""),
        {"name": name, "tick": tick, "stuck": STUCK_AFTER_S},
    ).first()
    return row is not None


def tick_taken(conn: Connection, name: str, tick: datetime) -> bool:
    row = conn.execute(
        text("SELECT last_tick FROM periodic_tasks WHERE name = :name"), {"name": name}
    ).first()
    return row is not None and row[0] is not None and row[0] >= tick


def finish_tick(conn: Connection, name: str, error: str | None) -> None:
    conn.execute(
        text("""
        UPDATE periodic_tasks SET last_finished_at = now(), last_error = :error
        WHERE name = :name"""),
        {"name": name, "error": error},
    )


class Scheduler:
    """Runs due periodic tasks in `executor` threads until `stop` is set."""

    def __init__(
        self,
        engine: Engine,
        specs: Mapping[str, PeriodicSpec],
        db_executor: Executor,
        task_executor: Executor,
        owner: str,
    ) -> None:
        self.engine = engine
        self.specs = dict(specs)
        self.db_executor = db_executor
        self.task_executor = task_executor
        self.owner = owner
        self._done_for: dict[str, datetime] = {}
        self._retry_at: dict[str, float] = {}
        self._running: dict[str, asyncio.Task[None]] = {}

    async def _db(self, fn: Callable[..., T], *args: Any) -> T:
        def call() -> T:
            with self.engine.begin() as conn:
                return fn(conn, *args)

        return await asyncio.get_running_loop().run_in_executor(self.db_executor, call)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            now = datetime.now(UTC)
            for name, spec in self.specs.items():
                if name in self._running or self._retry_at.get(name, 0.0) > time.monotonic():
                    continue
                tick = tick_for(spec, now)
                if self._done_for.get(name, datetime.min.replace(tzinfo=UTC)) >= tick:
                    continue
                try:
                    if await self._db(claim_tick, name, tick):
                        self._done_for[name] = tick
                        self._running[name] = asyncio.create_task(self._run_one(spec, tick))
                    elif await self._db(tick_taken, name, tick):
                        self._done_for[name] = tick
                    else:  # the previous run is still going somewhere: look again soon
                        self._retry_at[name] = time.monotonic() + 5.0
                except Exception as exc:  # database away: try again shortly
                    log.warning("periodic claim failed", task=name, error=str(exc))
                    self._retry_at[name] = time.monotonic() + 5.0
            wait = 5.0
            if self.specs:
                soonest = min(next_tick(s, now) for s in self.specs.values())
                wait = max(0.05, min(5.0, (soonest - datetime.now(UTC)).total_seconds()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=wait)

    async def _run_one(self, spec: PeriodicSpec, tick: datetime) -> None:
        error: str | None = None
        ctx = contextvars.copy_context()
        ctx.run(_current_tick.set, tick)
        structlog_ctx = {"periodic_task": spec.name, "tick": tick.isoformat()}
        try:
            await asyncio.get_running_loop().run_in_executor(
                self.task_executor, lambda: ctx.run(_call_periodic, spec, structlog_ctx)
            )
        except Exception as exc:
            error = "".join(traceback.format_exception_only(exc)).strip()[:2000]
            log.error("periodic task failed", task=spec.name, error=error)
        finally:
            try:
                await self._db(finish_tick, spec.name, error)
            except Exception as exc:
                log.warning("periodic finish not recorded", task=spec.name, error=str(exc))
            self._running.pop(spec.name, None)

    async def drain(self, limit_s: float) -> None:
        """Wait (up to `limit_s`) for periodic tasks that are running."""
        tasks = list(self._running.values())
        if tasks:
            await asyncio.wait(tasks, timeout=limit_s)


def _call_periodic(spec: PeriodicSpec, bind: dict[str, str]) -> None:
    with structlog.contextvars.bound_contextvars(**bind):
        spec.fn()
