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
from cliply.platforms.base import Audience, Platform
from cliply.publishing.session import TokenSession

log = structlog.get_logger(__name__)

PRIVACY_LABELS = {
    "public": "Everyone",
    "unlisted": "Anyone with the link (unlisted)",
    "followers": "Followers",
    "friends": "Friends (followers you follow back)",
    "private": "Only me",
}
TIKTOK_CAPTION_MAX = 2200
YOUTUBE_TITLE_MAX = 100
YOUTUBE_DESCRIPTION_MAX = 5000
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


SWITCH_LABELS = {
    "disable_comments": "Turn off comments",
    "disable_duet": "Turn off Duet",
    "disable_stitch": "Turn off Stitch",
}


def _privacy(choices: tuple[str, ...], label: str, help: str | None = None) -> FieldSpec:
    # No default on purpose: the user picks the audience (TikTok's review demands it).
    return FieldSpec(
        name="privacy",
        label=label,
        kind="choice",
        required=True,
        choices=[Choice(value=o, label=PRIVACY_LABELS.get(o, o)) for o in choices],
        help=help,
    )


# The fields each platform's posts ask for, besides the audience (declared as data: the batch
# scheduler in schedules.batch takes the same names).
def _tiktok_extras(audience: Audience | None) -> list[FieldSpec]:
    off = audience.disabled if audience else frozenset()
    return [
        FieldSpec(name="caption", label="Caption", kind="textarea", max_length=TIKTOK_CAPTION_MAX),
        *[
            FieldSpec(
                name=name,
                label=label,
                kind="bool",
                disabled=name in off,
                forced=True if name in off else None,
                help="Turned off in this account's TikTok settings." if name in off else None,
                default=name in off,
            )
            for name, label in SWITCH_LABELS.items()
        ],
        FieldSpec(
            name="ai_generated",
            label="AI-generated content",
            kind="bool",
            default=False,
            help="Label the video as AI-generated.",
        ),
    ]


def _youtube_extras() -> list[FieldSpec]:
    return [
        FieldSpec(
            name="title",
            label="Title",
            kind="text",
            required=True,
            max_length=YOUTUBE_TITLE_MAX,
            help="Leave empty to use each clip's title.",
        ),
        FieldSpec(name="description", label="Description", kind="textarea", max_length=5000),
        FieldSpec(name="tags", label="Tags", kind="tags", help="Comma-separated."),
        FieldSpec(
            name="made_for_kids",
            label="Is this video made for kids?",
            kind="choice",
            required=True,
            choices=[
                Choice(value="false", label="No, it's not made for kids"),
                Choice(value="true", label="Yes, it's made for kids"),
            ],
            help="YouTube requires this declaration (COPPA).",
        ),
        FieldSpec(name="notify_subscribers", label="Notify subscribers", kind="bool", default=True),
    ]


def _generic_extras() -> list[FieldSpec]:
    return [FieldSpec(name="caption", label="Caption", kind="textarea", max_length=CAPTION_MAX)]


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
    if audience is not None:
        choices = audience.privacy
        help_text = f"The choices this {adapter.label} account allows; pick one."
    else:
        choices = tuple(adapter.privacy_choices)
        help_text = None
    label = "Who can view this video" if adapter.name == "tiktok" else "Visibility"
    extras = {"tiktok": lambda: _tiktok_extras(audience), "youtube": _youtube_extras}
    fields = [_privacy(choices, label, help_text), *extras.get(adapter.name, _generic_extras)()]
    return PostForm(
        account_id=account.id,
        platform=account.platform,
        display_name=account.display_name,
        usable=problem is None,
        problem=problem,
        max_duration_s=audience.max_duration_s if audience else None,
        fields=fields,
    )
