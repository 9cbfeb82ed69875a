"""Steps the schedules domain leads across domains: a schedule becoming a post (the publish
job), the scan, and disconnecting an account (which ends its pending schedules).

Each domain's rows are written by its own service (schedules here, posts in
`publishing.service`, accounts in `accounts.service`); this module only sequences them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Final

import structlog
from sqlalchemy.orm import Session

from cliply.accounts import service as accounts
from cliply.accounts.models import ConnectedAccount
from cliply.clips.models import Clip
from cliply.db.engine import owner_session
from cliply.errors import CliplyError, NotFound, PermanentError, RetryableError
from cliply.jobs.registry import JobContext
from cliply.platforms.base import Platform, PublishTarget
from cliply.publishing import runner
from cliply.publishing import service as posts
from cliply.schedules import service as schedules

log = structlog.get_logger(__name__)

CLIP_PENDING: Final = ("queued", "rendering")
DEFAULT_MAX_ATTEMPTS: Final = 5


# --- disconnect ----------------------------------------------------------------------------------


def disconnect_account(
    db: Session, workspace_id: uuid.UUID, account_id: uuid.UUID, user_id: uuid.UUID | None
) -> ConnectedAccount:
    """Revoke and wipe the account, and fail its schedules that have not started."""
    account = accounts.disconnect(db, workspace_id, account_id, user_id)
    schedules.fail_pending_for_account(
        db, workspace_id, account.id, "The account was disconnected before publishing."
    )
    db.flush()
    return account


# --- the scan ------------------------------------------------------------------------------------


def scan(db: Session, *, limit: int = 200) -> schedules.ScanResult:
    """Queue due schedules; fail the posts of schedules whose publish job died."""
    result = schedules.scan_due(db, limit=limit)
    if result.repaired:
        posts.fail_unpublished(db, result.repaired)
    return result


# --- the publish job -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Ready:
    schedule_id: uuid.UUID
    target: PublishTarget
    render_key: str


@dataclass(frozen=True)
class _Refused:
    reason: str
    code: str


def _prepare(schedule_id: uuid.UUID, platform: Platform) -> _Ready | _Refused | dict[str, Any]:
    """Lock the schedule, open its post, check account and clip, count the attempt.
    A dict is the job's result when there is nothing to do."""
    with owner_session() as db:
        schedule = schedules.lock_runnable(db, schedule_id)
        if isinstance(schedule, str):
            skipped: dict[str, Any] = {"skipped": schedule}
            if schedule != "schedule-deleted":
                skipped["schedule_id"] = str(schedule_id)
            return skipped
        text = schedules.text_of(schedule)
        post = posts.open_post(
            db,
            posts.PostRequest(
                workspace_id=schedule.workspace_id,
                schedule_id=schedule.id,
                clip_id=schedule.clip_id,
                account_id=schedule.account_id,
                platform=platform.name,
                request={
                    "title": text.title,
                    "caption": text.caption,
                    "hashtags": list(text.hashtags),
                    "privacy": text.privacy,
                    "options": dict(text.options),
                },
            ),
        )
        if post.status == "published":
            schedules.mark(db, schedule.id, "published")
            return posts.result_of(post)
        try:
            account: ConnectedAccount | None = accounts.get_account(
                db, schedule.workspace_id, schedule.account_id
            )
        except NotFound:
            account = None
        clip = db.get(Clip, schedule.clip_id)
        refusal: tuple[str, str] | None = None
        if account is None:
            refusal = ("The connected account no longer exists.", "account-missing")
        elif account.platform != platform.name:
            refusal = (f"The account is a {account.platform} account.", "platform-mismatch")
        elif (why := accounts.usable_reason(account)) is not None:
            refusal = (why, "account-unusable")
        elif clip is None:
            refusal = ("The clip no longer exists.", "clip-missing")
        elif clip.status in CLIP_PENDING:
            raise RetryableError(
                f"The clip is still rendering ({clip.status}).", code="clip-rendering"
            )
        elif clip.status != "ready" or not clip.render_key:
            refusal = (f"The clip is not rendered (status {clip.status}).", "clip-not-rendered")
        if refusal is not None:
            schedules.mark(db, schedule.id, "failed", refusal[0])
            posts.fail_post(post, refusal[0])
            return _Refused(*refusal)
        assert account is not None and clip is not None and clip.render_key is not None
        posts.start_attempt(post)
        schedules.mark(db, schedule.id, "publishing")
        target = PublishTarget(
            post_id=post.id,
            account_id=account.id,
            account=accounts.account_ref(account),
            upload_ref=post.upload_ref,
            attempts=post.attempts,
            text=text,
            width=clip.width,
            height=clip.height,
            duration_s=max(clip.end_s - clip.start_s, 0.0),
        )
        return _Ready(schedule_id=schedule.id, target=target, render_key=clip.render_key)


def _record_failure(ready: _Ready, reason: str, *, final: bool) -> None:
    with owner_session() as db:
        if posts.record_failure(db, ready.target.post_id, reason, final=final) and final:
            schedules.mark(db, ready.schedule_id, "failed", reason)


def run_publish(ctx: JobContext, platform: Platform) -> dict[str, Any]:
    """The PUBLISH_<PLATFORM> job: one attempt at the schedule in the payload."""
    try:
        schedule_id = uuid.UUID(str(ctx.payload["schedule_id"]))
    except (KeyError, ValueError):
        raise PermanentError(
            "The job payload has no schedule_id.", code="invalid-payload"
        ) from None
    max_attempts = int(ctx.payload.get("max_attempts") or DEFAULT_MAX_ATTEMPTS)
    last_attempt = ctx.attempt >= max_attempts
    with runner.attempt_lock(schedule_id):
        ready = _prepare(schedule_id, platform)
        if isinstance(ready, dict):
            return ready
        if isinstance(ready, _Refused):
            raise PermanentError(ready.reason, code=ready.code)
        structlog.contextvars.bind_contextvars(post_id=str(ready.target.post_id))
        ctx.progress(0.05, "preparing")
        try:
            published = runner.attempt(ctx, platform, ready.target, ready.render_key)
        except CliplyError as exc:
            # The post records why; the error goes on unchanged to the worker, which
            # retries the job when it is retryable and fails it otherwise.
            final = not exc.retryable or last_attempt
            _record_failure(ready, f"{platform.name}: {exc.message}", final=final)
            if not final:
                log.warning("publish.retry", code=exc.code, error=exc.message, attempt=ctx.attempt)
            raise
        with owner_session() as db:
            result = posts.record_published(db, ready.target.post_id, published)
            schedules.mark(db, ready.schedule_id, "published")
        ctx.progress(1.0, "published")
        ctx.event("published", f"published on {platform.name}", **result)
        return result
