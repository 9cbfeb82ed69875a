"""Subscriptions mirrored from Stripe, processed webhook events, and usage metering."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cliply.db.base import Base, created_at, tstz, updated_at, uuid_pk, workspace_fk


class Subscription(Base):
    __tablename__ = "subscriptions"

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = workspace_fk()
    stripe_subscription_id: Mapped[str] = mapped_column(String(100), unique=True)
    stripe_customer_id: Mapped[str | None] = mapped_column(String(100))
    price_id: Mapped[str | None] = mapped_column(String(100))
    plan: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(30))
    current_period_start: Mapped[datetime | None] = tstz()
    current_period_end: Mapped[datetime | None] = tstz()
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, server_default="false")
    canceled_at: Mapped[datetime | None] = tstz()
    ended_at: Mapped[datetime | None] = tstz()
    past_due_since: Mapped[datetime | None] = tstz()
    # Stripe's own clock for the state we hold; an older event never overwrites a newer one.
    stripe_state_at: Mapped[int] = mapped_column(BigInteger, server_default="0")
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class StripeEvent(Base):
    """Each webhook event id once: a replay finds its row and does nothing."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    stripe_created: Mapped[int] = mapped_column(BigInteger)
    workspace_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="SET NULL")
    )
    payload: Mapped[dict[str, Any]] = mapped_column()
    outcome: Mapped[str | None] = mapped_column(String(100))
    received_at: Mapped[datetime] = created_at()


class WorkspaceUsage(Base):
    __tablename__ = "workspace_usage"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    metric: Mapped[str] = mapped_column(String(50), primary_key=True)
    period_start: Mapped[date] = mapped_column(Date, primary_key=True)
    quantity: Mapped[float] = mapped_column(server_default="0")
    updated_at: Mapped[datetime] = updated_at()


class UsageEvent(Base):
    """One row per logical metered event, so a retried job never counts twice."""

    __tablename__ = "usage_events"
    __table_args__ = (UniqueConstraint("workspace_id", "metric", "event_key"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = workspace_fk(index=False)
    metric: Mapped[str] = mapped_column(String(50))
    event_key: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[float] = mapped_column()
    period_start: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = created_at()
