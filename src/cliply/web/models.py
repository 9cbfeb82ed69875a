"""Browser sessions and password-reset tokens (Cliply Studio).

Neither is tenant data: a session belongs to a user and only remembers which workspace the
user last chose (`current_workspace_id`), so it carries no `workspace_id` column and no RLS.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from cliply.db.base import Base, tstz, uuid_pk
from cliply.db.base import created_at as now_default


class WebSession(Base):
    __tablename__ = "web_sessions"

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # sha256 of the cookie value: a leaked table does not yield usable cookies.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    current_workspace_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="SET NULL")
    )
    user_agent: Mapped[str] = mapped_column(String(300), server_default="")
    created_at: Mapped[datetime] = now_default()
    last_seen_at: Mapped[datetime] = now_default()
    expires_at: Mapped[datetime] = tstz(nullable=False)


class PasswordReset(Base):
    __tablename__ = "password_resets"

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = tstz(nullable=False)
    used_at: Mapped[datetime | None] = tstz()
    created_at: Mapped[datetime] = now_default()
