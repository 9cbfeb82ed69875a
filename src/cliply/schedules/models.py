"""Schedules: post this clip to that account at that time."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from cliply.db.base import Base, created_at, tstz, updated_at, uuid_pk, workspace_fk

SCHEDULE_STATUSES = (
    "scheduled",
    "queued",
    "publishing",
    "published",
    "failed",
    "cancelled",
    "paused",
)


class Schedule(Base):
    __tablename__ = "schedules"
    __table_args__ = (
        Index("ix_schedules_due", "scheduled_at", postgresql_where=text("status = 'scheduled'")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = workspace_fk()
    clip_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clips.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("connected_accounts.id", ondelete="CASCADE"), index=True
    )
    scheduled_at: Mapped[datetime] = tstz(nullable=False)
    timezone: Mapped[str] = mapped_column(String(64), server_default="UTC")
    title: Mapped[str] = mapped_column(String(300), server_default="")
    caption: Mapped[str] = mapped_column(Text, server_default="")
    hashtags: Mapped[list[str]] = mapped_column(ARRAY(String(100)), server_default="{}")
    privacy: Mapped[str] = mapped_column(String(30), server_default="public")
    options: Mapped[dict[str, Any]] = mapped_column(server_default="{}")
    status: Mapped[str] = mapped_column(String(20), server_default="scheduled")
    error: Mapped[str | None] = mapped_column(Text)
    # Why a `paused` schedule waits (e.g. a linked product is out of stock): who may resume it.
    paused_reason: Mapped[str | None] = mapped_column(String(50))
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
