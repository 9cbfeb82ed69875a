"""Published posts and their measurements, put straight into the Studio server's database for
the analytics pages: accounts, scored clips, posts, and snapshots written by the analytics
service's own `record_readings` (the collector's write path) at chosen moments."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update

from cliply.accounts.models import ConnectedAccount
from cliply.analytics import service
from cliply.analytics.models import PostMetricState
from cliply.clips.models import Clip
from cliply.highlights.scoring import DEFAULT_WEIGHTS
from cliply.platforms.base import PostMetrics
from cliply.projects.models import Project
from cliply.publishing.models import Post
from tests.web.seed import _session


def account(studio: Any, workspace_id: uuid.UUID, platform: str, name: str) -> uuid.UUID:
    """A connected account (no tokens: the pages only need its name)."""
    aid = uuid.uuid4()
    with _session(studio) as db, db.begin():
        db.add(
            ConnectedAccount(
                id=aid,
                workspace_id=workspace_id,
                platform=platform,
                external_id=f"ext-{aid.hex[:12]}",
                display_name=name,
                status="active",
            )
        )
    return aid


def scored_clips(
    studio: Any, workspace_id: uuid.UUID, features: Sequence[Mapping[str, float]]
) -> list[uuid.UUID]:
    """One clip per feature set, scored by the default weights (as detection would)."""
    pid = uuid.uuid4()
    ids: list[uuid.UUID] = []
    with _session(studio) as db, db.begin():
        db.add(
            Project(id=pid, workspace_id=workspace_id, name="Analytics talk", source_type="upload")
        )
        db.flush()
        for i, feats in enumerate(features):
            cid = uuid.uuid4()
            reasons = [
                {
                    "name": n,
                    "value": round(feats[n], 4),
                    "weight": w,
                    "points": round(100 * w * feats[n], 2),
                }
                for n, w in DEFAULT_WEIGHTS.items()
            ]
            db.add(
                Clip(
                    id=cid,
                    workspace_id=workspace_id,
                    project_id=pid,
                    rank=i + 1,
                    start_s=float(i * 10),
                    end_s=float(i * 10 + 8),
                    title=f"Clip {i + 1:02d}",
                    text="",
                    score=round(sum(r["points"] for r in reasons), 2),
                    reasons=reasons,
                    status="ready",
                )
            )
            ids.append(cid)
    return ids


@dataclass(frozen=True)
class SeededPost:
    id: uuid.UUID
    workspace_id: uuid.UUID
    external_id: str
    clip_id: uuid.UUID | None
    account_id: uuid.UUID
    platform: str
    published_at: datetime


def post(
    studio: Any,
    workspace_id: uuid.UUID,
    clip_id: uuid.UUID | None,
    account_id: uuid.UUID,
    platform: str,
    published_at: datetime,
    external_id: str | None = None,
) -> SeededPost:
    """A post as the publish flow leaves it: published, with its platform id and link."""
    ext = external_id or uuid.uuid4().hex[:11]
    url = (
        f"https://www.youtube.com/shorts/{ext}"
        if platform == "youtube"
        else f"https://www.tiktok.com/@cliply/video/{ext}"
    )
    with _session(studio) as db, db.begin():
        row = Post(
            workspace_id=workspace_id,
            clip_id=clip_id,
            account_id=account_id,
            platform=platform,
            status="published",
            platform_post_id=ext,
            url=url,
            published_at=published_at,
        )
        db.add(row)
        db.flush()
        return SeededPost(row.id, workspace_id, ext, clip_id, account_id, platform, published_at)


def measure(
    studio: Any, p: SeededPost, at: datetime, counters: Mapping[str, int] | None, **extra: Any
) -> None:
    """One collection of `p` at `at` through the collector's write path; None: deleted."""
    due = service.DuePost(p.id, p.workspace_id, p.account_id, p.external_id, p.published_at)
    reading = (
        PostMetrics(p.external_id, gone=True, gone_reason="deleted")
        if counters is None
        else PostMetrics(p.external_id, **counters, **extra)
    )
    with _session(studio) as db, db.begin():
        # The state says when the post is next due; a seeded history is taken in order.
        service.record_readings(db, [due], [reading], at)
        db.execute(
            update(PostMetricState)
            .where(PostMetricState.post_id == p.id)
            .values(next_due_at=None if counters is None else at)
        )
