"""API shapes for posts (upload references stay internal)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class PostOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    schedule_id: uuid.UUID | None
    clip_id: uuid.UUID | None
    account_id: uuid.UUID | None
    platform: str
    status: str
    platform_post_id: str | None
    url: str | None
    error: str | None
    attempts: int
    request: dict[str, Any]
    published_at: datetime | None
    gone_at: datetime | None = None
    gone_reason: str | None = None  # deleted | private | unavailable (not saying which)
    created_at: datetime
    updated_at: datetime
