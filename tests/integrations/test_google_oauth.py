"""Google OAuth 2.0 (web server flow with PKCE) against the fake token endpoint."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from cliply.integrations.google_oauth import DEFAULT_SCOPES, SCOPE_UPLOAD
from cliply.integrations.oauth_common import OAuthError, RefreshFailed, TokenSet
from tests.integrations.conftest import GoogleEnv

REDIRECT = "http://127.0.0.1:9/oauth/google/callback"


def _consent(env: GoogleEnv, state: str = "st-1") -> tuple[str, str]:
    pkce = env.oauth.new_pkce()
    resp = httpx.get(
        env.oauth.authorize_url(REDIRECT, state, pkce.challenge), follow_redirects=False
    )
    assert resp.status_code == 302, resp.text
    params = parse_qs(urlparse(resp.headers["location"]).query)
    assert params["state"] == [state]
    return params["code"][0], pkce.verifier


def _connect(env: GoogleEnv) -> TokenSet:
    code, verifier = _consent(env)
    return env.oauth.exchange_code(code, REDIRECT, verifier)


def test_authorize_url_shape(google: GoogleEnv) -> None:
    pkce = google.oauth.new_pkce()
    url = urlparse(google.oauth.authorize_url(REDIRECT, "st", pkce.challenge, login_hint="a@b.c"))
    assert url.path == "/o/oauth2/v2/auth"
    q = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert q["access_type"] == "offline"
    assert q["prompt"] == "consent"
    assert q["include_granted_scopes"] == "true"
    assert q["scope"].split() == list(DEFAULT_SCOPES)
    assert q["code_challenge_method"] == "S256" and q["code_challenge"] == pkce.challenge
    assert len(pkce.challenge) == 43  # RFC 7636 base64url without padding
    assert q["response_type"] == "code" and q["login_hint"] == "a@b.c"


def test_full_flow(google: GoogleEnv) -> None:
    tokens = _connect(google)
    assert tokens.access_token.startswith("ya29.")
    assert tokens.refresh_token
    assert tokens.missing_scopes([SCOPE_UPLOAD]) == []
    assert google.oauth.refresh(tokens.refresh_token).access_token != tokens.access_token


def test_wrong_verifier(google: GoogleEnv) -> None:
    code, _ = _consent(google)
    with pytest.raises(OAuthError) as err:
        google.oauth.exchange_code(code, REDIRECT, google.oauth.new_pkce().verifier)
    assert err.value.code == "invalid-grant"


def test_redirect_uri_must_match(google: GoogleEnv) -> None:
    code, verifier = _consent(google)
    with pytest.raises(OAuthError) as err:
        google.oauth.exchange_code(code, "http://127.0.0.1:9/elsewhere", verifier)
    assert err.value.code == "redirect-uri-mismatch"


def test_refresh_keeps_refresh_token(google: GoogleEnv) -> None:
    tokens = _connect(google)
    fresh = google.oauth.refresh(tokens.refresh_token or "")
    assert "refresh_token" not in fresh.raw  # Google does not send it again
    assert fresh.refresh_token == tokens.refresh_token
    assert fresh.expires_at >= tokens.expires_at


def test_revoked_refresh_token_is_permanent_failure(google: GoogleEnv) -> None:
    tokens = _connect(google)
    assert google.oauth.revoke(tokens.refresh_token or "") is True
    with pytest.raises(RefreshFailed) as err:
        google.oauth.refresh(tokens.refresh_token or "")
    assert err.value.permanent and not err.value.retryable
    assert err.value.code == "reconnect-required"
    assert google.oauth.revoke(tokens.refresh_token or "") is False  # already revoked


def test_refresh_outage_is_retryable(google: GoogleEnv) -> None:
    tokens = _connect(google)
    google.faults.fail_next("POST", "/token", status=503)
    with pytest.raises(RefreshFailed) as err:
        google.oauth.refresh(tokens.refresh_token or "")
    assert not err.value.permanent and err.value.retryable


def test_bad_client_secret(google: GoogleEnv) -> None:
    code, verifier = _consent(google)
    google.oauth._client_secret = "wrong"
    with pytest.raises(OAuthError) as err:
        google.oauth.exchange_code(code, REDIRECT, verifier)
    assert err.value.code == "invalid-client"
