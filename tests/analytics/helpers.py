"""Helpers for the analytics tests: published posts without the upload, measurements due."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from cliply.analytics.models import PostMetric, PostMetricState
from cliply.db.engine import owner_session
from cliply.publishing.models import Post


def add_posts(
    workspace_id: uuid.UUID,
    clip_id: uuid.UUID | None,
    account_id: str | uuid.UUID,
    platform: str,
    external_ids: list[str],
    *,
    age: timedelta = timedelta(hours=1),
) -> list[uuid.UUID]:
    """Posts already published on `platform` (as the publish flow leaves them)."""
    at = datetime.now(UTC) - age
    with owner_session() as db:
        rows = [
            Post(
                workspace_id=workspace_id,
                clip_id=clip_id,
                account_id=uuid.UUID(str(account_id)),
                platform=platform,
                status="published",
                platform_post_id=ext,
                published_at=at,
            )
            for ext in external_ids
        ]
        db.add_all(rows)
        db.flush()
        return [r.id for r in rows]


def make_all_due() -> None:
    """Time passes: every measured post is due again."""
    with owner_session() as db:
        db.execute(
            update(PostMetricState)
            .where(PostMetricState.next_due_at.is_not(None))
            .values(next_due_at=datetime.now(UTC) - timedelta(seconds=1))
        )


def snapshots(post_id: uuid.UUID) -> list[dict[str, Any]]:
    with owner_session() as db:
        rows = db.scalars(
            select(PostMetric)
            .where(PostMetric.post_id == post_id)
            .order_by(PostMetric.collected_at)
        )
        return [
            {"views": r.views, "likes": r.likes, "comments": r.comments, "shares": r.shares}
            for r in rows
        ]


def snapshot_count(workspace_id: uuid.UUID) -> int:
    with owner_session() as db:
        return len(
            list(db.scalars(select(PostMetric.id).where(PostMetric.workspace_id == workspace_id)))
        )


def state(post_id: uuid.UUID) -> PostMetricState | None:
    with owner_session() as db:
        return db.get(PostMetricState, post_id)
