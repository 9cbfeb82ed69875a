"""Platform clients built from settings, and the OAuth redirect URI of each platform."""

from __future__ import annotations

from typing import Final, Literal

from cliply.config import Settings, get_settings
from cliply.errors import CliplyError, NotFound
from cliply.integrations.google_oauth import GoogleOAuthClient
from cliply.integrations.oauth_common import RetryPolicy
from cliply.integrations.tiktok import TikTokClient
from cliply.integrations.youtube import YouTubeClient

Platform = Literal["tiktok", "youtube"]
PLATFORMS: Final[tuple[Platform, ...]] = ("tiktok", "youtube")


class PlatformNotConfigured(CliplyError):
    status, code, title = 503, "platform-not-configured", "Platform not configured"


class PlatformUnavailable(CliplyError):
    """The platform failed or could not be reached; trying again later may work."""

    status, code, title = 502, "platform-unavailable", "Platform unavailable"


def check_platform(platform: str) -> Platform:
    for known in PLATFORMS:
        if platform == known:
            return known
    raise NotFound(
        f"Unknown platform {platform!r}; use one of {', '.join(PLATFORMS)}.",
        code="unknown-platform",
    )


def redirect_uri(platform: Platform, settings: Settings | None = None) -> str:
    s = settings or get_settings()
    return f"{s.public_base_url.rstrip('/')}/api/v1/accounts/{platform}/callback"


def retry_policy(settings: Settings | None = None) -> RetryPolicy:
    s = settings or get_settings()
    base = s.integration_retry_base_s
    return RetryPolicy(max_retries=5, base_delay_s=base, max_delay_s=max(60.0, base))


def tiktok_client(settings: Settings | None = None) -> TikTokClient:
    s = settings or get_settings()
    if not s.tiktok_client_key or s.tiktok_client_secret is None:
        raise PlatformNotConfigured(
            "TikTok is not set up on this server (TIKTOK_CLIENT_KEY / TIKTOK_CLIENT_SECRET).",
            platform="tiktok",
        )
    return TikTokClient(
        auth_base=s.tiktok_auth_base,
        api_base=s.tiktok_api_base,
        client_key=s.tiktok_client_key,
        client_secret=s.tiktok_client_secret.get_secret_value(),
        chunk_size=s.tiktok_chunk_size,
        retry=retry_policy(s),
    )


def google_oauth_client(settings: Settings | None = None) -> GoogleOAuthClient:
    s = settings or get_settings()
    if not s.google_client_id or s.google_client_secret is None:
        raise PlatformNotConfigured(
            "YouTube is not set up on this server (GOOGLE_CLIENT_ID / GOOGLE_CLIENT_SECRET).",
            platform="youtube",
        )
    return GoogleOAuthClient(
        auth_base=s.google_auth_base,
        token_base=s.google_token_base,
        client_id=s.google_client_id,
        client_secret=s.google_client_secret.get_secret_value(),
    )


def youtube_client(settings: Settings | None = None) -> YouTubeClient:
    s = settings or get_settings()
    return YouTubeClient(
        api_base=s.youtube_api_base,
        upload_base=s.youtube_upload_base,
        chunk_size=s.youtube_chunk_size,
        retry=retry_policy(s),
    )
