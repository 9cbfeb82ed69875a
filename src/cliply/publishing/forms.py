"""What a post to a given account asks of the user: the platform's fields, declared once, so
the schedule form is built from them and the batch scheduler checks against them.

TikTok's audience choices come from the creator's own `creator_info` (what TikTok allows this
account today), and the form pre-selects none of them, as TikTok's app review requires; the
switches the creator disabled in TikTok are shown disabled. YouTube asks for a title, a
description, tags, the audience and the made-for-kids declaration (no default either).
"""

from __future__ import annotations

import uuid
from typing import Literal

import structlog
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from cliply.accounts.service import get_account, usable_reason
from cliply.accounts.tokens import TokensUnreadable
from cliply.errors import CliplyError
from cliply.integrations.oauth_common import IntegrationError
from cliply.platforms import registry
from cliply.platforms.base import Audience, Platform, PostField
from cliply.publishing.session import TokenSession

log = structlog.get_logger(__name__)

PRIVACY_LABELS = {
    "public": "Everyone",
    "unlisted": "Anyone with the link (unlisted)",
    "followers": "Followers",
    "friends": "Friends (followers you follow back)",
    "private": "Only me",
}
CAPTION_MAX = 2200


class Choice(BaseModel):
    value: str
    label: str


class FieldSpec(BaseModel):
    name: str
    label: str
    kind: Literal["choice", "text", "textarea", "tags", "bool"]
    required: bool = False
    choices: list[Choice] | None = None
    max_length: int | None = None
    help: str | None = None
    disabled: bool = Field(False, description="Shown but not changeable (e.g. off in TikTok).")
    forced: bool | None = Field(None, description="The value a disabled switch has.")
    default: bool | str | None = None


class PostForm(BaseModel):
    account_id: uuid.UUID
    platform: str
    display_name: str
    usable: bool
    problem: str | None = Field(None, description="Why the account cannot post now.")
    max_duration_s: int | None = None
    fields: list[FieldSpec]


def _spec(field: PostField) -> FieldSpec:
    return FieldSpec(
        name=field.name,
        label=field.label,
        kind=field.kind,
        required=field.required,
        choices=[Choice(value=c.value, label=c.label) for c in field.choices] or None,
        max_length=field.max_length,
        help=field.help,
        disabled=field.disabled,
        forced=field.forced,
        default=field.default,
    )


def declared_fields(adapter: Platform, audience: Audience | None) -> list[FieldSpec]:
    """The audience (required, nothing pre-selected: TikTok's review demands it) and the
    fields the adapter declares (`post_fields`), else a caption."""
    choices = audience.privacy if audience is not None else tuple(adapter.privacy_choices)
    privacy = FieldSpec(
        name="privacy",
        label="Who can view this post",
        kind="choice",
        required=True,
        choices=[Choice(value=o, label=PRIVACY_LABELS.get(o, o)) for o in choices],
        help=f"The choices this {adapter.label} account allows; pick one."
        if audience is not None
        else None,
    )
    declare = getattr(adapter, "post_fields", None)
    extras: list[PostField] = (
        declare(audience)
        if declare is not None
        else [PostField(name="caption", label="Caption", kind="textarea", max_length=CAPTION_MAX)]
    )
    return [privacy, *[_spec(f) for f in extras]]


def live_audience(adapter: Platform, account_id: uuid.UUID) -> Audience | None:
    """The account's current options, from platforms whose adapter can say (`audience`)."""
    ask = getattr(adapter, "audience", None)
    if ask is None:
        return None
    result: Audience = ask(TokenSession(account_id))
    return result


def post_form(db: Session, workspace_id: uuid.UUID, account_id: uuid.UUID) -> PostForm:
    account = get_account(db, workspace_id, account_id)
    adapter = registry.get(account.platform)
    problem = usable_reason(account)
    audience: Audience | None = None
    if problem is None:
        try:
            audience = live_audience(adapter, account.id)
        except (CliplyError, IntegrationError, TokensUnreadable) as exc:
            log.warning("post_form.audience_failed", account_id=str(account.id))
            problem = f"{adapter.label} did not say what this account may post: {exc}"[:500]
    fields = declared_fields(adapter, audience)
    return PostForm(
        account_id=account.id,
        platform=account.platform,
        display_name=account.display_name,
        usable=problem is None,
        problem=problem,
        max_duration_s=audience.max_duration_s if audience else None,
        fields=fields,
    )
