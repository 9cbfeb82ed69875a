"""API shapes for analytics: overview totals, a post's series, per-post and per-clip stats."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict


class TotalsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    posts: int
    views: int
    likes: int
    comments: int
    shares: int
    views_delta: int
    likes_delta: int
    comments_delta: int
    shares_delta: int
    engagement_rate: float | None


class KeyedTotals(TotalsOut):
    key: str  # the platform name, or the account id


class OverviewOut(BaseModel):
    start: datetime
    end: datetime
    history_limited: bool  # the plan shows less than was asked for
    total: TotalsOut
    platforms: list[KeyedTotals]
    accounts: list[KeyedTotals]


class SnapshotOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    collected_at: datetime
    views: int
    likes: int
    comments: int
    shares: int
    watch_time_s: float
    # YouTube Analytics (accounts that granted it), else null.
    avg_view_duration_s: float | None = None
    avg_view_percentage: float | None = None
    subscribers_gained: int | None = None


class PostStatsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

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
    gone_reason: str | None = None  # deleted | private | unavailable (the platform won't say)
    watch_time_s: float | None = None
    avg_view_duration_s: float | None = None
    subscribers_gained: int | None = None


class ClipStatsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    clip_id: uuid.UUID
    posts: int
    views: int
    likes: int
    comments: int
    shares: int
    engagement_rate: float | None


class ClipAnalyticsOut(ClipStatsOut):
    items: list[PostStatsOut]


class CalibrationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    days: int
    posts: int
    spearman: float | None  # None below 20 posts
    ci_low: float | None  # 95% bootstrap interval
    ci_high: float | None
    message: str


class WeightsOut(BaseModel):
    weights: dict[str, float]  # in use for new highlight detection
    default_weights: dict[str, float]
    learnt: bool
    sample_size: int | None = None
    fitted_corr: float | None = None  # mean held-out Spearman of the fitted weights
    default_corr: float | None = None  # ... and of the defaults
    fitted_at: datetime | None = None


class FitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    posts: int
    adopted: bool
    fitted_corr: float | None
    default_corr: float | None
    weights: dict[str, float]
    message: str
