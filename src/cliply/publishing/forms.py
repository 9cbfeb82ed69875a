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

from cliply.accounts import platforms
from cliply.accounts.service import get_account, usable_reason
from cliply.accounts.tokens import TokensUnreadable
from cliply.errors import CliplyError
from cliply.integrations.oauth_common import IntegrationError
from cliply.integrations.tiktok import CreatorInfo
from cliply.publishing.privacy import TIKTOK_PRIVACY, YOUTUBE_PRIVACY
from cliply.publishing.token_session import TokenSession

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


def _tiktok_fields(info: CreatorInfo | None) -> list[FieldSpec]:
    by_tiktok = {v: k for k, v in TIKTOK_PRIVACY.items()}
    options = [by_tiktok[o] for o in (info.privacy_level_options if info else ()) if o in by_tiktok]
    off = {
        "disable_comments": bool(info and info.comment_disabled),
        "disable_duet": bool(info and info.duet_disabled),
        "disable_stitch": bool(info and info.stitch_disabled),
    }
    labels = {
        "disable_comments": "Turn off comments",
        "disable_duet": "Turn off Duet",
        "disable_stitch": "Turn off Stitch",
    }
    return [
        FieldSpec(
            name="privacy",
            label="Who can view this video",
            kind="choice",
            required=True,
            choices=[Choice(value=o, label=PRIVACY_LABELS[o]) for o in options],
            help="The choices this TikTok account allows; pick one.",
        ),
        FieldSpec(name="caption", label="Caption", kind="textarea", max_length=TIKTOK_CAPTION_MAX),
        *[
            FieldSpec(
                name=name,
                label=labels[name],
                kind="bool",
                disabled=disabled,
                forced=True if disabled else None,
                help="Turned off in this account's TikTok settings." if disabled else None,
                default=disabled,
            )
            for name, disabled in off.items()
        ],
        FieldSpec(
            name="ai_generated",
            label="AI-generated content",
            kind="bool",
            default=False,
            help="Label the video as AI-generated.",
        ),
    ]


def _youtube_fields() -> list[FieldSpec]:
    return [
        FieldSpec(
            name="title",
            label="Title",
            kind="text",
            required=True,
            max_length=YOUTUBE_TITLE_MAX,
            help="Defaults to the clip's title.",
        ),
        FieldSpec(
            name="description",
            label="Description",
            kind="textarea",
            max_length=YOUTUBE_DESCRIPTION_MAX,
        ),
        FieldSpec(name="tags", label="Tags", kind="tags", help="Comma-separated."),
        FieldSpec(
            name="privacy",
            label="Visibility",
            kind="choice",
            required=True,
            choices=[Choice(value=o, label=PRIVACY_LABELS[o]) for o in YOUTUBE_PRIVACY],
        ),
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


def creator_info(account_id: uuid.UUID) -> CreatorInfo:
    """TikTok's current creator_info for the account (refreshing its token if needed)."""
    tokens = TokenSession(account_id)
    with platforms.tiktok_client() as tiktok:
        return tokens.call(tiktok.creator_info)


def post_form(db: Session, workspace_id: uuid.UUID, account_id: uuid.UUID) -> PostForm:
    account = get_account(db, workspace_id, account_id)
    problem = usable_reason(account)
    fields: list[FieldSpec]
    max_duration: int | None = None
    if account.platform == "tiktok":
        info: CreatorInfo | None = None
        if problem is None:
            try:
                info = creator_info(account.id)
            except (CliplyError, IntegrationError, TokensUnreadable) as exc:
                log.warning("tiktok.creator_info_failed", account_id=str(account.id))
                problem = f"TikTok did not say what this account may post: {exc}"[:500]
        fields = _tiktok_fields(info)
        if info is not None:
            max_duration = info.max_video_post_duration_sec or None
    elif account.platform == "youtube":
        fields = _youtube_fields()
    else:
        fields = []
        problem = problem or f"Scheduling from the form is not available for {account.platform}."
    return PostForm(
        account_id=account.id,
        platform=account.platform,
        display_name=account.display_name,
        usable=problem is None,
        problem=problem,
        max_duration_s=max_duration,
        fields=fields,
    )
