"""API shapes for viral experiments (variants of a clip compared on a metric)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cliply.schemas import Strict

Metric = Literal["views", "likes", "comments", "shares", "watch_time_s"]


class VariantIn(Strict):
    label: str = Field(min_length=1, max_length=50)
    clip_id: uuid.UUID | None = Field(
        None, description="Another clip as this variant; default the experiment's clip."
    )
    changes: dict[str, Any] = Field(
        default_factory=dict, description="title, caption_style, hook … that differ."
    )


class ExperimentIn(Strict):
    clip_id: uuid.UUID
    name: str = Field(min_length=1, max_length=200)
    metric: Metric = "views"
    variants: list[VariantIn] = Field(min_length=2, max_length=10)


class VariantPostIn(Strict):
    post_id: uuid.UUID


class VariantOut(BaseModel):
    id: uuid.UUID
    label: str
    clip_id: uuid.UUID | None
    changes: dict[str, Any]
    post_ids: list[uuid.UUID]
    metric_total: float


class ExperimentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    clip_id: uuid.UUID
    name: str
    metric: str
    status: str
    winner_variant_id: uuid.UUID | None
    started_at: datetime | None
    ended_at: datetime | None
    created_at: datetime
    variants: list[VariantOut] = []
