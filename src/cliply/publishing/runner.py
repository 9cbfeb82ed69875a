"""One publish attempt: fetch the render, run the platform's flow, sort what went wrong.

`attempt_lock` is a PostgreSQL advisory lock per post source (held on its own connection
for the attempt, freed by the server if the worker dies): it keeps two workers from driving
the same post at once, e.g. when a slow worker's job was reclaimed as stale.
Failures come back as `AttemptFailed` (permanent or worth retrying); the caller records
them on its own rows.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from sqlalchemy import text

from cliply.accounts.service import AccountUnusable
from cliply.accounts.tokens import TokensUnreadable
from cliply.db.engine import get_engine
from cliply.errors import CliplyError
from cliply.integrations.oauth_common import IntegrationError
from cliply.jobs.registry import JobContext, RetryableError
from cliply.pipeline.config import work_root
from cliply.platforms.base import Platform, Published, PublishRefused, PublishTarget
from cliply.publishing.session import AttemptSession
from cliply.storage import ObjectNotFound, StorageError, app_storage

LOCK_WAIT_S: Final = 5.0


class AttemptFailed(CliplyError):
    """The attempt did not publish. `permanent`: retrying will not help."""

    status, code, title = 502, "publish-failed", "The post was not published"

    def __init__(self, message: str, code: str, *, permanent: bool) -> None:
        super().__init__(message, code=code)
        self.message = message
        self.permanent = permanent
        self.retryable = not permanent


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
    """Publish `target` on `platform`; raises AttemptFailed when it did not happen."""
    try:
        session = AttemptSession(platform.name, target.account_id, target.post_id, ctx)
        with _local_render(target.post_id, render_key) as (path, size):
            return platform.publish(target, path, size, session)
    except PublishRefused as exc:
        raise AttemptFailed(exc.message, exc.code, permanent=True) from None
    except (AccountUnusable, TokensUnreadable) as exc:
        raise AttemptFailed(exc.detail, exc.code, permanent=True) from None
    except ObjectNotFound:
        raise AttemptFailed(
            "The rendered clip file is missing from storage.", "render-missing", permanent=True
        ) from None
    except StorageError as exc:
        raise AttemptFailed(f"Storage error: {exc}", "storage-error", permanent=False) from None
    except IntegrationError as exc:
        message = f"{platform.name}: {exc.message}"
        raise AttemptFailed(message, exc.code, permanent=not exc.retryable) from None
