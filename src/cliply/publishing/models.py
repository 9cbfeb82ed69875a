"""Posts: what was (or is being) published on a platform, with the platform's ids."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cliply.db.base import Base, created_at, tstz, updated_at, uuid_pk, workspace_fk

POST_STATUSES = ("pending", "uploading", "processing", "published", "failed")


class Post(Base):
    __tablename__ = "posts"

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = workspace_fk()
    # One post per schedule: the unique key that makes posting exactly-once.
    schedule_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("schedules.id", ondelete="SET NULL"), unique=True
    )
    clip_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("clips.id", ondelete="SET NULL"), index=True
    )
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("connected_accounts.id", ondelete="SET NULL"), index=True
    )
    platform: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), server_default="pending")
    # Recorded before waiting on the platform, so a retry resumes instead of re-uploading.
    upload_ref: Mapped[str | None] = mapped_column(Text)
    platform_post_id: Mapped[str | None] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    request: Mapped[dict[str, Any]] = mapped_column(server_default="{}")
    published_at: Mapped[datetime | None] = tstz()
    # The platform no longer shows it (deleted, or made private): metrics stop.
    gone_at: Mapped[datetime | None] = tstz()
    gone_reason: Mapped[str | None] = mapped_column(String(20))  # deleted|private|unavailable
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
