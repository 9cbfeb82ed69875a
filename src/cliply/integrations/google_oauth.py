"""Google OAuth 2.0 for web server apps (authorization code + PKCE), for YouTube access.

Endpoints follow developers.google.com/identity/protocols/oauth2/web-server:
``{auth_base}/o/oauth2/v2/auth``, ``{token_base}/token``, ``{token_base}/revoke``.
`access_type=offline` + `prompt=consent` make Google return a refresh token every time the
user connects; refresh responses usually omit it, so the old one is kept.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlencode

import httpx

from cliply.integrations.oauth_common import (
    OAuthError,
    PkcePair,
    RefreshFailed,
    TokenSet,
    TransientError,
    generate_pkce,
    tls_context,
    token_set_from_response,
)

PLATFORM: Final = "google"
SCOPE_UPLOAD: Final = "https://www.googleapis.com/auth/youtube.upload"
SCOPE_READONLY: Final = "https://www.googleapis.com/auth/youtube.readonly"
DEFAULT_SCOPES: Final = (SCOPE_UPLOAD, SCOPE_READONLY)
# Optional: watch time and subscribers per video (YouTube Analytics). Asked for at connect;
# Google's consent screen lets the user leave it out, and the account still publishes.
SCOPE_ANALYTICS: Final = "https://www.googleapis.com/auth/yt-analytics.readonly"


class GoogleOAuthClient:
    def __init__(
        self,
        auth_base: str,
        token_base: str,
        client_id: str,
        client_secret: str,
        http: httpx.Client | None = None,
        *,
        timeout_s: float = 30.0,
    ) -> None:
        self.auth_base = auth_base.rstrip("/")
        self.token_base = token_base.rstrip("/")
        self.client_id = client_id
        self._client_secret = client_secret
        self._own_http = http is None
        self._http = http or httpx.Client(timeout=timeout_s, verify=tls_context())

    def close(self) -> None:
        if self._own_http:
            self._http.close()

    def __enter__(self) -> GoogleOAuthClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def new_pkce() -> PkcePair:
        return generate_pkce("base64url")

    def authorize_url(
        self,
        redirect_uri: str,
        state: str,
        code_challenge: str,
        scopes: tuple[str, ...] | list[str] = DEFAULT_SCOPES,
        login_hint: str | None = None,
    ) -> str:
        query = {
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": " ".join(scopes),
            "access_type": "offline",
            "prompt": "consent",
            "include_granted_scopes": "true",
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        if login_hint:
            query["login_hint"] = login_hint
        return f"{self.auth_base}/o/oauth2/v2/auth?{urlencode(query)}"

    def exchange_code(self, code: str, redirect_uri: str, code_verifier: str) -> TokenSet:
        body = self._token_request(
            {
                "code": code,
                "client_id": self.client_id,
                "client_secret": self._client_secret,
                "redirect_uri": redirect_uri,
                "grant_type": "authorization_code",
                "code_verifier": code_verifier,
            },
            refreshing=False,
        )
        return token_set_from_response(body)

    def refresh(self, refresh_token: str) -> TokenSet:
        """New access token. `RefreshFailed(permanent=True)` on invalid_grant: reconnect needed."""
        body = self._token_request(
            {
                "client_id": self.client_id,
                "client_secret": self._client_secret,
                "refresh_token": refresh_token,
                "grant_type": "refresh_token",
            },
            refreshing=True,
        )
        return token_set_from_response(body, previous_refresh_token=refresh_token)

    def revoke(self, token: str) -> bool:
        """Revoke a refresh or access token. False when Google says it was already invalid."""
        try:
            resp = self._http.post(
                f"{self.token_base}/revoke",
                data={"token": token},
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        except httpx.TransportError as exc:
            raise TransientError(
                f"Google revoke endpoint unreachable: {type(exc).__name__}", platform=PLATFORM
            ) from exc
        if resp.status_code == 200:
            return True
        if resp.status_code >= 500:
            raise TransientError(
                f"Google revoke answered {resp.status_code}",
                platform=PLATFORM,
                upstream_status=resp.status_code,
            )
        error, description = _error_of(resp)
        if error == "invalid_token":
            return False
        raise OAuthError(
            description or error or f"HTTP {resp.status_code}",
            code=error or "revoke-failed",
            platform=PLATFORM,
            upstream_status=resp.status_code,
        )

    def _token_request(self, form: dict[str, str], *, refreshing: bool) -> dict[str, Any]:
        try:
            resp = self._http.post(
                f"{self.token_base}/token",
                data=form,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        except httpx.TransportError as exc:
            msg = f"Google token endpoint unreachable: {type(exc).__name__}"
            if refreshing:
                raise RefreshFailed(msg, permanent=False, platform=PLATFORM) from exc
            raise TransientError(msg, platform=PLATFORM) from exc
        if resp.status_code == 200:
            try:
                body = resp.json()
            except ValueError:
                body = None
            if isinstance(body, dict):
                return body
        if resp.status_code >= 500 or resp.status_code == 429 or resp.status_code == 200:
            msg = f"Google token endpoint answered {resp.status_code}"
            if refreshing:
                raise RefreshFailed(
                    msg, permanent=False, platform=PLATFORM, upstream_status=resp.status_code
                )
            raise TransientError(msg, platform=PLATFORM, upstream_status=resp.status_code)
        error, description = _error_of(resp)
        msg = description or error or f"HTTP {resp.status_code}"
        if refreshing:
            # invalid_grant: revoked, expired (unused 6 months, or 7 days for apps in testing),
            # or the password changed. invalid_client: our credentials are wrong.
            permanent = error in ("invalid_grant", "invalid_client", "unauthorized_client")
            raise RefreshFailed(
                msg,
                permanent=permanent,
                code="reconnect-required" if permanent else "refresh-failed",
                platform=PLATFORM,
                upstream_status=resp.status_code,
            )
        raise OAuthError(
            msg,
            code=error or "token-request-failed",
            platform=PLATFORM,
            upstream_status=resp.status_code,
        )


def _error_of(resp: httpx.Response) -> tuple[str | None, str | None]:
    try:
        body = resp.json()
    except ValueError:
        return None, None
    if not isinstance(body, dict):
        return None, None
    error = body.get("error")
    if isinstance(error, dict):  # some Google endpoints wrap errors in an object
        return str(error.get("status") or error.get("code") or ""), error.get("message")
    return (str(error) if error else None), body.get("error_description")
