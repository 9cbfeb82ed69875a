"""Analytics: the collector's bookkeeping (which posts are due, snapshots, daily quota) and
the read side of the API. The one module that writes analytics' tables."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from cliply.analytics.models import PlatformQuotaUsage, PostMetric, PostMetricState, ScoreWeights
from cliply.billing import service as billing
from cliply.config import get_settings
from cliply.db.pagination import paginate
from cliply.highlights.scoring import DEFAULT_WEIGHTS
from cliply.platforms.base import MetricsDetail, PostMetrics
from cliply.publishing import service as posts

COUNTERS = ("views", "likes", "comments", "shares")
# Figures of the platform's analytics report (YouTube Analytics), where it gave them.
DETAIL = ("watch_time_s", "avg_view_duration_s", "avg_view_percentage", "subscribers_gained")


def now() -> datetime:
    return datetime.now(UTC)


# --- cadence ----------------------------------------------------------------------------------


def interval_for(age: timedelta) -> timedelta | None:
    """How long until a post of this age is measured again; None: no more measurements
    (hourly while young, then daily, then weekly, then stop; all settings)."""
    s = get_settings()
    age_s = age.total_seconds()
    if age_s < s.metrics_hourly_until_s:
        return timedelta(seconds=s.metrics_hourly_every_s)
    if age_s < s.metrics_daily_until_s:
        return timedelta(seconds=s.metrics_daily_every_s)
    if age_s < s.metrics_weekly_until_s:
        return timedelta(seconds=s.metrics_weekly_every_s)
    return None


def _horizon(at: datetime) -> datetime:
    return at - timedelta(seconds=get_settings().metrics_weekly_until_s)


@dataclass(frozen=True)
class DuePost:
    post_id: uuid.UUID
    workspace_id: uuid.UUID
    account_id: uuid.UUID
    platform_post_id: str
    published_at: datetime
    privacy: str | None = None  # the audience it was published to


def _due_query(at: datetime) -> Any:
    src = posts.measurable_posts(_horizon(at))
    return (
        select(src)
        .outerjoin(PostMetricState, PostMetricState.post_id == src.c.id)
        .where(
            PostMetricState.gone_at.is_(None),
            or_(PostMetricState.post_id.is_(None), PostMetricState.next_due_at <= at),
        )
    ), src


def due_accounts(db: Session, at: datetime) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(account_id, workspace_id) of every account with at least one post due at `at`."""
    stmt, src = _due_query(at)
    rows = db.execute(
        stmt.with_only_columns(src.c.account_id, src.c.workspace_id).distinct()
    ).tuples()
    return [(a, w) for a, w in rows if a is not None]


def due_posts(db: Session, account_id: uuid.UUID, at: datetime, limit: int) -> list[DuePost]:
    """The account's posts due for a measurement, longest-waiting first."""
    stmt, src = _due_query(at)
    rows = db.execute(
        stmt.where(src.c.account_id == account_id)
        .order_by(PostMetricState.next_due_at.asc().nulls_first(), src.c.published_at.desc())
        .limit(limit)
    ).mappings()
    return [
        DuePost(
            post_id=r["id"],
            workspace_id=r["workspace_id"],
            account_id=r["account_id"],
            platform_post_id=r["platform_post_id"],
            published_at=r["published_at"],
            privacy=r["privacy"],
        )
        for r in rows
    ]


# --- quota ------------------------------------------------------------------------------------


def reserve_quota(db: Session, platform: str, units: int, limit: int, day: date) -> bool:
    """Take `units` of today's quota before a call; False (nothing taken) when the call would
    reach past `limit`. One statement: concurrent collectors never overshoot together."""
    db.execute(
        insert(PlatformQuotaUsage)
        .values(platform=platform, day=day, units=0, calls=0)
        .on_conflict_do_nothing(index_elements=["platform", "day"])
    )
    row = db.execute(
        update(PlatformQuotaUsage)
        .where(
            PlatformQuotaUsage.platform == platform,
            PlatformQuotaUsage.day == day,
            PlatformQuotaUsage.units + units <= limit,
        )
        .values(units=PlatformQuotaUsage.units + units, calls=PlatformQuotaUsage.calls + 1)
        .returning(PlatformQuotaUsage.units)
    ).first()
    return row is not None


def quota_used(db: Session, platform: str, day: date) -> int:
    used = db.scalar(
        select(PlatformQuotaUsage.units).where(
            PlatformQuotaUsage.platform == platform, PlatformQuotaUsage.day == day
        )
    )
    return int(used or 0)


# --- snapshots --------------------------------------------------------------------------------


def _values(reading: PostMetrics) -> dict[str, int]:
    return {k: int(getattr(reading, k) or 0) for k in COUNTERS}


def _detail_values(reading: PostMetrics, detail: MetricsDetail | None) -> dict[str, Any]:
    """The report's figures as snapshot columns; without a report, the watch time a
    platform put in its reading (estimatedMinutesWatched), the rest unknown."""
    if detail is None:
        minutes = float(reading.raw.get("estimatedMinutesWatched", 0) or 0)
        return {
            "watch_time_s": minutes * 60.0,
            "avg_view_duration_s": None,
            "avg_view_percentage": None,
            "subscribers_gained": None,
        }
    return {
        "watch_time_s": float(detail.watch_minutes or 0.0) * 60.0,
        "avg_view_duration_s": detail.avg_view_duration_s,
        "avg_view_percentage": detail.avg_view_percentage,
        "subscribers_gained": detail.subscribers_gained,
    }


def _same(prev: PostMetric, values: dict[str, int], extra: dict[str, Any]) -> bool:
    if any(getattr(prev, k) != v for k, v in values.items()):
        return False
    for k, v in extra.items():
        old = getattr(prev, k)
        if (old is None) != (v is None) or (v is not None and abs(float(old) - float(v)) > 1e-9):
            return False
    return True


def latest_snapshots(db: Session, post_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, PostMetric]:
    if not post_ids:
        return {}
    rows = db.scalars(
        select(PostMetric)
        .where(PostMetric.post_id.in_(post_ids))
        .order_by(PostMetric.post_id, PostMetric.collected_at.desc(), PostMetric.id.desc())
        .distinct(PostMetric.post_id)
    )
    return {r.post_id: r for r in rows}


@dataclass
class Recorded:
    snapshots: int = 0
    unchanged: int = 0
    gone: int = 0
    skipped: int = 0


def record_readings(
    db: Session,
    due: Sequence[DuePost],
    readings: Sequence[PostMetrics],
    at: datetime,
    details: Mapping[str, MetricsDetail] | None = None,
) -> Recorded:
    """Write one batch's readings (and analytics-report figures, by platform post id) in the
    caller's transaction: a snapshot per changed post, the post's next due time, `gone` marks
    with their reason. A post another run measured meanwhile (its state is no longer due) is
    skipped, so a retried or doubled job never writes twice. A post made private is gone,
    unless it was published private: then its owner's counters are what there is to see."""
    out = Recorded()
    details = details or {}
    rows: list[dict[str, Any]] = []
    by_ext = {r.platform_post_id: r for r in readings}
    ids = [d.post_id for d in due]
    # Lock the states (creating the missing ones) so two runs serialise per post.
    db.execute(
        insert(PostMetricState)
        .values(
            [
                {"post_id": d.post_id, "workspace_id": d.workspace_id, "account_id": d.account_id}
                for d in due
            ]
        )
        .on_conflict_do_nothing(index_elements=["post_id"])
    )
    states = {
        s.post_id: s
        for s in db.scalars(
            select(PostMetricState)
            .where(PostMetricState.post_id.in_(ids))
            .order_by(PostMetricState.post_id)
            .with_for_update()
        )
    }
    latest = latest_snapshots(db, ids)
    for d in due:
        state = states[d.post_id]
        reading = by_ext.get(d.platform_post_id)
        if reading is None or state.gone_at is not None:
            out.skipped += 1
            continue
        if state.next_due_at is not None and state.next_due_at > at:
            out.skipped += 1  # measured by another run since this one started
            continue
        state.last_checked_at = at
        state.checks += 1
        published_private = reading.gone_reason == "private" and d.privacy == "private"
        if reading.gone and not published_private:
            reason = reading.gone_reason or "unavailable"
            state.gone_at, state.next_due_at, state.gone_reason = at, None, reason
            posts.mark_gone(db, d.post_id, at, reason)
            out.gone += 1
            continue
        interval = interval_for(at - d.published_at)
        state.next_due_at = at + interval if interval is not None else None
        values = _values(reading)
        detail = details.get(d.platform_post_id)
        extra = _detail_values(reading, detail)
        prev = latest.get(d.post_id)
        if prev is not None and _same(prev, values, extra):
            out.unchanged += 1
            continue
        data: dict[str, Any] = {}
        if reading.duration_s is not None:
            data["duration_s"] = reading.duration_s
        if detail is not None and detail.views is not None:
            data["report_views"] = detail.views  # the report's count (lags the live one)
        missing = [k for k in COUNTERS if getattr(reading, k) is None]
        if missing:
            data["not_reported"] = missing
        rows.append(
            {
                "workspace_id": d.workspace_id,
                "post_id": d.post_id,
                "collected_at": at,
                "data": data,
                **values,
                **extra,
            }
        )
        out.snapshots += 1
    if rows:
        # One executemany (ORM adds of rows with a server-made id go one INSERT at a time).
        db.execute(insert(PostMetric), rows)
    return out


def state_counts(db: Session, account_id: uuid.UUID) -> dict[str, int]:
    """For tests and the benchmark: measured and gone posts of an account."""
    row = db.execute(
        select(
            func.count(),
            func.count().filter(PostMetricState.gone_at.is_not(None)),
        ).where(and_(PostMetricState.account_id == account_id))
    ).one()
    return {"measured": int(row[0]), "gone": int(row[1])}


# --- read side (API) ----------------------------------------------------------------------------


def history_start(db: Session, workspace_id: uuid.UUID, at: datetime) -> datetime | None:
    """The earliest moment the workspace's plan shows (None: everything)."""
    days = billing.resolve_workspace_plan(db, workspace_id).analytics_history_days
    return None if days is None else at - timedelta(days=days)


def _values_at(
    db: Session, workspace_id: uuid.UUID, at: datetime, post_ids: Sequence[uuid.UUID] | None
) -> dict[uuid.UUID, PostMetric]:
    """Each post's latest snapshot at or before `at` (counters are cumulative)."""
    stmt = select(PostMetric).where(
        PostMetric.workspace_id == workspace_id, PostMetric.collected_at <= at
    )
    if post_ids is not None:
        stmt = stmt.where(PostMetric.post_id.in_(post_ids))
    rows = db.scalars(
        stmt.order_by(
            PostMetric.post_id, PostMetric.collected_at.desc(), PostMetric.id.desc()
        ).distinct(PostMetric.post_id)
    )
    return {r.post_id: r for r in rows}


@dataclass
class Totals:
    posts: int = 0
    views: int = 0
    likes: int = 0
    comments: int = 0
    shares: int = 0
    views_delta: int = 0
    likes_delta: int = 0
    comments_delta: int = 0
    shares_delta: int = 0

    def add(self, now_: PostMetric | None, before: PostMetric | None) -> None:
        self.posts += 1
        for k in COUNTERS:
            cur = int(getattr(now_, k)) if now_ is not None else 0
            old = int(getattr(before, k)) if before is not None else 0
            setattr(self, k, getattr(self, k) + cur)
            setattr(self, f"{k}_delta", getattr(self, f"{k}_delta") + cur - old)

    @property
    def engagement_rate(self) -> float | None:
        return engagement(self.views, self.likes, self.comments, self.shares)


def engagement(views: int, likes: int, comments: int, shares: int) -> float | None:
    return round((likes + comments + shares) / views, 6) if views > 0 else None


@dataclass(frozen=True)
class Overview:
    start: datetime
    end: datetime
    history_limited: bool
    total: Totals
    platforms: dict[str, Totals]
    accounts: dict[uuid.UUID, Totals]


def overview(
    db: Session,
    workspace_id: uuid.UUID,
    start: datetime | None,
    end: datetime | None,
    *,
    account_id: uuid.UUID | None = None,
    platform: str | None = None,
) -> Overview:
    """Counters at `end` and their change since `start`, per platform and per account."""
    at = now()
    end = min(end or at, at)
    start = start or end - timedelta(days=30)
    floor = history_start(db, workspace_id, at)
    limited = floor is not None and start < floor
    if floor is not None:
        start = max(start, floor)
    after = _values_at(db, workspace_id, end, None)
    before = _values_at(db, workspace_id, start, list(after))
    total = Totals()
    by_platform: dict[str, Totals] = {}
    by_account: dict[uuid.UUID, Totals] = {}
    for post in posts.posts_by_ids(db, workspace_id, list(after)):
        if account_id is not None and post.account_id != account_id:
            continue
        if platform is not None and post.platform != platform:
            continue
        cur, old = after.get(post.id), before.get(post.id)
        total.add(cur, old)
        by_platform.setdefault(post.platform, Totals()).add(cur, old)
        if post.account_id is not None:
            by_account.setdefault(post.account_id, Totals()).add(cur, old)
    return Overview(start, end, limited, total, by_platform, by_account)


def series(
    db: Session, workspace_id: uuid.UUID, post_id: uuid.UUID, cursor: str | None, limit: int
) -> tuple[list[PostMetric], str | None]:
    """A post's snapshots, newest first, within the plan's history."""
    posts.get_post(db, workspace_id, post_id)  # 404 for another workspace's post
    stmt = select(PostMetric).where(
        PostMetric.workspace_id == workspace_id, PostMetric.post_id == post_id
    )
    floor = history_start(db, workspace_id, now())
    if floor is not None:
        stmt = stmt.where(PostMetric.collected_at >= floor)
    return paginate(db, stmt, (PostMetric.collected_at, PostMetric.id), cursor, limit)


@dataclass(frozen=True)
class PostStats:
    post_id: uuid.UUID
    clip_id: uuid.UUID | None
    account_id: uuid.UUID | None
    platform: str
    url: str | None
    published_at: datetime | None
    gone: bool
    views: int
    likes: int
    comments: int
    shares: int
    engagement_rate: float | None
    watch_through: float | None
    collected_at: datetime | None
    gone_reason: str | None = None
    watch_time_s: float | None = None
    avg_view_duration_s: float | None = None
    subscribers_gained: int | None = None


def _watch_through(m: PostMetric | None) -> float | None:
    """Share of the video watched per view: the platform's own figure where its report gave
    one (YouTube's averageViewPercentage), else watch time over views times duration."""
    if m is not None and m.avg_view_percentage is not None:
        return round(m.avg_view_percentage / 100.0, 6)
    if m is None or m.views <= 0 or not m.watch_time_s:
        return None
    duration = float((m.data or {}).get("duration_s") or 0)
    return round(m.watch_time_s / (m.views * duration), 6) if duration > 0 else None


def post_stats(db: Session, workspace_id: uuid.UUID, post_list: Sequence[Any]) -> list[PostStats]:
    latest = _values_at(db, workspace_id, now(), [p.id for p in post_list])
    out = []
    for p in post_list:
        m = latest.get(p.id)
        vals = {k: int(getattr(m, k)) if m is not None else 0 for k in COUNTERS}
        out.append(
            PostStats(
                post_id=p.id,
                clip_id=p.clip_id,
                account_id=p.account_id,
                platform=p.platform,
                url=p.url,
                published_at=p.published_at,
                gone=p.gone_at is not None,
                engagement_rate=engagement(**vals),
                watch_through=_watch_through(m),
                collected_at=m.collected_at if m is not None else None,
                gone_reason=p.gone_reason,
                watch_time_s=m.watch_time_s if m is not None else None,
                avg_view_duration_s=m.avg_view_duration_s if m is not None else None,
                subscribers_gained=m.subscribers_gained if m is not None else None,
                **vals,
            )
        )
    return out


def clip_posts(db: Session, workspace_id: uuid.UUID, clip_id: uuid.UUID) -> list[PostStats]:
    rows, _ = posts.list_posts(db, workspace_id, clip_id=clip_id, status="published", limit=100)
    return post_stats(db, workspace_id, rows)


RANKINGS = ("views", "engagement_rate", "watch_through")


def top_posts(
    db: Session, workspace_id: uuid.UUID, by: str, offset: int, limit: int
) -> tuple[list[PostStats], int | None]:
    """Published posts ranked by `by` (best first); the next offset or None."""
    latest = _values_at(db, workspace_id, now(), None)
    stats = post_stats(db, workspace_id, posts.posts_by_ids(db, workspace_id, list(latest)))
    ranked = sorted(
        stats, key=lambda s: (getattr(s, by) is None, -(getattr(s, by) or 0), str(s.post_id))
    )
    page = ranked[offset : offset + limit]
    return page, (offset + limit if len(ranked) > offset + limit else None)


@dataclass(frozen=True)
class ClipStats:
    clip_id: uuid.UUID
    posts: int
    views: int
    likes: int
    comments: int
    shares: int
    engagement_rate: float | None


def top_clips(
    db: Session, workspace_id: uuid.UUID, by: str, offset: int, limit: int
) -> tuple[list[ClipStats], int | None]:
    latest = _values_at(db, workspace_id, now(), None)
    agg: dict[uuid.UUID, dict[str, int]] = {}
    for s in post_stats(db, workspace_id, posts.posts_by_ids(db, workspace_id, list(latest))):
        if s.clip_id is None:
            continue
        a = agg.setdefault(s.clip_id, {"posts": 0, **dict.fromkeys(COUNTERS, 0)})
        a["posts"] += 1
        for k in COUNTERS:
            a[k] += getattr(s, k)
    clips = [
        ClipStats(
            clip_id=c,
            engagement_rate=engagement(a["views"], a["likes"], a["comments"], a["shares"]),
            **a,
        )
        for c, a in agg.items()
    ]
    key = by if by in ("views", "engagement_rate") else "views"
    ranked = sorted(
        clips, key=lambda s: (getattr(s, key) is None, -(getattr(s, key) or 0), str(s.clip_id))
    )
    page = ranked[offset : offset + limit]
    return page, (offset + limit if len(ranked) > offset + limit else None)


def views_at(db: Session, workspace_id: uuid.UUID, post_id: uuid.UUID, at: datetime) -> int | None:
    """The post's views at `at` (its latest snapshot then), None when none was taken yet."""
    m = _values_at(db, workspace_id, at, [post_id]).get(post_id)
    return int(m.views) if m is not None else None


# --- learnt score weights -----------------------------------------------------------------------


def weights_row(db: Session, workspace_id: uuid.UUID) -> ScoreWeights | None:
    return db.get(ScoreWeights, workspace_id)


def current_weights(db: Session, workspace_id: uuid.UUID) -> dict[str, float]:
    """The weights highlight detection uses for this workspace (fitted, else the defaults)."""
    row = weights_row(db, workspace_id)
    if row is None or not row.weights:
        return dict(DEFAULT_WEIGHTS)
    return {k: float(v) for k, v in row.weights.items()}


def adopted_weights(db: Session, workspace_id: uuid.UUID) -> dict[str, float] | None:
    """The workspace's adopted learnt weights, None while it uses the defaults (handed to
    highlight detection by `cliply.app.install_hooks`)."""
    row = weights_row(db, workspace_id)
    if row is None or not row.weights:
        return None
    return {k: float(v) for k, v in row.weights.items()}


def store_weights(
    db: Session,
    workspace_id: uuid.UUID,
    weights: dict[str, float] | None,
    sample_size: int,
    fitted_corr: float,
    default_corr: float,
) -> None:
    """Record a fit; `weights` None keeps what is in use (the fit was not better)."""
    row = weights_row(db, workspace_id)
    if row is None:
        row = ScoreWeights(workspace_id=workspace_id, weights={})
        db.add(row)
    if weights is not None:
        row.weights = dict(weights)
    row.sample_size, row.fitted_corr, row.default_corr = sample_size, fitted_corr, default_corr
    row.fitted_at = now()
    db.flush()


def reset_weights(db: Session, workspace_id: uuid.UUID) -> None:
    row = weights_row(db, workspace_id)
    if row is not None:
        db.delete(row)
        db.flush()
