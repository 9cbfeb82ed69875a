"""The job queue (PostgreSQL is the engine), its event timeline and periodic task ticks."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from cliply.db.base import Base, created_at, tstz, updated_at, uuid_pk, workspace_fk

JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(
            "status in ('queued','running','succeeded','failed','cancelled')", name="status"
        ),
        # The claim: per kind, queued jobs by priority (high first), then fair_key (round-robin
        # across workspaces, see queue.py), then age.
        Index(
            "ix_jobs_claim",
            "kind",
            text("priority DESC"),
            "fair_key",
            "created_at",
            postgresql_where=text("status = 'queued'"),
        ),
        # A workspace's newest queued fair_key per kind/priority (computing the next one).
        Index(
            "ix_jobs_queued_workspace",
            "workspace_id",
            "kind",
            "priority",
            "fair_key",
            postgresql_where=text("status = 'queued'"),
        ),
        # The fairness clock (largest fair_key running per kind/priority) and per-workspace caps.
        Index(
            "ix_jobs_running_fair",
            "kind",
            "priority",
            "fair_key",
            postgresql_where=text("status = 'running'"),
        ),
        Index(
            "ix_jobs_running_workspace", "workspace_id", postgresql_where=text("status = 'running'")
        ),
        Index(
            "ix_jobs_running_heartbeat",
            "last_heartbeat",
            postgresql_where=text("status = 'running'"),
        ),
        Index("ix_jobs_workspace_created", "workspace_id", "created_at", "id"),
        # A logical job is never queued or running twice.
        Index(
            "uq_jobs_dedupe_active",
            "dedupe_key",
            unique=True,
            postgresql_where=text("dedupe_key IS NOT NULL AND status IN ('queued','running')"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID | None] = workspace_fk(nullable=True, index=False)
    project_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(50))
    payload: Mapped[dict[str, Any]] = mapped_column(server_default="{}")
    status: Mapped[str] = mapped_column(String(12), server_default="queued")
    priority: Mapped[int] = mapped_column(Integer, server_default="0")
    # Start tag for fair queuing across workspaces (start-time fair queuing, queue.py).
    fair_key: Mapped[int] = mapped_column(BigInteger, server_default="0")
    run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    max_attempts: Mapped[int] = mapped_column(Integer, server_default="5")
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    worker_id: Mapped[str | None] = mapped_column(String(200))
    last_heartbeat: Mapped[datetime | None] = tstz()
    started_at: Mapped[datetime | None] = tstz()
    finished_at: Mapped[datetime | None] = tstz()
    progress: Mapped[float] = mapped_column(Float, server_default="0")
    progress_message: Mapped[str | None] = mapped_column(Text)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, server_default="false")
    result: Mapped[dict[str, Any] | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class JobEvent(Base):
    __tablename__ = "job_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    workspace_id: Mapped[uuid.UUID | None] = workspace_fk(nullable=True)
    at: Mapped[datetime] = created_at()
    event: Mapped[str] = mapped_column(String(30))
    worker_id: Mapped[str | None] = mapped_column(String(200))
    attempt: Mapped[int] = mapped_column(Integer, server_default="0")
    message: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column()


class PeriodicTask(Base):
    """Last tick run of each named periodic task; the row lock makes a tick run exactly once."""

    __tablename__ = "periodic_tasks"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_tick: Mapped[datetime | None] = tstz()
    last_started_at: Mapped[datetime | None] = tstz()
    last_finished_at: Mapped[datetime | None] = tstz()
    last_error: Mapped[str | None] = mapped_column(Text)
    run_count: Mapped[int] = mapped_column(BigInteger, server_default="0")
