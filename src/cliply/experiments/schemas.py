"""API shapes for viral experiments: variants of a clip posted side by side, a Bayesian winner."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from cliply.platforms.base import Privacy
from cliply.schemas import Strict

Metric = Literal["views", "engagement_rate"]
CaptionStyle = Literal["bold", "minimal", "karaoke", "boxed"]
_HASHTAG = re.compile(r"^[^\s#,]{1,100}$")


def _tags(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    out: list[str] = []
    for raw in value:
        tag = raw.strip().lstrip("#")
        if not _HASHTAG.match(tag):
            raise ValueError(f"hashtag {raw!r} must be one word without spaces, commas or '#'")
        if f"#{tag}" not in out:
            out.append(f"#{tag}")
    return out


class VariantIn(Strict):
    """One variant: what it changes from the clip (leave everything out for the control)."""

    label: str = Field(min_length=1, max_length=50)
    hook_sentence: int | None = Field(
        None,
        ge=0,
        le=50,
        description="Start at this sentence of the clip (0 = its first): a different hook.",
    )
    title: str | None = Field(None, min_length=1, max_length=300)
    caption: str | None = Field(None, max_length=2000, description="Post text / description.")
    hashtags: list[str] | None = Field(None, max_length=30)
    caption_style: CaptionStyle | None = None
    title_overlay: bool | None = Field(None, description="Draw the title over the first seconds.")
    thumbnail_at: float | None = Field(
        None, ge=0, le=600, description="Thumbnail frame, seconds after the variant's start."
    )
    post_at: datetime | None = Field(
        None, description="This variant's own posting time (no offset: in the plan's timezone)."
    )

    _hashtags = field_validator("hashtags")(_tags)


class ScheduleIn(Strict):
    """Where and when the variants post."""

    account_ids: list[uuid.UUID] = Field(min_length=1, max_length=20)
    start_at: datetime | None = Field(
        None, description="First posts (no offset: in `timezone`); default now."
    )
    timezone: str = Field("UTC", max_length=64)
    mode: Literal["all", "split"] = Field(
        "all",
        description="all: every variant on every account, spread by the window; split: the "
        "variants share the accounts out.",
    )
    privacy: Privacy = "public"

    @model_validator(mode="after")
    def _unique(self) -> ScheduleIn:
        if len(set(self.account_ids)) != len(self.account_ids):
            raise ValueError("account_ids has duplicates")
        return self


class ExperimentIn(Strict):
    clip_id: uuid.UUID
    name: str = Field(min_length=1, max_length=200)
    metric: Metric = "views"
    variants: list[VariantIn] = Field(min_length=2, max_length=5)
    schedule: ScheduleIn | None = Field(
        None, description="Schedule the variants now; without it the experiment stays a draft."
    )
    deadline_at: datetime | None = Field(
        None, description="Stop then at the latest; default EXPERIMENT_DEFAULT_DAYS after start."
    )
    threshold: float | None = Field(
        None, gt=0.5, lt=1, description="P(best) that declares a winner (default the setting)."
    )
    auto_promote: bool = Field(
        False, description="Post the winner to the accounts that have not posted it."
    )

    @model_validator(mode="after")
    def _labels(self) -> ExperimentIn:
        labels = [v.label for v in self.variants]
        if len(set(labels)) != len(labels):
            raise ValueError("variant labels must differ")
        return self


class StopIn(Strict):
    winner_variant_id: uuid.UUID | None = Field(
        None, description="Declare this variant the winner by hand (default: the rule's, if any)."
    )


class PromoteIn(Strict):
    account_ids: list[uuid.UUID] | None = Field(
        None, max_length=20, description="Default: the experiment's accounts."
    )
    at: datetime | None = Field(None, description="Default now (spread by the window).")


class VariantStats(BaseModel):
    posts: int = 0
    views: float = 0
    count: float = Field(0, description="views, or engagements for engagement_rate")
    exposure: float = Field(0, description="post-hours for views, views for engagement_rate")
    p_best: float | None = None
    p_win: float | None = None
    mean: float | None = Field(None, description="Posterior mean (views/hour or rate).")
    low: float | None = Field(None, description="5th percentile of the posterior.")
    high: float | None = Field(None, description="95th percentile of the posterior.")


class VariantScheduleOut(BaseModel):
    schedule_id: uuid.UUID
    account_id: uuid.UUID
    scheduled_at: datetime
    status: str


class VariantOut(BaseModel):
    id: uuid.UUID
    label: str
    clip_id: uuid.UUID | None
    clip_status: str | None
    render_job_id: uuid.UUID | None
    changes: dict[str, Any] = Field(description="What this variant changes from the clip.")
    post_ids: list[uuid.UUID]
    schedules: list[VariantScheduleOut]
    stats: VariantStats


class ExperimentOut(BaseModel):
    id: uuid.UUID
    clip_id: uuid.UUID
    name: str
    metric: str
    status: str
    threshold: float
    deadline_at: datetime | None
    stop_reason: str | None
    auto_promote: bool
    winner_variant_id: uuid.UUID | None
    leader_variant_id: uuid.UUID | None
    ready: bool = Field(description="Every variant has the minimum evidence for a decision.")
    started_at: datetime | None
    ended_at: datetime | None
    evaluated_at: datetime | None
    promoted_at: datetime | None
    created_at: datetime
    plan: dict[str, Any]
    variants: list[VariantOut] = []


class PromoteOut(BaseModel):
    experiment: ExperimentOut
    scheduled: list[VariantScheduleOut]
