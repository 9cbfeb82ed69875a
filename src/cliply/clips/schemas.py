"""API shapes for clips: listing, manual clips, edits, download links."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, model_validator

from cliply.media.captions import CAPTION_STYLES
from cliply.media.reframe import ASPECTS
from cliply.schemas import Omittable, Strict


def _check_choices(aspect: str | None, caption_style: str | None) -> None:
    if aspect is not None and aspect not in ASPECTS:
        raise ValueError(f"aspect must be one of {', '.join(ASPECTS)}")
    if caption_style is not None and caption_style not in CAPTION_STYLES:
        raise ValueError(f"caption_style must be one of {', '.join(CAPTION_STYLES)}")


class ClipIn(Strict):
    """A clip added by hand from a time range (snapped to word boundaries)."""

    start: float = Field(ge=0, description="Start in source seconds.")
    end: float = Field(gt=0, description="End in source seconds.")
    title: str = Field("", max_length=300)
    caption_style: str | None = None
    aspect: str | None = None

    @model_validator(mode="after")
    def _valid(self) -> ClipIn:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        _check_choices(self.aspect, self.caption_style)
        return self


class ClipPatch(Strict):
    start: Omittable[float] = Field(None, ge=0)
    end: Omittable[float] = Field(None, gt=0)
    title: Omittable[str] = Field(None, max_length=300)
    description: Omittable[str] = Field(None, max_length=5000)
    hashtags: Omittable[list[str]] = Field(None, max_length=30)
    caption_style: Omittable[str] = None
    aspect: Omittable[str] = None

    @model_validator(mode="after")
    def _valid(self) -> ClipPatch:
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("end must be after start")
        _check_choices(self.aspect, self.caption_style)
        return self


class ClipOut(BaseModel):
    id: uuid.UUID
    project_id: uuid.UUID
    origin: str
    rank: int | None
    start: float
    end: float
    duration: float
    title: str
    description: str
    hashtags: list[str]
    text: str
    score: float | None
    reasons: list[dict[str, Any]]
    caption_style: str
    aspect: str
    status: str
    error: str | None
    render_version: int
    width: int | None
    height: int | None
    layout: str | None
    download_url: str | None = Field(None, description="API path that redirects to the video.")
    thumbnail_url: str | None = None
    created_at: datetime
    updated_at: datetime


class MediaLink(BaseModel):
    url: str
    expires_in: int
