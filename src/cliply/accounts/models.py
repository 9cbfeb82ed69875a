"""Connected platform accounts (tokens encrypted) and pending OAuth flows.

`platform` is the name of an adapter in `cliply.platforms.registry`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cliply.db.base import Base, created_at, tstz, updated_at, uuid_pk, workspace_fk


class ConnectedAccount(Base):
    __tablename__ = "connected_accounts"
    __table_args__ = (UniqueConstraint("workspace_id", "platform", "external_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = workspace_fk()
    platform: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(300), server_default="")
    avatar_url: Mapped[str | None] = mapped_column(Text)
    scopes: Mapped[str] = mapped_column(Text, server_default="")
    # AES-256-GCM ciphertexts carrying their key id (see cliply.crypto).
    access_token_enc: Mapped[str | None] = mapped_column(Text)
    refresh_token_enc: Mapped[str | None] = mapped_column(Text)
    access_expires_at: Mapped[datetime | None] = tstz()
    refresh_expires_at: Mapped[datetime | None] = tstz()
    status: Mapped[str] = mapped_column(String(20), server_default="active")
    status_reason: Mapped[str | None] = mapped_column(Text)
    info: Mapped[dict[str, Any]] = mapped_column(server_default="{}")
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class OAuthState(Base):
    """A started OAuth flow: the signed state's nonce, single use, with its PKCE verifier."""

    __tablename__ = "oauth_states"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[uuid.UUID] = workspace_fk()
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(20))
    code_verifier_enc: Mapped[str] = mapped_column(Text)
    redirect_after: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime] = tstz(nullable=False)
    used_at: Mapped[datetime | None] = tstz()
    created_at: Mapped[datetime] = created_at()
