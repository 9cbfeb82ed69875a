"""Scheduling many posts in one request: every clip on every account, at given times or
spread one a day.

Each platform's fields arrive under its name in `fields` and are checked against what its
adapter declares (`publishing.forms.declared_fields`: the audience, then title, caption or
description, tags and option switches), so a platform added to the registry schedules here
without code in this module. Every post then goes through `service.create_schedule` (the
same checks as one at a time) inside the caller's transaction: one invalid post refuses the
whole batch, naming the account it is about, and nothing is scheduled.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

from pydantic import Field, model_validator
from sqlalchemy.orm import Session

from cliply.accounts.models import ConnectedAccount
from cliply.accounts.service import get_account
from cliply.errors import CliplyError, ValidationFailed
from cliply.integrations.oauth_common import IntegrationError
from cliply.platforms import registry
from cliply.platforms.base import Audience, Platform
from cliply.publishing import forms
from cliply.schedules import service
from cliply.schedules.models import Schedule
from cliply.schedules.schemas import PostOptions, ScheduleIn
from cliply.schemas import Strict

MAX_BATCH = 200
TEXT_KEYS = {"title": "title", "caption": "caption", "description": "caption", "tags": "hashtags"}


class Spread(Strict):
    """One clip a day (or every `every_days`), at `at` wall-clock time in the batch's zone."""

    start_date: date | None = Field(
        None, description="First day; default: today if `at` is still ahead, else tomorrow."
    )
    at: time = Field(time(18, 0), description="Time of day, e.g. 18:00.")
    every_days: int = Field(1, ge=1, le=30)


class BatchIn(Strict):
    clip_ids: list[uuid.UUID] = Field(min_length=1, max_length=100)
    account_ids: list[uuid.UUID] = Field(min_length=1, max_length=20)
    timezone: str = Field("UTC", max_length=64, description="IANA time zone.")
    times: list[datetime] | None = Field(
        None,
        description="One time per clip, in clip order (no offset: wall-clock in `timezone`).",
    )
    spread: Spread | None = None
    fields: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Per platform name, the values of the fields GET /accounts/{id}/post-form "
        'lists, e.g. {"tiktok": {"privacy": "public"}, "youtube": {"privacy": "unlisted", '
        '"made_for_kids": false}}. Nothing is pre-selected: `privacy` is required.',
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


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _as_bool(value: Any) -> Any:
    # Yes/no answers arrive as choice values ("true"/"false") or booleans.
    return {"true": True, "false": False}.get(value, value) if isinstance(value, str) else value


def _audience(adapter: Platform, account: ConnectedAccount) -> Audience | None:
    try:
        return forms.live_audience(adapter, account.id)
    except IntegrationError:  # unreachable now: the publish job checks again
        return None


def _post_values(
    adapter: Platform, account: ConnectedAccount, audience: Audience | None, body: BatchIn
) -> dict[str, Any]:
    """The platform's values checked against its declared fields; ScheduleIn keyword args."""
    specs = {f.name: f for f in forms.declared_fields(adapter, audience)}
    values = body.fields.get(adapter.name) or {}
    missing = [n for n, f in specs.items() if f.required and _empty(values.get(n))]
    if missing:
        labels = ", ".join(specs[n].label.lower() for n in missing)
        raise ValidationFailed(
            f"{adapter.label} · {account.display_name}: fill in {labels}.",
            code="platform-fields-required",
            platform=adapter.name,
            fields=missing,
        )
    unknown = sorted(set(values) - set(specs))
    if unknown:
        raise ValidationFailed(
            f"{adapter.label} posts have no field {', '.join(unknown)}.",
            code="unknown-post-field",
            platform=adapter.name,
            fields=unknown,
        )
    privacy = str(values["privacy"])
    if audience is not None and privacy not in audience.privacy:
        allowed = ", ".join(forms.PRIVACY_LABELS.get(p, p) for p in audience.privacy)
        raise ValidationFailed(
            f"{account.display_name} does not allow "
            f"'{forms.PRIVACY_LABELS.get(privacy, privacy)}' on {adapter.label} "
            f"(it allows: {allowed or 'nothing right now'}).",
            code="privacy-not-allowed",
            platform=adapter.name,
        )
    out: dict[str, Any] = {"privacy": privacy}
    options: dict[str, Any] = {}
    for name, value in values.items():
        spec = specs[name]
        if name in TEXT_KEYS and not _empty(value):
            out[TEXT_KEYS[name]] = value
        elif name in PostOptions.model_fields:
            options[name] = spec.forced if spec.disabled else _as_bool(value)
    for name, spec in specs.items():  # a switch the account turned off stays off
        if spec.disabled and spec.forced is not None and name in PostOptions.model_fields:
            options[name] = spec.forced
    out["options"] = PostOptions.model_validate(options)
    return out


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
    targets = []
    for account_id in body.account_ids:
        account = get_account(db, workspace_id, account_id)
        adapter = registry.get(account.platform)
        values = _post_values(adapter, account, _audience(adapter, account), body)
        targets.append((account, adapter, values))
    out: list[Schedule] = []
    for clip_id, at in zip(body.clip_ids, times, strict=True):
        for account, adapter, values in targets:
            try:
                item = ScheduleIn(
                    clip_id=clip_id,
                    account_id=account.id,
                    scheduled_at=at,
                    timezone=body.timezone,
                    **values,
                )
                out.append(service.create_schedule(db, workspace_id, user_id, item))
            except CliplyError as exc:
                exc.message = f"{adapter.label} · {account.display_name}: {exc.message}"
                exc.extra = {**exc.extra, "clip_id": str(clip_id), "account_id": str(account.id)}
                raise
    return out
