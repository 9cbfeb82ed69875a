"""API shapes for schedules: what to post where and when, with per-post text and audience."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from cliply.platforms.base import Privacy
from cliply.schemas import Omittable, Strict

_HASHTAG = re.compile(r"^[^\s#,]{1,100}$")


class PostOptions(Strict):
    """Platform switches; each platform uses the ones it has."""

    disable_comments: bool = False
    disable_duet: bool = Field(False, description="TikTok only.")
    disable_stitch: bool = Field(False, description="TikTok only.")
    ai_generated: bool = Field(False, description="Label the video as AI-generated content.")
    made_for_kids: bool = Field(False, description="YouTube only.")
    notify_subscribers: bool = Field(True, description="YouTube only.")


def _clean_hashtags(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    out: list[str] = []
    for raw in value:
        tag = raw.strip().lstrip("#")
        if not _HASHTAG.match(tag):
            raise ValueError(f"hashtag {raw!r} must be one word without spaces, commas or '#'")
        if tag not in out:
            out.append(tag)
    return out


class ScheduleIn(Strict):
    clip_id: uuid.UUID
    account_id: uuid.UUID
    scheduled_at: datetime | None = Field(
        None,
        description="ISO 8601 time. Without an offset it is wall-clock time in `timezone`. "
        "Leave out (or give the current time) to publish now.",
    )
    timezone: str = Field("UTC", max_length=64, description="IANA time zone, e.g. Europe/Berlin.")
    title: str | None = Field(None, max_length=300, description="Defaults to the clip's title.")
    caption: str | None = Field(
        None, max_length=2000, description="Post text; defaults to the clip's description."
    )
    hashtags: list[str] | None = Field(None, max_length=30)
    privacy: Privacy = "public"
    options: PostOptions = Field(default_factory=PostOptions)

    _tags = field_validator("hashtags")(_clean_hashtags)


class SchedulePatch(Strict):
    scheduled_at: datetime | None = None
    timezone: Omittable[str] = Field(None, max_length=64)
    title: Omittable[str] = Field(None, max_length=300)
    caption: Omittable[str] = Field(None, max_length=2000)
    hashtags: Omittable[list[str]] = Field(None, max_length=30)
    privacy: Omittable[Privacy] = None
    options: Omittable[PostOptions] = None

    _tags = field_validator("hashtags")(_clean_hashtags)


class PostSummary(BaseModel):
    id: uuid.UUID
    status: str
    platform_post_id: str | None
    url: str | None
    error: str | None


class ScheduleOut(BaseModel):
    id: uuid.UUID
    clip_id: uuid.UUID
    account_id: uuid.UUID
    platform: str | None
    scheduled_at: datetime
    timezone: str
    scheduled_local: str = Field(description="scheduled_at as wall-clock time in `timezone`.")
    title: str
    caption: str
    hashtags: list[str]
    privacy: str
    options: dict[str, Any]
    status: str
    error: str | None
    job_id: uuid.UUID | None
    post: PostSummary | None
    created_at: datetime
    updated_at: datetime


class ScanOut(BaseModel):
    claimed: int
    schedule_ids: list[uuid.UUID]
    repaired: int = Field(0, description="Schedules marked failed because their job ended.")
