"""One publish attempt: fetch the render, run the platform's flow, sort what went wrong.

`attempt_lock` is a PostgreSQL advisory lock per post source (held on its own connection
for the attempt, freed by the server if the worker dies): it keeps two workers from driving
the same post at once, e.g. when a slow worker's job was reclaimed as stale.
Failures are raised unchanged (`CliplyError`, retryable or not); the caller records them on
its own rows.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from sqlalchemy import text

from cliply.db.engine import get_engine
from cliply.errors import PermanentError, RetryableError
from cliply.jobs.registry import JobContext
from cliply.pipeline.config import work_root
from cliply.platforms.base import Platform, Published, PublishTarget
from cliply.publishing.session import AttemptSession
from cliply.storage import ObjectNotFound, app_storage

LOCK_WAIT_S: Final = 5.0


def _lock_key(key: uuid.UUID) -> int:
    return int.from_bytes(key.bytes[:8], "big", signed=True)


@contextlib.contextmanager
def attempt_lock(key: uuid.UUID, wait_s: float = LOCK_WAIT_S) -> Iterator[None]:
    lock = _lock_key(key)
    conn = get_engine().connect()
    try:
        deadline = time.monotonic() + wait_s
        while True:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": lock}).scalar())
            conn.commit()
            if got:
                break
            # A dead worker's lock goes with its connection; a live one's means "busy".
            if time.monotonic() >= deadline:
                raise RetryableError(
                    "Another worker is publishing this post.", code="publish-in-progress"
                )
            time.sleep(0.1)
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock})
            conn.commit()
    finally:
        conn.close()


@contextlib.contextmanager
def _local_render(post_id: uuid.UUID, render_key: str) -> Iterator[tuple[Path, int]]:
    folder = work_root() / "publish"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{post_id}.mp4"
    try:
        app_storage().get_to_file(render_key, path)
        yield path, path.stat().st_size
    finally:
        path.unlink(missing_ok=True)


def attempt(
    ctx: JobContext, platform: Platform, target: PublishTarget, render_key: str
) -> Published:
    """Publish `target` on `platform`. What goes wrong is raised unchanged (a `CliplyError`:
    retryable or not); only a missing render is named here, as `render-missing`."""
    session = AttemptSession(platform.name, target.account_id, target.post_id, ctx)
    try:
        with _local_render(target.post_id, render_key) as (path, size):
            return platform.publish(target, path, size, session)
    except ObjectNotFound:
        raise PermanentError(
            "The rendered clip file is missing from storage.", code="render-missing"
        ) from None
