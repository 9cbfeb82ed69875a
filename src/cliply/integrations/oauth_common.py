"""Plumbing shared by the platform clients: PKCE, token sets, typed errors, retries, uploads.

Everything here is protocol-level and free of I/O except `RetryPolicy.sleep`, which callers
(and tests) replace to keep waits short.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import random
import secrets
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, Literal

import httpx

from cliply.errors import CliplyError

ChallengeEncoding = Literal["base64url", "hex"]


# --- errors ---------------------------------------------------------------------------------


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default TLS context, built once per process. Building one loads the CA bundle
    (~0.1 s of CPU); a client per platform call (metrics: one per batch) paid that every time.
    SSLContext is safe to share between threads."""
    return httpx.create_ssl_context()


class IntegrationError(CliplyError):
    """A platform call failed. `retryable` says whether trying later may work;
    `upstream_status` is the HTTP status the platform answered (not ours)."""

    status, code, title = 502, "integration-error", "A connected service failed"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        retryable: bool | None = None,
        upstream_status: int | None = None,
        platform: str = "",
        log_id: str | None = None,
    ) -> None:
        super().__init__(message, code=code, retryable=retryable)
        self.upstream_status = upstream_status
        self.platform = platform
        self.log_id = log_id

    def __str__(self) -> str:
        where = f"{self.platform} " if self.platform else ""
        return f"{where}{self.code}: {self.message}"


class TokenExpired(IntegrationError):
    """The access token was rejected (expired or invalid): refresh it and call again."""

    code = "token-expired"
    retryable = True


class RefreshFailed(IntegrationError):
    """A refresh did not give a new access token. `permanent`: the user must reconnect."""

    code = "refresh-failed"

    def __init__(self, message: str, *, permanent: bool, **kwargs: Any) -> None:
        kwargs.setdefault("retryable", not permanent)
        super().__init__(message, **kwargs)
        self.permanent = permanent


class OAuthError(IntegrationError):
    """The authorization server refused a code exchange or revoke (bad code, client, ...)."""

    code = "oauth-error"


class UpstreamRateLimited(IntegrationError):
    """The platform asked us to slow down; retry after `retry_after_s` when given.
    (`cliply.errors.RateLimited` is the 429 we send our own clients.)"""

    code = "upstream-rate-limited"
    retryable = True

    def __init__(self, message: str, *, retry_after_s: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after_s = retry_after_s


class TransientError(IntegrationError):
    """Server error or dropped connection that outlived our retries; the job may retry."""

    code = "transient-error"
    retryable = True


class UpstreamRejected(IntegrationError):
    """The platform rejected the request for a reason retrying will not fix."""

    code = "upstream-rejected"
    retryable = False


class UploadSessionExpired(IntegrationError):
    """The upload session/URL is gone. Check the post does not already exist before restarting."""

    code = "upload-session-expired"
    retryable = True


class InvalidUpload(IntegrationError):
    """The file cannot be uploaded as asked (empty, too large, bad chunk size)."""

    code = "invalid-upload"
    retryable = False


# --- PKCE -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PkcePair:
    verifier: str
    challenge: str
    method: str = "S256"


def code_challenge(verifier: str, encoding: ChallengeEncoding = "base64url") -> str:
    """S256 challenge of a verifier: RFC 7636 base64url, or hex as TikTok's desktop docs use."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    if encoding == "hex":
        return digest.hex()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def generate_pkce(encoding: ChallengeEncoding = "base64url") -> PkcePair:
    """A fresh verifier (64 chars from the RFC 7636 unreserved set) and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)  # 48 bytes -> 64 chars of [A-Za-z0-9_-]
    return PkcePair(verifier=verifier, challenge=code_challenge(verifier, encoding))


# --- tokens ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenSet:
    """Tokens from a code exchange or refresh. Times are absolute (UTC) at receipt."""

    access_token: str
    expires_at: datetime
    refresh_token: str | None = None
    refresh_expires_at: datetime | None = None
    scopes: tuple[str, ...] = ()
    token_type: str = "Bearer"  # noqa: S105 - OAuth token type name, not a secret
    open_id: str | None = None  # TikTok's user id; Google puts identity in id_token instead
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def missing_scopes(self, required: tuple[str, ...] | list[str]) -> list[str]:
        return [s for s in required if s not in self.scopes]

    def expires_within(self, seconds: float, now: datetime | None = None) -> bool:
        now = now or datetime.now(UTC)
        return self.expires_at <= now + timedelta(seconds=seconds)


def _int_field(body: Mapping[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def token_set_from_response(
    body: Mapping[str, Any],
    *,
    previous_refresh_token: str | None = None,
    now: datetime | None = None,
) -> TokenSet:
    """Build a TokenSet from an RFC 6749 token response (TikTok's and Google's share the shape)."""
    now = now or datetime.now(UTC)
    access = body.get("access_token")
    if not isinstance(access, str) or not access:
        raise OAuthError("token response has no access_token", code="malformed-token-response")
    expires_in = _int_field(body, "expires_in") or 3600
    refresh_in = _int_field(body, "refresh_expires_in")
    refresh = body.get("refresh_token")
    scope_raw = body.get("scope") or ""
    # TikTok separates scopes with commas, Google with spaces.
    scopes = tuple(s for s in str(scope_raw).replace(",", " ").split() if s)
    open_id = body.get("open_id")
    return TokenSet(
        access_token=access,
        expires_at=now + timedelta(seconds=expires_in),
        # Google omits refresh_token on refresh: the old one stays valid.
        refresh_token=refresh if isinstance(refresh, str) and refresh else previous_refresh_token,
        refresh_expires_at=now + timedelta(seconds=refresh_in) if refresh_in else None,
        scopes=scopes,
        token_type=str(body.get("token_type") or "Bearer"),
        open_id=open_id if isinstance(open_id, str) else None,
        raw=dict(body),
    )


# --- retries --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter and a cap; `sleep` is injectable for tests."""

    max_retries: int = 5
    base_delay_s: float = 1.0
    max_delay_s: float = 60.0
    jitter: bool = True
    sleep: Callable[[float], None] = time.sleep

    def delay(self, attempt: int) -> float:
        """Delay before retry number `attempt` (1-based)."""
        raw: float = min(self.base_delay_s * 2.0 ** max(attempt - 1, 0), self.max_delay_s)
        if self.jitter:
            # Keep at least half the delay so retries still spread out under load.
            return raw / 2 + random.random() * raw / 2
        return raw

    def wait(self, attempt: int, floor_s: float | None = None) -> None:
        delay = self.delay(attempt)
        if floor_s is not None:
            delay = max(delay, min(floor_s, self.max_delay_s))
        self.sleep(delay)


def retry_after_seconds(value: str | None) -> float | None:
    """Parse a Retry-After header given in seconds (dates are rare from these APIs)."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None


def redact_url(url: str) -> str:
    """URL without its query string, for logs: upload URLs carry signed tokens there."""
    return url.split("?", 1)[0]


# --- upload sources -------------------------------------------------------------------------


UploadSource = Path | str | BinaryIO


@contextmanager
def open_upload_source(source: UploadSource) -> Iterator[BinaryIO]:
    """A seekable binary file for a path or an already-open file (left open for its owner)."""
    if isinstance(source, Path | str):
        with Path(source).open("rb") as handle:
            yield handle
    else:
        if not source.seekable():
            raise InvalidUpload("upload source must be seekable so chunks can be re-sent")
        yield source


def source_size(handle: BinaryIO) -> int:
    handle.seek(0, os.SEEK_END)
    return handle.tell()


def read_range(handle: BinaryIO, offset: int, length: int) -> bytes:
    handle.seek(offset)
    data = handle.read(length)
    if len(data) != length:
        raise InvalidUpload(
            f"upload source ended early: wanted {length} bytes at {offset}, got {len(data)}"
        )
    return data
