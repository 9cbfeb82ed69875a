"""Who may see a post: one vocabulary for schedules, mapped onto each platform's values."""

from __future__ import annotations

from typing import Final, Literal

from cliply.errors import ValidationFailed
from cliply.integrations.youtube import PrivacyStatus

Privacy = Literal["public", "unlisted", "followers", "friends", "private"]
PRIVACY_CHOICES: Final[tuple[Privacy, ...]] = (
    "public",
    "unlisted",
    "followers",
    "friends",
    "private",
)

TIKTOK_PRIVACY: Final[dict[str, str]] = {
    "public": "PUBLIC_TO_EVERYONE",
    "followers": "FOLLOWER_OF_CREATOR",
    "friends": "MUTUAL_FOLLOW_FRIENDS",
    "private": "SELF_ONLY",
}
YOUTUBE_PRIVACY: Final[dict[str, PrivacyStatus]] = {
    "public": "public",
    "unlisted": "unlisted",
    "private": "private",
}
_BY_PLATFORM: Final[dict[str, dict[str, str]]] = {
    "tiktok": TIKTOK_PRIVACY,
    "youtube": dict(YOUTUBE_PRIVACY),
}


def check_privacy(platform: str, privacy: str) -> None:
    """422 when the platform has no such audience (TikTok has no "unlisted", YouTube no
    "followers"/"friends")."""
    allowed = _BY_PLATFORM.get(platform, {})
    if privacy not in allowed:
        raise ValidationFailed(
            f"privacy {privacy!r} is not available on {platform}; "
            f"choose one of {', '.join(allowed)}.",
            code="privacy-not-supported",
            platform=platform,
            allowed=list(allowed),
        )
