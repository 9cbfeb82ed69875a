"""API shapes for projects, URL ingest, resumable uploads and transcripts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from cliply.pipeline.options import ClipOptions
from cliply.projects.models import ProjectStatus
from cliply.schemas import Strict


class UrlProjectIn(Strict):
    url: str = Field(
        min_length=8, max_length=2000, description="http(s) URL of a video or a page with one."
    )
    name: str | None = Field(None, max_length=300)
    options: ClipOptions = Field(default_factory=lambda: ClipOptions())


class OptionsIn(ClipOptions):
    """Clip options for re-running highlight detection."""


class ProjectOut(BaseModel):
    id: uuid.UUID
    name: str
    status: ProjectStatus
    progress: float
    error_code: str | None
    error_message: str | None
    source_type: str
    source_url: str | None
    original_filename: str | None
    size_bytes: int | None
    duration_s: float | None
    width: int | None
    height: int | None
    options: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class UploadOut(BaseModel):
    id: uuid.UUID
    project_id: uuid.UUID
    offset: int
    length: int
    status: str
    expires_at: datetime
    location: str


TranscriptFormat = Literal["json", "srt", "vtt"]
