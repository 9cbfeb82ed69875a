"""Append-only audit trail of who changed what."""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from sqlalchemy.orm import Session

from cliply.audit.models import AuditLog


def record(
    db: Session,
    action: str,
    *,
    workspace_id: uuid.UUID | None,
    user_id: uuid.UUID | None,
    target_type: str | None = None,
    target_id: str | uuid.UUID | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    ctx = structlog.contextvars.get_contextvars()
    db.add(
        AuditLog(
            workspace_id=workspace_id,
            user_id=user_id,
            action=action,
            target_type=target_type,
            target_id=str(target_id) if target_id else None,
            request_id=ctx.get("request_id"),
            data=data or {},
        )
    )
