"""The workspace's counters over time, for the dashboard's charts: at each step of a period,
the sum over posts of each post's latest snapshot at or before that moment (counters are
cumulative, so a post measured once keeps counting until its next snapshot)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from cliply.analytics.models import PostMetric
from cliply.analytics.service import COUNTERS, engagement
from cliply.publishing import service as posts

MAX_POINTS: Final = 400
HOURLY_UP_TO: Final = timedelta(days=3)  # shorter periods are drawn hour by hour


@dataclass(frozen=True)
class Point:
    at: datetime
    views: int
    likes: int
    comments: int
    shares: int

    @property
    def engagement_rate(self) -> float | None:
        return engagement(self.views, self.likes, self.comments, self.shares)


def steps(start: datetime, end: datetime) -> list[datetime]:
    """The moments a chart shows: hourly for short periods, else daily; always ends at `end`."""
    step = timedelta(hours=1) if end - start <= HOURLY_UP_TO else timedelta(days=1)
    while (end - start) / step > MAX_POINTS:
        step *= 2
    out: list[datetime] = []
    t = start
    while t < end:
        out.append(t)
        t += step
    out.append(end)
    return out


def timeline(
    db: Session,
    workspace_id: uuid.UUID,
    start: datetime,
    end: datetime,
    *,
    account_id: uuid.UUID | None = None,
    platform: str | None = None,
) -> list[Point]:
    """Totals at each of `steps(start, end)`, over the posts matching the filters."""
    moments = steps(start, end)
    cols = (
        PostMetric.post_id,
        PostMetric.collected_at,
        PostMetric.views,
        PostMetric.likes,
        PostMetric.comments,
        PostMetric.shares,
    )
    mine = PostMetric.workspace_id == workspace_id
    # Each post's last reading before the period, then the readings within it: the rows a
    # chart needs, however long the workspace's history is.
    before = db.execute(
        select(*cols)
        .where(mine, PostMetric.collected_at <= start)
        .order_by(PostMetric.post_id, PostMetric.collected_at.desc(), PostMetric.id.desc())
        .distinct(PostMetric.post_id)
    ).tuples()
    during = db.execute(
        select(*cols)
        .where(mine, PostMetric.collected_at > start, PostMetric.collected_at <= end)
        .order_by(PostMetric.collected_at, PostMetric.id)
    ).tuples()
    snaps = sorted(before, key=lambda r: r[1]) + list(during)
    wanted = {
        p.id
        for p in posts.posts_by_ids(db, workspace_id, list({s[0] for s in snaps}))
        if (account_id is None or p.account_id == account_id)
        and (platform is None or p.platform == platform)
    }
    latest: dict[uuid.UUID, tuple[int, ...]] = {}
    sums = [0] * len(COUNTERS)
    out: list[Point] = []
    i = 0
    for at in moments:
        # Walk the snapshots up to this moment, replacing each post's previous counters.
        while i < len(snaps) and snaps[i][1] <= at:
            post_id, _, *values = snaps[i]
            i += 1
            if post_id not in wanted:
                continue
            new = tuple(int(v) for v in values)
            old = latest.get(post_id, (0,) * len(COUNTERS))
            sums = [s + n - o for s, n, o in zip(sums, new, old, strict=True)]
            latest[post_id] = new
        out.append(Point(at, *sums))
    return out
