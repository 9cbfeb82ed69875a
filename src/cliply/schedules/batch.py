"""Scheduling many posts in one request: every clip on every account, at given times or spread one a day.

Every post goes through `service.create_schedule` (the same checks as one at a time), inside
the caller's transaction: one invalid post refuses the whole batch, naming the clip and the
account it is about, and nothing is scheduled.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Literal

from pydantic import Field, model_validator
from sqlalchemy.orm import Session

from cliply.accounts.service import get_account
from cliply.errors import CliplyError, ValidationFailed
from cliply.integrations.oauth_common import IntegrationError
from cliply.platforms import registry
from cliply.platforms.base import Privacy
from cliply.publishing import forms
from cliply.schedules import service
from cliply.schedules.models import Schedule
from cliply.schedules.schemas import PostOptions, ScheduleIn, _clean_hashtags
from cliply.schemas import Strict

MAX_BATCH = 200


class Spread(Strict):
    """One clip a day (or every `every_days`), at `at` wall-clock time in the batch's zone."""

    start_date: date | None = Field(
        None, description="First day; default: today if `at` is still ahead, else tomorrow."
    )
    at: time = Field(time(18, 0), description="Time of day, e.g. 18:00.")
    every_days: int = Field(1, ge=1, le=30)


class TikTokFields(Strict):
    privacy: Literal["public", "followers", "friends", "private"] = Field(
        description="Required, from the account's allowed options (see post-form)."
    )
    caption: str | None = Field(None, max_length=forms.TIKTOK_CAPTION_MAX)
    disable_comments: bool = False
    disable_duet: bool = False
    disable_stitch: bool = False
    ai_generated: bool = False


class YouTubeFields(Strict):
    title: str | None = Field(None, max_length=300, description="Defaults to the clip's title.")
    description: str | None = Field(None, max_length=forms.YOUTUBE_DESCRIPTION_MAX)
    tags: list[str] | None = Field(None, max_length=30)
    privacy: Literal["public", "unlisted", "private"]
    made_for_kids: bool
    notify_subscribers: bool = True

    @model_validator(mode="after")
    def _tags(self) -> YouTubeFields:
        self.tags = _clean_hashtags(self.tags)
        return self


class OtherFields(Strict):
    """Any other platform's post (Instagram, Facebook, …): audience and caption."""

    privacy: Privacy
    caption: str | None = Field(None, max_length=forms.CAPTION_MAX)


class BatchIn(Strict):
    clip_ids: list[uuid.UUID] = Field(min_length=1, max_length=100)
    account_ids: list[uuid.UUID] = Field(min_length=1, max_length=20)
    timezone: str = Field("UTC", max_length=64, description="IANA time zone.")
    times: list[datetime] | None = Field(
        None,
        description="One time per clip, in clip order (no offset: wall-clock in `timezone`).",
    )
    spread: Spread | None = None
    tiktok: TikTokFields | None = None
    youtube: YouTubeFields | None = None
    others: dict[str, OtherFields] = Field(
        default_factory=dict, description="Fields of other platforms' posts, by platform name."
    )

    @model_validator(mode="after")
    def _valid(self) -> BatchIn:
        if len(set(self.clip_ids)) != len(self.clip_ids):
            raise ValueError("clip_ids has duplicates")
        if len(set(self.account_ids)) != len(self.account_ids):
            raise ValueError("account_ids has duplicates")
        if self.times is not None and self.spread is not None:
            raise ValueError("give times or spread, not both")
        if self.times is not None and len(self.times) != len(self.clip_ids):
            raise ValueError("give one time per clip")
        if len(self.clip_ids) * len(self.account_ids) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} posts per request")
        return self


def spread_times(spread: Spread, count: int, tz_name: str, now: datetime) -> list[datetime]:
    """Wall-clock times (naive, in `tz_name`) one `every_days` apart."""
    local_now = now.astimezone(service.zone(tz_name)).replace(tzinfo=None)
    first = spread.start_date or local_now.date()
    if spread.start_date is None and datetime.combine(first, spread.at) <= local_now:
        first += timedelta(days=1)
    return [
        datetime.combine(first + timedelta(days=i * spread.every_days), spread.at)
        for i in range(count)
    ]


def _schedule_in(
    platform: str, clip_id: uuid.UUID, account_id: uuid.UUID, at: datetime | None, body: BatchIn
) -> ScheduleIn:
    if platform == "tiktok":
        if body.tiktok is None:
            raise ValidationFailed(
                "Choose who can view the TikTok posts (the tiktok fields are missing).",
                code="tiktok-fields-required",
            )
        t = body.tiktok
        return ScheduleIn(
            clip_id=clip_id,
            account_id=account_id,
            scheduled_at=at,
            timezone=body.timezone,
            caption=t.caption,
            privacy=t.privacy,
            options=PostOptions(
                disable_comments=t.disable_comments,
                disable_duet=t.disable_duet,
                disable_stitch=t.disable_stitch,
                ai_generated=t.ai_generated,
            ),
        )
    if platform == "youtube":
        if body.youtube is None:
            raise ValidationFailed(
                "Fill in the YouTube fields: visibility and the made-for-kids answer.",
                code="youtube-fields-required",
            )
        y = body.youtube
        privacy: Privacy = y.privacy
        return ScheduleIn(
            clip_id=clip_id,
            account_id=account_id,
            scheduled_at=at,
            timezone=body.timezone,
            title=y.title,
            caption=y.description,
            hashtags=y.tags,
            privacy=privacy,
            options=PostOptions(
                made_for_kids=y.made_for_kids, notify_subscribers=y.notify_subscribers
            ),
        )
    other = body.others.get(platform)
    if other is None:
        raise ValidationFailed(
            f"Fill in the {platform} fields (at least the audience).",
            code="platform-fields-required",
            platform=platform,
        )
    return ScheduleIn(
        clip_id=clip_id,
        account_id=account_id,
        scheduled_at=at,
        timezone=body.timezone,
        caption=other.caption,
        privacy=other.privacy,
    )


def _check_audience(account_id: uuid.UUID, platform: str, privacy: str, name: str) -> None:
    """Refuse an audience the account does not offer today (the platform would refuse the
    post at publish time, hours later)."""
    try:
        audience = forms.live_audience(registry.get(platform), account_id)
    except IntegrationError:  # the platform is unreachable now: the publish job checks again
        return
    if audience is not None and privacy not in audience.privacy:
        allowed = ", ".join(forms.PRIVACY_LABELS.get(p, p) for p in audience.privacy)
        raise ValidationFailed(
            f"{name} does not allow '{forms.PRIVACY_LABELS.get(privacy, privacy)}' "
            f"(it allows: {allowed or 'nothing right now'}).",
            code="privacy-not-allowed",
        )


def create_batch(
    db: Session, workspace_id: uuid.UUID, user_id: uuid.UUID | None, body: BatchIn
) -> list[Schedule]:
    now = service._now()
    service.zone(body.timezone)
    if body.times is not None:
        times: list[datetime | None] = list(body.times)
    elif body.spread is not None:
        times = list(spread_times(body.spread, len(body.clip_ids), body.timezone, now))
    else:
        times = [None] * len(body.clip_ids)  # now
    accounts = [get_account(db, workspace_id, a) for a in body.account_ids]
    for account in accounts:
        if account.platform == "tiktok" and body.tiktok is not None:
            _check_audience(account.id, "tiktok", body.tiktok.privacy, account.display_name)
    out: list[Schedule] = []
    for clip_id, at in zip(body.clip_ids, times, strict=True):
        for account in accounts:
            try:
                item = _schedule_in(account.platform, clip_id, account.id, at, body)
                out.append(service.create_schedule(db, workspace_id, user_id, item))
            except CliplyError as exc:
                exc.message = f"{account.platform} · {account.display_name}: {exc.message}"
                exc.extra = {**exc.extra, "clip_id": str(clip_id), "account_id": str(account.id)}
                raise
    return out
