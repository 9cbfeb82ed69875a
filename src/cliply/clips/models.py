"""Clips: a time range of a project's source, its score and reasons, and its renders."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from cliply.db.base import Base, created_at, updated_at, uuid_pk, workspace_fk

CLIP_STATUSES = ("suggested", "queued", "rendering", "ready", "failed")


class Clip(Base):
    __tablename__ = "clips"

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = workspace_fk()
    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    # auto | manual | variant (a copy made for an experiment; not in the project's gallery)
    origin: Mapped[str] = mapped_column(String(10), server_default="auto")
    rank: Mapped[int | None] = mapped_column(Integer)
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    title: Mapped[str] = mapped_column(String(300), server_default="")
    description: Mapped[str] = mapped_column(Text, server_default="")
    hashtags: Mapped[list[str]] = mapped_column(ARRAY(String(100)), server_default="{}")
    text: Mapped[str] = mapped_column(Text, server_default="")
    score: Mapped[float | None] = mapped_column(Float)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    caption_style: Mapped[str] = mapped_column(String(30), server_default="bold")
    aspect: Mapped[str] = mapped_column(String(10), server_default="9:16")
    # Caption fixes: {"<index in the transcript's word list>": "corrected text"}.
    caption_edits: Mapped[dict[str, str]] = mapped_column(JSONB, server_default="{}")
    # Draw the title over the first seconds (the hook).
    title_overlay: Mapped[bool] = mapped_column(Boolean, server_default="false")
    # Thumbnail frame, seconds after start_s; None: the best-scoring frame is picked.
    thumb_at_s: Mapped[float | None] = mapped_column(Float)
    # Caption effects and jump cuts (pipeline.options.CaptionFx fields; {}: the defaults).
    caption_fx: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    # Seconds the jump cuts took out of the last render (None: not rendered yet).
    seconds_removed: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20), server_default="suggested", index=True)
    error: Mapped[str | None] = mapped_column(Text)
    render_version: Mapped[int] = mapped_column(Integer, server_default="0")
    render_key: Mapped[str | None] = mapped_column(String(300))
    thumb_key: Mapped[str | None] = mapped_column(String(300))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    layout: Mapped[str | None] = mapped_column(String(20))
    # The reframe layout of each segment of the render: [{start, end, layout}], source seconds.
    layouts: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
