"""API shapes for jobs and their timelines."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    status: JobStatus
    project_id: uuid.UUID | None
    priority: int
    attempts: int
    max_attempts: int
    progress: float
    progress_message: str | None
    cancel_requested: bool
    run_at: datetime
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    error_code: str | None
    result: dict[str, Any] | None


class JobEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    event: str
    worker_id: str | None
    attempt: int
    message: str | None
    data: dict[str, Any] | None


class JobDetail(JobOut):
    payload: dict[str, Any] | list[Any] | str | int | float | bool | None
    events: list[JobEventOut]
