"""TikTok Login Kit v2 against the fake: PKCE flow, refresh on expiry, revoke, errors."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from cliply.integrations.oauth_common import (
    OAuthError,
    RefreshFailed,
    TokenExpired,
    TokenSet,
    UpstreamRejected,
)
from cliply.integrations.tiktok import DEFAULT_SCOPES
from tests.integrations.conftest import TikTokEnv

REDIRECT = "http://127.0.0.1:9/oauth/tiktok/callback"


def _consent(env: TikTokEnv, state: str = "state-1") -> tuple[str, str]:
    """Walk the authorize step like a browser; returns (code, verifier)."""
    pkce = env.client.new_pkce()
    url = env.client.authorize_url(REDIRECT, state, pkce.challenge)
    resp = httpx.get(url, follow_redirects=False)
    assert resp.status_code == 302, resp.text
    location = urlparse(resp.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    params = parse_qs(location.query)
    assert params["state"] == [state]
    return params["code"][0], pkce.verifier


def _connect(env: TikTokEnv) -> TokenSet:
    code, verifier = _consent(env)
    return env.client.exchange_code(code, REDIRECT, verifier)


def test_authorize_url_shape(tiktok: TikTokEnv) -> None:
    pkce = tiktok.client.new_pkce()
    url = urlparse(tiktok.client.authorize_url(REDIRECT, "st", pkce.challenge))
    assert url.path == "/v2/auth/authorize/"
    q = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert q["client_key"] == tiktok.fake.config.client_key
    assert q["scope"] == "user.info.basic,video.publish,video.upload"
    assert q["response_type"] == "code"
    assert q["code_challenge_method"] == "S256"
    assert q["code_challenge"] == pkce.challenge
    assert len(pkce.challenge) == 64  # hex SHA-256, as TikTok's desktop docs specify
    assert q["redirect_uri"] == REDIRECT and q["state"] == "st"


def test_full_flow_then_user_info(tiktok: TikTokEnv) -> None:
    tokens = _connect(tiktok)
    assert tokens.open_id == tiktok.fake.config.open_id
    assert set(DEFAULT_SCOPES) <= set(tokens.scopes)
    assert tokens.refresh_token and tokens.refresh_expires_at is not None
    user = tiktok.client.user_info(tokens.access_token)
    assert user.open_id == tokens.open_id
    assert user.display_name == "Cliply Creator"
    info = tiktok.client.creator_info(tokens.access_token)
    assert "SELF_ONLY" in info.privacy_level_options
    assert info.username == tiktok.fake.config.username


def test_wrong_verifier_rejected_by_pkce_check(tiktok: TikTokEnv) -> None:
    code, _ = _consent(tiktok)
    other = tiktok.client.new_pkce().verifier
    with pytest.raises(OAuthError) as err:
        tiktok.client.exchange_code(code, REDIRECT, other)
    assert err.value.code == "invalid-request"
    assert "verifier" in err.value.message


def test_code_is_single_use(tiktok: TikTokEnv) -> None:
    code, verifier = _consent(tiktok)
    tiktok.client.exchange_code(code, REDIRECT, verifier)
    with pytest.raises(OAuthError) as err:
        tiktok.client.exchange_code(code, REDIRECT, verifier)
    assert err.value.code == "invalid-grant"


def test_expired_access_token_then_refresh(tiktok: TikTokEnv) -> None:
    tokens = _connect(tiktok)
    tiktok.fake.advance(tiktok.fake.config.access_ttl_s + 1)
    with pytest.raises(TokenExpired) as err:
        tiktok.client.creator_info(tokens.access_token)
    assert err.value.retryable and err.value.upstream_status == 401

    fresh = tiktok.client.refresh(tokens.refresh_token or "")
    assert fresh.access_token != tokens.access_token
    assert fresh.refresh_token and fresh.refresh_token != tokens.refresh_token  # rotated
    assert tiktok.client.creator_info(fresh.access_token).username

    # The rotated-out refresh token no longer works: the user would have to reconnect.
    with pytest.raises(RefreshFailed) as refused:
        tiktok.client.refresh(tokens.refresh_token or "")
    assert refused.value.permanent and not refused.value.retryable


def test_revoke_ends_the_grant(tiktok: TikTokEnv) -> None:
    tokens = _connect(tiktok)
    tiktok.client.revoke(tokens.access_token)
    with pytest.raises(TokenExpired):
        tiktok.client.user_info(tokens.access_token)
    with pytest.raises(RefreshFailed) as err:
        tiktok.client.refresh(tokens.refresh_token or "")
    assert err.value.permanent


def test_refresh_server_error_is_not_permanent(tiktok: TikTokEnv) -> None:
    tokens = _connect(tiktok)
    tiktok.faults.fail_next("POST", "/v2/oauth/token/", status=502)
    with pytest.raises(RefreshFailed) as err:
        tiktok.client.refresh(tokens.refresh_token or "")
    assert not err.value.permanent and err.value.retryable
    assert tiktok.client.refresh(tokens.refresh_token or "").access_token


def test_bad_client_secret(make_tiktok: Callable[..., TikTokEnv]) -> None:
    env = make_tiktok()
    code, verifier = _consent(env)
    env.client._client_secret = "wrong"
    with pytest.raises(OAuthError) as err:
        env.client.exchange_code(code, REDIRECT, verifier)
    assert err.value.code == "invalid-client"


def test_missing_scope_is_permanent(tiktok: TikTokEnv) -> None:
    tokens = tiktok.fake.issue_tokens(scopes=("user.info.basic",))
    with pytest.raises(UpstreamRejected) as err:
        tiktok.client.creator_info(tokens["access_token"])
    assert err.value.code == "scope-not-authorized"
