"""Projects (one source video each), resumable uploads and transcripts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import BigInteger, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cliply.db.base import Base, created_at, tstz, updated_at, uuid_pk, workspace_fk

# created → uploading | downloading → probing → transcribing → detecting → rendering → ready | failed
ProjectStatus = Literal[
    "created",
    "uploading",
    "downloading",
    "probing",
    "transcribing",
    "detecting",
    "rendering",
    "ready",
    "failed",
]
PROJECT_STATUSES: tuple[str, ...] = get_args(ProjectStatus)


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = workspace_fk()
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    name: Mapped[str] = mapped_column(String(300))
    source_type: Mapped[str] = mapped_column(String(10))  # upload | url
    source_url: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), server_default="created", index=True)
    progress: Mapped[float] = mapped_column(Float, server_default="0")
    error_code: Mapped[str | None] = mapped_column(String(50))
    error_message: Mapped[str | None] = mapped_column(Text)
    source_key: Mapped[str | None] = mapped_column(String(300))
    original_filename: Mapped[str | None] = mapped_column(String(300))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    duration_s: Mapped[float | None] = mapped_column(Float)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    media_info: Mapped[dict[str, Any] | None] = mapped_column()
    options: Mapped[dict[str, Any]] = mapped_column(server_default="{}")
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class Upload(Base):
    """A resumable upload in progress: bytes land in storage at `offset`, then become a project."""

    __tablename__ = "uploads"

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = workspace_fk()
    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    size_total: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, server_default="0")
    status: Mapped[str] = mapped_column(String(20), server_default="open")  # open|complete|aborted
    filename: Mapped[str | None] = mapped_column(String(300))
    staging_path: Mapped[str] = mapped_column(String(500))
    expires_at: Mapped[datetime] = tstz(nullable=False)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class Transcript(Base):
    __tablename__ = "transcripts"

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = workspace_fk()
    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), unique=True
    )
    engine: Mapped[str] = mapped_column(String(30))
    model: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(10))
    duration_s: Mapped[float] = mapped_column(Float)
    word_count: Mapped[int] = mapped_column(Integer)
    json_key: Mapped[str] = mapped_column(String(300))
    srt_key: Mapped[str] = mapped_column(String(300))
    vtt_key: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
