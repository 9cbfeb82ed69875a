"""Helpers for the experiments tests: published posts of a variant with measured views."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from cliply.analytics.models import PostMetric
from cliply.db.engine import owner_session
from cliply.jobs.models import Job
from cliply.schedules.models import Schedule
from tests.analytics.helpers import add_posts


def measured_post(
    workspace_id: uuid.UUID,
    clip_id: str | uuid.UUID,
    account_id: str | uuid.UUID,
    platform: str,
    *,
    views: int,
    age: timedelta = timedelta(hours=2),
    likes: int = 0,
) -> uuid.UUID:
    """A published post of the clip, measured now with `views` (as METRICS_COLLECT leaves it)."""
    (post_id,) = add_posts(
        workspace_id, uuid.UUID(str(clip_id)), account_id, platform, [uuid.uuid4().hex], age=age
    )
    with owner_session() as db:
        db.add(
            PostMetric(
                workspace_id=workspace_id,
                post_id=post_id,
                views=views,
                likes=likes,
                collected_at=datetime.now(UTC),
            )
        )
    return post_id


def schedules_of(clip_ids: list[str]) -> list[Any]:
    with owner_session() as db:
        return list(
            db.scalars(
                select(Schedule)
                .where(Schedule.clip_id.in_([uuid.UUID(c) for c in clip_ids]))
                .order_by(Schedule.scheduled_at)
            )
        )


def jobs_of(kind: str) -> list[Job]:
    with owner_session() as db:
        return list(db.scalars(select(Job).where(Job.kind == kind).order_by(Job.created_at)))
