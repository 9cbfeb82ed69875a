"""What the Instagram and Facebook adapters share: Facebook Login and the Graph client.

Tokens: Meta has no refresh tokens. The long-lived user token (about 60 days) is kept as the
account's refresh token and renewed by exchanging it again before it expires; the account's
access token is what its publishing calls use (the user token for Instagram, the Page token
for a Page). A dead user token (code 190) makes the refresh fail for good: the account is
then marked needs_reconnect like any other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cliply.config import get_settings
from cliply.errors import CliplyError
from cliply.integrations.meta import MetaClient, Page, wait_until
from cliply.integrations.oauth_common import TokenSet
from cliply.platforms.base import (
    Authorization,
    ConnectRefused,
    PlatformNotConfigured,
    PostText,
    PublishSession,
    missing_tags,
    retry_policy,
)


def client() -> MetaClient:
    s = get_settings()
    if not s.meta_app_id or s.meta_app_secret is None:
        raise PlatformNotConfigured(
            "Instagram and Facebook are not set up on this server (META_APP_ID / META_APP_SECRET).",
            platform="meta",
        )
    return MetaClient(
        app_id=s.meta_app_id,
        app_secret=s.meta_app_secret.get_secret_value(),
        graph_base=s.graph_api_base,
        graph_version=s.graph_api_version,
        auth_base=s.facebook_auth_base,
        upload_base=s.graph_upload_base,
        retry=retry_policy(),
        throttle_at_pct=s.meta_throttle_at_pct,
    )


def configured() -> bool:
    s = get_settings()
    return bool(s.meta_app_id and s.meta_app_secret is not None)


def authorize(redirect_uri: str, state: str, scopes: tuple[str, ...]) -> Authorization:
    # Facebook Login's web flow has no PKCE: the signed single-use state carries the check.
    with client() as meta:
        return Authorization(url=meta.authorize_url(redirect_uri, state, scopes), verifier="")


def user_grant(
    meta: MetaClient, code: str, redirect_uri: str, required: tuple[str, ...]
) -> tuple[TokenSet, list[Page]]:
    """The long-lived user token (scopes = those granted) and the Pages it may use."""
    tokens = meta.exchange_code(code, redirect_uri)
    granted = meta.granted_permissions(tokens.access_token)
    missing = [p for p in required if p not in granted]
    if missing:
        raise ConnectRefused(
            f"Facebook did not grant {', '.join(missing)}; connect again and allow them.",
            code="oauth-scope-missing",
            missing=missing,
        )
    tokens = TokenSet(
        access_token=tokens.access_token,
        expires_at=tokens.expires_at,
        refresh_token=tokens.refresh_token,
        scopes=granted,
        token_type=tokens.token_type,
        raw=tokens.raw,
    )
    return tokens, meta.pages(tokens.access_token)


def with_access(tokens: TokenSet, access_token: str) -> TokenSet:
    """The same grant, publishing with another token (a Page's)."""
    return TokenSet(
        access_token=access_token,
        expires_at=tokens.expires_at,
        refresh_token=tokens.refresh_token,
        scopes=tokens.scopes,
        token_type=tokens.token_type,
        raw={},
    )


def post_text(text: PostText, limit: int) -> str:
    """Caption (or title) then the hashtags, cut to the platform's limit."""
    body = (text.caption or text.title).strip()
    tags = " ".join(missing_tags(body, text.hashtags))
    full = f"{body}\n\n{tags}".strip() if tags else body
    return full[:limit]


def split_ref(ref: str) -> tuple[str, str]:
    """An upload reference is "<id> <upload url>[ <bytes acknowledged>]": what a retry needs
    to resume."""
    ident, _, rest = ref.partition(" ")
    return ident, rest.split(" ", 1)[0]


def acknowledged(ref: str) -> int:
    """The bytes the upload host had acknowledged when `ref` was last recorded (0 if none)."""
    parts = ref.split(" ")
    return int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 0


def poll(
    session: PublishSession, check: Callable[[], bool], what: str, error: Callable[[], Any]
) -> None:
    """Wait (publish poll settings) until `check()`; `error()` raises when time is up."""
    s = get_settings()
    done = wait_until(
        check,
        timeout_s=s.publish_poll_timeout_s,
        interval_s=s.publish_poll_interval_s,
        max_interval_s=max(s.publish_poll_interval_s, 30.0),
        sleep=retry_policy().sleep,
    )
    if not done:
        session.event("meta_wait_timeout", f"{what} still pending at the deadline")
        error()


class NoPage(ConnectRefused):
    code = "meta-page-missing"


def refuse_no_page(message: str) -> CliplyError:
    return NoPage(message)
