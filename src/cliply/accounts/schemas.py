"""API shapes for connected accounts (tokens never leave the server)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator

from cliply.platforms import registry
from cliply.platforms.base import analytics_access
from cliply.schemas import Strict


class ConnectIn(Strict):
    redirect_after: str | None = Field(
        None,
        max_length=500,
        description="A path on this site to send the browser to once connected.",
    )


class ConnectOut(BaseModel):
    authorize_url: str
    expires_at: datetime


class AccountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    platform: str
    external_id: str
    display_name: str
    avatar_url: str | None
    scopes: list[str]
    status: str
    status_reason: str | None
    access_expires_at: datetime | None
    refresh_expires_at: datetime | None = None
    info: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @field_validator("scopes", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [s for s in value.split(",") if s]
        return value

    @computed_field  # type: ignore[prop-decorator]
    @property
    def health(self) -> AccountHealth:
        return account_health(self.status, self.status_reason, self.refresh_expires_at)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def analytics(self) -> AnalyticsAccessOut:
        return analytics_of(self.platform, self.scopes)


class AnalyticsAccessOut(BaseModel):
    state: Literal["full", "basic", "reconnect", "none"] = Field(
        description="full: all metrics; basic: counters only (the optional analytics scope "
        "was not granted); reconnect: connected before analytics was asked for, no metrics "
        "until reconnected; none: the platform reports no metrics here."
    )
    message: str
    reconnect: bool = Field(description="Reconnecting the account would add analytics.")


def analytics_of(platform: str, scopes: list[str]) -> AnalyticsAccessOut:
    try:
        adapter = registry.get(platform)
    except registry.UnknownPlatform:
        return AnalyticsAccessOut(
            state="none", message="No metrics for this platform.", reconnect=False
        )
    access = analytics_access(adapter, frozenset(scopes))
    if access == "reconnect":
        return AnalyticsAccessOut(
            state="reconnect",
            message=f"Reconnect this {adapter.label} account to collect its post analytics.",
            reconnect=True,
        )
    if access == "basic":
        return AnalyticsAccessOut(
            state="basic",
            message="Views, likes and comments are collected; reconnect and allow analytics "
            "access to add watch time and subscribers gained.",
            reconnect=True,
        )
    return AnalyticsAccessOut(
        state="full", message="Post analytics are collected.", reconnect=False
    )


# An access token expires every few hours and is refreshed on its own; what needs the user is
# a refresh grant running out (TikTok: a year; then only reconnecting helps).
EXPIRING_SOON = timedelta(days=7)


class AccountHealth(BaseModel):
    state: Literal["ok", "expiring", "needs_reconnect", "disconnected"]
    message: str
    reconnect: bool = Field(description="The user should connect the account again.")
    expires_at: datetime | None = Field(
        None, description="When the grant runs out and posting stops without a reconnect."
    )


def account_health(
    status: str, reason: str | None, refresh_expires_at: datetime | None
) -> AccountHealth:
    if status == "disconnected":
        return AccountHealth(
            state="disconnected",
            message=reason or "Disconnected. Connect it again to publish.",
            reconnect=True,
        )
    if status == "needs_reconnect":
        return AccountHealth(
            state="needs_reconnect",
            message=f"Reconnect needed: {reason}" if reason else "Reconnect needed.",
            reconnect=True,
        )
    now = datetime.now(UTC)
    if refresh_expires_at is not None and refresh_expires_at <= now + EXPIRING_SOON:
        return AccountHealth(
            state="expiring",
            message="Access runs out soon; reconnect to keep posting.",
            reconnect=True,
            expires_at=refresh_expires_at,
        )
    return AccountHealth(
        state="ok",
        message="Connected. Tokens are refreshed automatically.",
        reconnect=False,
        expires_at=refresh_expires_at,
    )
