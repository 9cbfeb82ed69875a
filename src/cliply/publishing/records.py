"""The database side of publishing: the Post row that makes posting exactly-once.

Each function runs its own short transaction and commits before returning, so what it
records survives a crash of the worker right after: above all the platform's upload
reference, which is written before any byte is sent, and read back by the next attempt to
resume or check the existing upload instead of starting a second one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from cliply.accounts.models import ConnectedAccount
from cliply.accounts.service import usable_reason
from cliply.clips.models import Clip
from cliply.db.engine import owner_session
from cliply.publishing.models import Post
from cliply.schedules.models import Schedule

RUNNABLE: Final = ("queued", "publishing")
CLIP_PENDING: Final = ("queued", "rendering")


@dataclass(frozen=True)
class Target:
    """Everything a platform flow needs, read when the attempt starts."""

    post_id: uuid.UUID
    schedule_id: uuid.UUID
    workspace_id: uuid.UUID
    account_id: uuid.UUID
    platform: str
    render_key: str
    upload_ref: str | None
    attempts: int  # this attempt included
    title: str
    caption: str
    hashtags: tuple[str, ...]
    privacy: str
    options: dict[str, Any] = field(default_factory=dict)
    width: int | None = None
    height: int | None = None
    duration_s: float = 0.0


@dataclass(frozen=True)
class Published:
    platform_post_id: str | None
    url: str | None


@dataclass(frozen=True)
class Finished:
    """Nothing to do: the schedule was cancelled, or the post already exists."""

    result: dict[str, Any]


@dataclass(frozen=True)
class Refused:
    """The schedule cannot be published (recorded as failed); `code` is stable."""

    reason: str
    code: str


@dataclass(frozen=True)
class NotYet:
    """Come back later (the clip is still rendering)."""

    reason: str
    code: str


def _now() -> datetime:
    return datetime.now(UTC)


def _post_for(db: Session, schedule: Schedule, platform: str) -> Post:
    """The schedule's Post, created on first use (the unique schedule_id makes it one)."""
    db.execute(
        insert(Post)
        .values(
            workspace_id=schedule.workspace_id,
            schedule_id=schedule.id,
            clip_id=schedule.clip_id,
            account_id=schedule.account_id,
            platform=platform,
            status="pending",
            request={
                "title": schedule.title,
                "caption": schedule.caption,
                "hashtags": list(schedule.hashtags or []),
                "privacy": schedule.privacy,
                "options": dict(schedule.options or {}),
            },
        )
        .on_conflict_do_nothing(index_elements=["schedule_id"])
    )
    post = db.scalar(select(Post).where(Post.schedule_id == schedule.id).with_for_update())
    assert post is not None
    return post


def _fail(schedule: Schedule, post: Post, reason: str) -> None:
    schedule.status, schedule.error = "failed", reason
    post.status, post.error = "failed", reason


def prepare(schedule_id: uuid.UUID, platform: str) -> Target | Finished | Refused | NotYet:
    """Lock the schedule, create or load its Post, check clip and account, count the attempt."""
    with owner_session() as db:
        schedule = db.scalar(select(Schedule).where(Schedule.id == schedule_id).with_for_update())
        if schedule is None:
            return Finished({"skipped": "schedule-deleted"})
        if schedule.status not in RUNNABLE:
            return Finished({"skipped": schedule.status, "schedule_id": str(schedule.id)})
        post = _post_for(db, schedule, platform)
        if post.status == "published":
            schedule.status, schedule.error = "published", None
            return Finished(_result(post))
        account = db.get(ConnectedAccount, schedule.account_id)
        clip = db.get(Clip, schedule.clip_id)
        refusal: tuple[str, str] | None = None
        if account is None or account.workspace_id != schedule.workspace_id:
            refusal = ("The connected account no longer exists.", "account-missing")
        elif account.platform != platform:
            refusal = (f"The account is a {account.platform} account.", "platform-mismatch")
        elif (why := usable_reason(account)) is not None:
            refusal = (why, "account-unusable")
        elif clip is None:
            refusal = ("The clip no longer exists.", "clip-missing")
        elif clip.status in CLIP_PENDING:
            return NotYet(f"The clip is still rendering ({clip.status}).", "clip-rendering")
        elif clip.status != "ready" or not clip.render_key:
            refusal = (f"The clip is not rendered (status {clip.status}).", "clip-not-rendered")
        if refusal is not None:
            _fail(schedule, post, refusal[0])
            return Refused(*refusal)
        assert clip is not None and clip.render_key is not None
        post.attempts += 1
        if post.status in ("pending", "failed"):
            post.status = "uploading"
        schedule.status, schedule.error = "publishing", None
        return Target(
            post_id=post.id,
            schedule_id=schedule.id,
            workspace_id=schedule.workspace_id,
            account_id=schedule.account_id,
            platform=platform,
            render_key=clip.render_key,
            upload_ref=post.upload_ref,
            attempts=post.attempts,
            title=schedule.title,
            caption=schedule.caption,
            hashtags=tuple(schedule.hashtags or ()),
            privacy=schedule.privacy,
            options=dict(schedule.options or {}),
            width=clip.width,
            height=clip.height,
            duration_s=max(clip.end_s - clip.start_s, 0.0),
        )


def _result(post: Post) -> dict[str, Any]:
    return {
        "post_id": str(post.id),
        "platform_post_id": post.platform_post_id,
        "url": post.url,
        "status": post.status,
    }


def record_upload_ref(post_id: uuid.UUID, upload_ref: str, status: str = "uploading") -> None:
    """Committed before the upload starts: the key a retry uses to resume or check."""
    with owner_session() as db:
        post = db.get(Post, post_id, with_for_update=True)
        assert post is not None
        post.upload_ref, post.status = upload_ref, status


def record_status(post_id: uuid.UUID, status: str) -> None:
    with owner_session() as db:
        post = db.get(Post, post_id, with_for_update=True)
        if post is not None and post.status != "published":
            post.status = status


def record_published(target: Target, published: Published) -> dict[str, Any]:
    with owner_session() as db:
        post = db.get(Post, target.post_id, with_for_update=True)
        schedule = db.get(Schedule, target.schedule_id, with_for_update=True)
        assert post is not None
        post.status, post.error = "published", None
        post.platform_post_id = published.platform_post_id
        post.url = published.url
        post.published_at = post.published_at or _now()
        if schedule is not None:
            schedule.status, schedule.error = "published", None
        return _result(post)


def record_failure(target: Target, reason: str, *, final: bool) -> None:
    """Keep the error on the post; a final failure also fails the schedule."""
    with owner_session() as db:
        post = db.get(Post, target.post_id, with_for_update=True)
        schedule = db.get(Schedule, target.schedule_id, with_for_update=True)
        if post is None or post.status == "published":
            return
        post.error = reason[:2000]
        if final:
            post.status = "failed"
            if schedule is not None and schedule.status in RUNNABLE:
                schedule.status, schedule.error = "failed", reason[:2000]
