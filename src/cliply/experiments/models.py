"""Viral experiments: variants of a clip posted side by side, compared on a metric."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cliply.db.base import Base, created_at, tstz, updated_at, uuid_pk, workspace_fk


class Experiment(Base):
    __tablename__ = "experiments"

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = workspace_fk()
    clip_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clips.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    metric: Mapped[str] = mapped_column(String(30), server_default="views")
    # draft (not scheduled yet) → running (variants scheduled) → ended
    status: Mapped[str] = mapped_column(String(20), server_default="draft")
    winner_variant_id: Mapped[uuid.UUID | None] = mapped_column()
    started_at: Mapped[datetime | None] = tstz()
    ended_at: Mapped[datetime | None] = tstz()
    # P(win) a variant needs to be declared the winner (the setting's value at creation).
    threshold: Mapped[float] = mapped_column(Float, server_default="0.95")
    deadline_at: Mapped[datetime | None] = tstz()
    # Why it ended: threshold | deadline | manual.
    stop_reason: Mapped[str | None] = mapped_column(String(20))
    # Schedule the winner to the plan's accounts that have not posted it, once it is known.
    auto_promote: Mapped[bool] = mapped_column(Boolean, server_default="false")
    # Where and when the variants post: accounts, start, mode, timezone, privacy.
    plan: Mapped[dict[str, Any]] = mapped_column(server_default="{}")
    # The last evaluation: per variant evidence, P(best), P(win), mean, interval.
    stats: Mapped[dict[str, Any]] = mapped_column(server_default="{}")
    evaluated_at: Mapped[datetime | None] = tstz()
    promoted_at: Mapped[datetime | None] = tstz()
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class ExperimentVariant(Base):
    __tablename__ = "experiment_variants"
    __table_args__ = (UniqueConstraint("experiment_id", "label"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = workspace_fk()
    experiment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(50))
    clip_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("clips.id", ondelete="SET NULL"))
    changes: Mapped[dict[str, Any]] = mapped_column(server_default="{}")
    created_at: Mapped[datetime] = created_at()


class VariantPost(Base):
    __tablename__ = "variant_posts"
    __table_args__ = (UniqueConstraint("variant_id", "post_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = workspace_fk()
    variant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("experiment_variants.id", ondelete="CASCADE"), index=True
    )
    post_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = created_at()
