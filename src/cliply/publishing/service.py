"""Posts: the one module that writes the posts table, and the read side for the API.

The write helpers that take no session run their own short transaction and commit before
returning, so what they record survives a crash of the worker right after: above all the
platform's upload reference, which is written before any byte is sent, and read back by the
next attempt to resume or check the existing upload instead of starting a second one.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Select, Subquery, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from cliply.db.engine import owner_session
from cliply.db.pagination import paginate
from cliply.errors import NotFound
from cliply.platforms.base import Published
from cliply.publishing.models import Post


@dataclass(frozen=True)
class PostRequest:
    """What a post is made from (a schedule, for now): one post per `schedule_id`."""

    workspace_id: uuid.UUID
    schedule_id: uuid.UUID
    clip_id: uuid.UUID
    account_id: uuid.UUID
    platform: str
    request: dict[str, Any]


def list_posts(
    db: Session,
    workspace_id: uuid.UUID,
    *,
    clip_id: uuid.UUID | None = None,
    account_id: uuid.UUID | None = None,
    status: str | None = None,
    platform: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[Post], str | None]:
    stmt: Select[Any] = select(Post).where(Post.workspace_id == workspace_id)
    if clip_id is not None:
        stmt = stmt.where(Post.clip_id == clip_id)
    if account_id is not None:
        stmt = stmt.where(Post.account_id == account_id)
    if status is not None:
        stmt = stmt.where(Post.status == status)
    if platform is not None:
        stmt = stmt.where(Post.platform == platform)
    return paginate(db, stmt, (Post.created_at, Post.id), cursor, limit)


def get_post(db: Session, workspace_id: uuid.UUID, post_id: uuid.UUID) -> Post:
    post = db.scalar(select(Post).where(Post.id == post_id, Post.workspace_id == workspace_id))
    if post is None:
        raise NotFound("No such post.", code="post-not-found")
    return post


def posts_for_schedules(db: Session, schedule_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Post]:
    if not schedule_ids:
        return {}
    out: dict[uuid.UUID, Post] = {}
    for post in db.scalars(select(Post).where(Post.schedule_id.in_(schedule_ids))):
        if post.schedule_id is not None:
            out[post.schedule_id] = post
    return out


def result_of(post: Post) -> dict[str, Any]:
    return {
        "post_id": str(post.id),
        "platform_post_id": post.platform_post_id,
        "url": post.url,
        "status": post.status,
    }


# --- writes inside the caller's transaction --------------------------------------------------


def open_post(db: Session, req: PostRequest) -> Post:
    """The post of `req.schedule_id`, created on first use (the unique key makes it one),
    locked for the caller's transaction."""
    db.execute(
        insert(Post)
        .values(
            workspace_id=req.workspace_id,
            schedule_id=req.schedule_id,
            clip_id=req.clip_id,
            account_id=req.account_id,
            platform=req.platform,
            status="pending",
            request=req.request,
        )
        .on_conflict_do_nothing(index_elements=["schedule_id"])
    )
    post = db.scalar(select(Post).where(Post.schedule_id == req.schedule_id).with_for_update())
    assert post is not None
    return post


def start_attempt(post: Post) -> None:
    post.attempts += 1
    if post.status in ("pending", "failed"):
        post.status = "uploading"


def fail_post(post: Post, reason: str) -> None:
    if post.status != "published":
        post.status, post.error = "failed", reason[:2000]


def record_published(db: Session, post_id: uuid.UUID, published: Published) -> dict[str, Any]:
    post = db.get(Post, post_id, with_for_update=True)
    assert post is not None
    post.status, post.error = "published", None
    post.platform_post_id = published.platform_post_id
    post.url = published.url
    post.published_at = post.published_at or datetime.now(UTC)
    return result_of(post)


def record_failure(db: Session, post_id: uuid.UUID, reason: str, *, final: bool) -> bool:
    """Keep the error on the post (a final failure fails it). False: it is published."""
    post = db.get(Post, post_id, with_for_update=True)
    if post is None or post.status == "published":
        return False
    post.error = reason[:2000]
    if final:
        post.status = "failed"
    return True


def fail_unpublished(db: Session, errors: Mapping[uuid.UUID, str]) -> int:
    """Fail the unpublished posts of these schedules with their schedule's error."""
    n = 0
    for schedule_id, error in errors.items():
        result = db.execute(
            update(Post)
            .where(Post.schedule_id == schedule_id, Post.status != "published")
            .values(status="failed", error=error[:2000])
        )
        n += int(cast(CursorResult[Any], result).rowcount or 0)
    return n


# --- writes committed at once (during an attempt) ----------------------------------------------


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


# --- the read side analytics measures, and what it tells back ---------------------------------


def measurable_posts(since: datetime) -> Subquery:
    """Published posts still shown by their platform, published at or after `since`: a
    subquery (id, workspace_id, account_id, platform, platform_post_id, published_at, and
    privacy: the audience it was published to) for the metrics collector to filter and join."""
    return (
        select(
            Post.id,
            Post.workspace_id,
            Post.account_id,
            Post.platform,
            Post.platform_post_id,
            Post.published_at,
            Post.request["privacy"].astext.label("privacy"),
        )
        .where(
            Post.status == "published",
            Post.platform_post_id.is_not(None),
            Post.account_id.is_not(None),
            Post.gone_at.is_(None),
            Post.published_at >= since,
        )
        .subquery()
    )


def posts_by_ids(db: Session, workspace_id: uuid.UUID, post_ids: Sequence[uuid.UUID]) -> list[Post]:
    if not post_ids:
        return []
    return list(
        db.scalars(select(Post).where(Post.workspace_id == workspace_id, Post.id.in_(post_ids)))
    )


def mark_gone(db: Session, post_id: uuid.UUID, when: datetime, reason: str | None = None) -> None:
    """The platform no longer shows the post: `reason` deleted, private, or unavailable (the
    platform left it out without saying which)."""
    db.execute(
        update(Post)
        .where(Post.id == post_id, Post.gone_at.is_(None))
        .values(gone_at=when, gone_reason=reason)
    )
