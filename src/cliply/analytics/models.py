"""Post performance snapshots, the collector's bookkeeping, the platforms' daily quota used,
and each workspace's fitted score weights."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cliply.db.base import Base, created_at, tstz, uuid_pk, workspace_fk


class PostMetric(Base):
    """One collection of a post's counters (a time series): a row only when they changed."""

    __tablename__ = "post_metrics"
    __table_args__ = (Index("ix_post_metrics_post_id_collected_at", "post_id", "collected_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = workspace_fk()
    post_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), index=True
    )
    collected_at: Mapped[datetime] = created_at()
    views: Mapped[int] = mapped_column(BigInteger, server_default="0")
    likes: Mapped[int] = mapped_column(BigInteger, server_default="0")
    comments: Mapped[int] = mapped_column(BigInteger, server_default="0")
    shares: Mapped[int] = mapped_column(BigInteger, server_default="0")
    watch_time_s: Mapped[float] = mapped_column(Float, server_default="0")
    # From the platform's analytics report where the account granted it (YouTube Analytics):
    # mean seconds watched per view, mean share of the video watched (%), subscribers gained.
    avg_view_duration_s: Mapped[float | None] = mapped_column(Float)
    avg_view_percentage: Mapped[float | None] = mapped_column(Float)
    subscribers_gained: Mapped[int | None] = mapped_column(BigInteger)
    data: Mapped[dict[str, Any]] = mapped_column(server_default="{}")


class PostMetricState(Base):
    """When a post was last measured and is next due (also when nothing changed, so no
    snapshot was written); `gone_at` once the platform stopped showing it."""

    __tablename__ = "post_metric_states"

    post_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[uuid.UUID] = workspace_fk()
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("connected_accounts.id", ondelete="CASCADE"), index=True
    )
    last_checked_at: Mapped[datetime | None] = tstz()
    next_due_at: Mapped[datetime | None] = tstz()
    checks: Mapped[int] = mapped_column(Integer, server_default="0")
    gone_at: Mapped[datetime | None] = tstz()
    gone_reason: Mapped[str | None] = mapped_column(String(20))  # deleted|private|unavailable


class PlatformQuotaUsage(Base):
    """Quota units used per platform and UTC day (YouTube's quota is per app, not tenant)."""

    __tablename__ = "platform_quota_usage"

    platform: Mapped[str] = mapped_column(String(20), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    units: Mapped[int] = mapped_column(BigInteger, server_default="0")
    calls: Mapped[int] = mapped_column(BigInteger, server_default="0")


class ScoreWeights(Base):
    """A workspace's fitted feature weights (points per named feature), with the evidence."""

    __tablename__ = "score_weights"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    weights: Mapped[dict[str, Any]] = mapped_column(server_default="{}")
    sample_size: Mapped[int] = mapped_column(Integer, server_default="0")
    fitted_corr: Mapped[float | None] = mapped_column(Float)
    default_corr: Mapped[float | None] = mapped_column(Float)
    fitted_at: Mapped[datetime] = created_at()
