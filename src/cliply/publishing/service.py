"""Posts: what was published where (read side)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from cliply.db.pagination import paginate
from cliply.errors import NotFound
from cliply.publishing.models import Post


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
    return paginate(db, stmt, Post.created_at, Post.id, cursor, limit)


def get_post(db: Session, workspace_id: uuid.UUID, post_id: uuid.UUID) -> Post:
    post = db.scalar(select(Post).where(Post.id == post_id, Post.workspace_id == workspace_id))
    if post is None:
        raise NotFound("No such post.", code="post-not-found")
    return post
