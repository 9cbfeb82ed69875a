"""API shapes for connected accounts (tokens never leave the server)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

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
    info: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @field_validator("scopes", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [s for s in value.split(",") if s]
        return value
