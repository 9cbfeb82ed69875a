"""One publish attempt for one schedule: lock, prepare, fetch the render, run the platform
flow, record the outcome; the error goes on unchanged to the worker (retry or final failure).

A PostgreSQL advisory lock per schedule (held on its own connection for the attempt, freed
by the server if the worker dies) keeps two workers from driving the same post at once,
e.g. when a slow worker's job was reclaimed as stale.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

import structlog
from sqlalchemy import text

from cliply.db.engine import get_engine
from cliply.errors import CliplyError, PermanentError, RetryableError
from cliply.jobs.registry import JobContext
from cliply.pipeline.config import app_storage, work_root
from cliply.publishing.records import (
    Finished,
    NotYet,
    Published,
    Refused,
    Target,
    prepare,
    record_failure,
    record_published,
)
from cliply.storage import ObjectNotFound

log = structlog.get_logger(__name__)

Flow = Callable[[Target, Path, int, JobContext], Published]
LOCK_WAIT_S: Final = 5.0
DEFAULT_MAX_ATTEMPTS: Final = 5


def _lock_key(schedule_id: uuid.UUID) -> int:
    return int.from_bytes(schedule_id.bytes[:8], "big", signed=True)


@contextlib.contextmanager
def schedule_lock(schedule_id: uuid.UUID, wait_s: float = LOCK_WAIT_S) -> Iterator[None]:
    key = _lock_key(schedule_id)
    conn = get_engine().connect()
    try:
        deadline = time.monotonic() + wait_s
        while True:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
            conn.commit()
            if got:
                break
            # A dead worker's lock goes with its connection; a live one's means "busy".
            if time.monotonic() >= deadline:
                raise RetryableError(
                    "Another worker is publishing this schedule.", code="publish-in-progress"
                )
            time.sleep(0.1)
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()
    finally:
        conn.close()


@contextlib.contextmanager
def _local_render(target: Target) -> Iterator[tuple[Path, int]]:
    folder = work_root() / "publish"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{target.post_id}.mp4"
    try:
        app_storage().get_to_file(target.render_key, path)
        yield path, path.stat().st_size
    finally:
        path.unlink(missing_ok=True)


def _final(target: Target, message: str, code: str) -> PermanentError:
    record_failure(target, message, final=True)
    return PermanentError(message, code=code)


def run_publish(ctx: JobContext, platform: str, flow: Flow) -> dict[str, Any]:
    try:
        schedule_id = uuid.UUID(str(ctx.payload["schedule_id"]))
    except (KeyError, ValueError):
        raise PermanentError(
            "The job payload has no schedule_id.", code="invalid-payload"
        ) from None
    max_attempts = int(ctx.payload.get("max_attempts") or DEFAULT_MAX_ATTEMPTS)
    last_attempt = ctx.attempt >= max_attempts
    with schedule_lock(schedule_id):
        prepared = prepare(schedule_id, platform)
        if isinstance(prepared, Finished):
            return prepared.result
        if isinstance(prepared, Refused):
            raise PermanentError(prepared.reason, code=prepared.code)
        if isinstance(prepared, NotYet):
            raise RetryableError(prepared.reason, code=prepared.code)
        target = prepared
        structlog.contextvars.bind_contextvars(post_id=str(target.post_id))
        ctx.progress(0.05, "preparing")
        try:
            with _local_render(target) as (path, size):
                published = flow(target, path, size, ctx)
        except ObjectNotFound:
            raise _final(
                target, "The rendered clip file is missing from storage.", "render-missing"
            ) from None
        except CliplyError as exc:
            # The post records why it stopped; the error goes on unchanged to the worker,
            # which retries the job when it is retryable and fails it otherwise.
            final = not exc.retryable or last_attempt
            record_failure(target, f"{platform}: {exc.message}", final=final)
            if not final:
                log.warning("publish.retry", code=exc.code, error=exc.message, attempt=ctx.attempt)
            raise
        result = record_published(target, published)
        ctx.progress(1.0, "published")
        ctx.event("published", f"published on {platform}", **result)
        return result
