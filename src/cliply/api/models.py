"""HTTP infrastructure tables: idempotency keys and rate-limit buckets."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Float, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cliply.db.base import Base, created_at, tstz, uuid_pk, workspace_fk


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("principal", "scope", "key"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    # Stored per workspace; creating a workspace has none yet, so `scope` is the id or "-".
    workspace_id: Mapped[uuid.UUID | None] = workspace_fk(nullable=True, index=False)
    scope: Mapped[str] = mapped_column(String(40))
    principal: Mapped[str] = mapped_column(String(100))  # user:<id> or key:<hash prefix>
    key: Mapped[str] = mapped_column(String(255))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), server_default="in_progress")
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[dict[str, Any] | None] = mapped_column()
    response_headers: Mapped[dict[str, Any] | None] = mapped_column()
    created_at: Mapped[datetime] = created_at()
    expires_at: Mapped[datetime] = tstz(nullable=False)


class RateLimit(Base):
    """A token bucket per subject (user, API key or IP)."""

    __tablename__ = "rate_limits"

    bucket: Mapped[str] = mapped_column(String(200), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = tstz(nullable=False)
