"""Meta Graph API client: Facebook Login, Instagram Reels and Facebook Page Reels (protocol only).

Follows developers.facebook.com:
- Facebook Login (manual flow): `{auth_base}/{version}/dialog/oauth`, then
  `GET /oauth/access_token` (code -> short-lived user token) and
  `GET /oauth/access_token?grant_type=fb_exchange_token` (-> long-lived, about 60 days).
  `GET /me/accounts` lists the Pages the user granted, each with a Page access token (one
  derived from a long-lived user token does not expire) and its linked Instagram business
  account. `DELETE /me/permissions` revokes the grant.
- Instagram Reels (Content Publishing, resumable): `POST /{ig-user-id}/media?media_type=REELS
  &upload_type=resumable` creates a container and returns its rupload `uri`; the file goes to
  that uri with `Authorization: OAuth`, `offset` and `file_size` headers, in requests that
  each answer `{"success": true}`. The documentation gives no way to ask the upload host how
  much of an interrupted request it kept (the container has only `status_code`), so a dropped
  upload goes on from the last offset the host acknowledged; `GET /{container}?fields=status_code`
  goes IN_PROGRESS -> FINISHED (or ERROR / EXPIRED), then `POST /{ig-user-id}/media_publish`;
  the container then reads PUBLISHED. `GET /{ig-user-id}/content_publishing_limit` gives the
  account's use of its 24 h publishing cap.
- Facebook Page Reels: `POST /{page-id}/video_reels` with upload_phase=start (video_id and
  upload_url), the upload to the rupload host as above, where a dropped upload goes on from
  `GET /{video-id}?fields=status`'s `uploading_phase.bytes_transferred` (as the Reels guide
  says), upload_phase=finish with video_state=PUBLISHED, then the same status until
  publishing completes.

Errors are `{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`: code 190
means the token is dead (refresh or reconnect), 4/17/32/613/80001-80014 and IG's 9/2207042 are
rate limits, 1/2 or `is_transient` are worth retrying. Usage headers (`x-app-usage`,
`x-business-use-case-usage`, percentages of the limits) are read on every answer; once one
reaches `throttle_at_pct` the client stops calling and raises `UpstreamRateLimited` itself, as Meta
asks apps to do.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import urlencode

import httpx
import structlog

from cliply.integrations.oauth_common import (
    IntegrationError,
    InvalidUpload,
    OAuthError,
    RefreshFailed,
    RetryPolicy,
    TokenExpired,
    TokenSet,
    TransientError,
    UploadSessionExpired,
    UploadSource,
    UpstreamRateLimited,
    UpstreamRejected,
    open_upload_source,
    read_range,
    redact_url,
    retry_after_seconds,
    source_size,
    tls_context,
)

log = structlog.get_logger(__name__)

PLATFORM: Final = "meta"
LONG_LIVED_S: Final = 60 * 86400  # when the answer does not say
_RATE_CODES: Final = frozenset({4, 17, 32, 613})
_TRANSIENT_CODES: Final = frozenset({1, 2})
_TOKEN_CODES: Final = frozenset({102, 190})
IG_PUBLISH_LIMIT_SUBCODE: Final = 2207042

# Instagram container states (GET /{container}?fields=status_code).
IG_IN_PROGRESS: Final = "IN_PROGRESS"
IG_FINISHED: Final = "FINISHED"
IG_PUBLISHED: Final = "PUBLISHED"
IG_ERROR: Final = "ERROR"
IG_EXPIRED: Final = "EXPIRED"


# --- shapes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    """The highest usage percentage seen in the rate-limit headers, and when access returns."""

    pct: float = 0.0
    regain_s: float | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Page:
    id: str
    name: str
    access_token: str
    picture_url: str | None
    tasks: tuple[str, ...]
    instagram_id: str | None
    instagram_username: str | None
    instagram_picture_url: str | None


@dataclass(frozen=True)
class UploadHandle:
    """A container (Instagram) or video (Facebook) and where its bytes go."""

    id: str
    upload_url: str


@dataclass(frozen=True)
class ContainerStatus:
    status_code: str
    status: str | None = None


@dataclass(frozen=True)
class VideoStatus:
    video_status: str
    uploading: str | None
    bytes_transferred: int
    processing: str | None
    publishing: str | None
    publish_status: str | None
    error: str | None = None

    @property
    def published(self) -> bool:
        return self.publishing == "complete" or self.publish_status == "published"


@dataclass(frozen=True)
class PublishingLimit:
    quota_usage: int
    quota_total: int | None
    quota_duration_s: int | None


@dataclass(frozen=True)
class Media:
    id: str
    caption: str
    permalink: str | None
    timestamp: str | None


# --- errors ---------------------------------------------------------------------------------


def _json(resp: httpx.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None


def parse_usage(headers: httpx.Headers) -> Usage:
    """The fullest of `x-app-usage`, `x-page-usage` and `x-business-use-case-usage`."""
    pct, regain, raw = 0.0, None, {}
    for name in ("x-app-usage", "x-page-usage", "x-ad-account-usage"):
        value = headers.get(name)
        if not value:
            continue
        try:
            body = json.loads(value)
        except ValueError:
            continue
        if isinstance(body, dict):
            raw[name] = body
            for key in ("call_count", "total_cputime", "total_time"):
                pct = max(pct, float(body.get(key) or 0))
    buc = headers.get("x-business-use-case-usage")
    if buc:
        try:
            body = json.loads(buc)
        except ValueError:
            body = None
        if isinstance(body, dict):
            raw["x-business-use-case-usage"] = body
            for entries in body.values():
                for entry in entries if isinstance(entries, list) else []:
                    if not isinstance(entry, dict):
                        continue
                    for key in ("call_count", "total_cputime", "total_time"):
                        pct = max(pct, float(entry.get(key) or 0))
                    minutes = entry.get("estimated_time_to_regain_access")
                    if minutes:
                        regain = max(regain or 0.0, float(minutes) * 60)
    return Usage(pct=pct, regain_s=regain, raw=raw)


def graph_error(resp: httpx.Response, *, refreshing: bool = False) -> IntegrationError:
    """The typed error of a failed Graph answer (its code, subcode and fbtrace_id kept)."""
    body = _json(resp)
    err = body.get("error") if isinstance(body, dict) else None
    err = err if isinstance(err, dict) else {}
    code = int(err.get("code") or 0)
    subcode = int(err.get("error_subcode") or 0)
    message = str(err.get("error_user_msg") or err.get("message") or f"HTTP {resp.status_code}")
    trace = err.get("fbtrace_id")
    name = f"graph-{code}" + (f"-{subcode}" if subcode else "") if code else "graph-error"
    common: dict[str, Any] = {
        "platform": PLATFORM,
        "upstream_status": resp.status_code,
        "log_id": str(trace) if trace else None,
    }
    if code in _TOKEN_CODES or (resp.status_code == 401 and not code):
        if refreshing:
            return RefreshFailed(message, permanent=True, code="reconnect-required", **common)
        return TokenExpired(message, code=name, **common)
    usage = parse_usage(resp.headers)
    if (
        code in _RATE_CODES
        or 80001 <= code <= 80014
        or (code == 9 and subcode == IG_PUBLISH_LIMIT_SUBCODE)
        or resp.status_code == 429
    ):
        retry_after = retry_after_seconds(resp.headers.get("Retry-After")) or usage.regain_s
        return UpstreamRateLimited(message, code=name, retry_after_s=retry_after, **common)
    if code in _TRANSIENT_CODES or err.get("is_transient") or resp.status_code >= 500 or not err:
        if refreshing:
            return RefreshFailed(message, permanent=False, code=name, **common)
        return TransientError(message, code=name, **common)
    if refreshing:
        return RefreshFailed(message, permanent=True, code="reconnect-required", **common)
    if code == 10 or 200 <= code <= 299:
        return UpstreamRejected(message, code="permission-denied", **common)
    return UpstreamRejected(message, code=name, **common)


# --- client ---------------------------------------------------------------------------------


class MetaClient:
    """Synchronous Graph API client; pass `http` to share a connection pool (not closed here)."""

    def __init__(
        self,
        *,
        app_id: str,
        app_secret: str,
        graph_base: str,
        graph_version: str,
        auth_base: str,
        upload_base: str,
        http: httpx.Client | None = None,
        retry: RetryPolicy = RetryPolicy(),
        throttle_at_pct: float = 95.0,
        timeout_s: float = 60.0,
    ) -> None:
        self.app_id = app_id
        self._app_secret = app_secret
        self.version = graph_version.strip("/")
        self.graph = f"{graph_base.rstrip('/')}/{self.version}"
        self.auth_base = auth_base.rstrip("/")
        self.upload_base = f"{upload_base.rstrip('/')}"
        self.retry = retry
        self.throttle_at_pct = throttle_at_pct
        self.usage = Usage()
        self._own_http = http is None
        self._http = http or httpx.Client(
            timeout=httpx.Timeout(timeout_s, write=timeout_s * 2), verify=tls_context()
        )

    def close(self) -> None:
        if self._own_http:
            self._http.close()

    def __enter__(self) -> MetaClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- Facebook Login ---------------------------------------------------------------------

    def authorize_url(self, redirect_uri: str, state: str, scopes: tuple[str, ...]) -> str:
        query = {
            "client_id": self.app_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "response_type": "code",
            "scope": ",".join(scopes),
        }
        return f"{self.auth_base}/{self.version}/dialog/oauth?{urlencode(query)}"

    def exchange_code(self, code: str, redirect_uri: str) -> TokenSet:
        """Code -> short-lived user token -> long-lived user token (about 60 days)."""
        short = self._token_request(
            {
                "client_id": self.app_id,
                "client_secret": self._app_secret,
                "redirect_uri": redirect_uri,
                "code": code,
            },
            refreshing=False,
        )
        return self.long_lived(str(short["access_token"]), refreshing=False)

    def long_lived(self, token: str, *, refreshing: bool = True) -> TokenSet:
        """A long-lived user token for `token`; also how a long-lived one is renewed.
        RefreshFailed(permanent=True) when the token is dead: the user must log in again."""
        body = self._token_request(
            {
                "grant_type": "fb_exchange_token",
                "client_id": self.app_id,
                "client_secret": self._app_secret,
                "fb_exchange_token": token,
            },
            refreshing=refreshing,
        )
        access = str(body["access_token"])
        expires_in = int(body.get("expires_in") or LONG_LIVED_S)
        return TokenSet(
            access_token=access,
            expires_at=datetime.now(UTC) + timedelta(seconds=expires_in),
            # Meta has no refresh token: the long-lived token renews itself by exchange.
            refresh_token=access,
            token_type=str(body.get("token_type") or "bearer"),
            raw=dict(body),
        )

    def me(self, token: str) -> dict[str, Any]:
        return self._graph("GET", "/me", token, params={"fields": "id,name"})

    def granted_permissions(self, token: str) -> tuple[str, ...]:
        body = self._graph("GET", "/me/permissions", token)
        return tuple(
            str(p.get("permission"))
            for p in body.get("data") or []
            if isinstance(p, dict) and p.get("status") == "granted"
        )

    def pages(self, token: str, limit: int = 100) -> list[Page]:
        """The Pages the user granted, with Page tokens and linked Instagram accounts."""
        fields = (
            "id,name,access_token,tasks,picture{url},"
            "instagram_business_account{id,username,profile_picture_url}"
        )
        params: dict[str, str] = {"fields": fields, "limit": str(min(limit, 100))}
        out: list[Page] = []
        after: str | None = None
        while len(out) < limit:
            if after:
                params["after"] = after
            body = self._graph("GET", "/me/accounts", token, params=params)
            for item in body.get("data") or []:
                if isinstance(item, dict) and item.get("id"):
                    out.append(_page(item))
            cursors = ((body.get("paging") or {}).get("cursors")) or {}
            after = cursors.get("after") if (body.get("paging") or {}).get("next") else None
            if not after:
                break
        return out

    def page(self, user_token: str, page_id: str) -> Page:
        """One Page with a fresh Page token (derived from the user token given)."""
        fields = (
            "id,name,access_token,tasks,picture{url},"
            "instagram_business_account{id,username,profile_picture_url}"
        )
        return _page(self._graph("GET", f"/{page_id}", user_token, params={"fields": fields}))

    def revoke(self, user_token: str) -> None:
        self._graph("DELETE", "/me/permissions", user_token, idempotent=True)

    # --- uploads (both platforms) -----------------------------------------------------------

    def upload(
        self,
        token: str,
        upload_url: str,
        source: UploadSource,
        *,
        offset_of: Callable[[], int] | None = None,
        start: int = 0,
        chunk_size: int | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        """Send the file from `start` to the rupload host, `chunk_size` bytes a request (None:
        the rest of the file in one). After a dropped connection or a 5xx it goes on from the
        bytes the host holds by `offset_of()` where the platform documents such a query, else
        from the last offset the host acknowledged (a request answered 200). `progress(done,
        size)` follows every acknowledged request."""
        with open_upload_source(source) as handle:
            size = source_size(handle)
            if size <= 0:
                raise InvalidUpload("video is empty", platform=PLATFORM)
            offset, failures = start, 0
            while offset < size:
                length = size - offset if chunk_size is None else min(chunk_size, size - offset)
                data = read_range(handle, offset, length)
                headers = {
                    "Authorization": f"OAuth {token}",
                    "offset": str(offset),
                    "file_size": str(size),
                    "Content-Type": "application/octet-stream",
                }
                reason: str
                try:
                    resp = self._http.post(upload_url, content=data, headers=headers)
                except httpx.TransportError as exc:
                    reason = f"connection failed: {type(exc).__name__}"
                else:
                    self._note_usage(resp)
                    if resp.status_code == 200:
                        offset += length
                        failures = 0
                        if progress is not None:
                            progress(offset, size)
                        continue
                    if resp.status_code in (404, 410):
                        raise UploadSessionExpired(
                            f"the upload is gone ({resp.status_code}); start again",
                            platform=PLATFORM,
                            upstream_status=resp.status_code,
                        )
                    if resp.status_code < 500:
                        error = graph_error(resp)
                        if isinstance(error, TokenExpired) or not error.retryable:
                            raise error
                    reason = f"HTTP {resp.status_code}"
                failures += 1
                if failures > self.retry.max_retries:
                    raise TransientError(
                        f"upload to {redact_url(upload_url)} failed after {failures} tries "
                        f"({reason})",
                        platform=PLATFORM,
                    )
                log.warning(
                    "meta.upload_retry", url=redact_url(upload_url), offset=offset, reason=reason
                )
                self.retry.wait(failures)
                if offset_of is not None:
                    offset = offset_of()  # what the host kept of the interrupted request
            if progress is not None:
                progress(size, size)

    # --- Instagram --------------------------------------------------------------------------

    def create_reel_container(
        self,
        token: str,
        ig_user_id: str,
        *,
        caption: str,
        share_to_feed: bool = True,
        thumb_offset_ms: int | None = None,
    ) -> UploadHandle:
        """A REELS container for a resumable upload. Not retried (each call is a new one)."""
        params = {
            "media_type": "REELS",
            "upload_type": "resumable",
            "caption": caption,
            "share_to_feed": "true" if share_to_feed else "false",
        }
        if thumb_offset_ms is not None:
            params["thumb_offset"] = str(thumb_offset_ms)
        body = self._graph("POST", f"/{ig_user_id}/media", token, params=params, idempotent=False)
        container = str(body.get("id") or "")
        if not container:
            raise TransientError("container answer lacks an id", platform=PLATFORM)
        uri = str(body.get("uri") or f"{self.upload_base}/ig-api-upload/{self.version}/{container}")
        return UploadHandle(id=container, upload_url=uri)

    def container_status(self, token: str, container_id: str) -> ContainerStatus:
        body = self._graph(
            "GET", f"/{container_id}", token, params={"fields": "status_code,status"}
        )
        return ContainerStatus(
            status_code=str(body.get("status_code") or ""),
            status=str(body["status"]) if body.get("status") else None,
        )

    def publish_container(self, token: str, ig_user_id: str, container_id: str) -> str:
        """media_publish: the new media id. Not retried here: the container's status says
        afterwards whether it went through (PUBLISHED)."""
        body = self._graph(
            "POST",
            f"/{ig_user_id}/media_publish",
            token,
            params={"creation_id": container_id},
            idempotent=False,
        )
        media_id = str(body.get("id") or "")
        if not media_id:
            raise TransientError("media_publish answer lacks an id", platform=PLATFORM)
        return media_id

    def media(self, token: str, media_id: str) -> Media:
        body = self._graph(
            "GET", f"/{media_id}", token, params={"fields": "id,caption,permalink,timestamp"}
        )
        return _media(body)

    def recent_media(self, token: str, ig_user_id: str, limit: int = 25) -> list[Media]:
        body = self._graph(
            "GET",
            f"/{ig_user_id}/media",
            token,
            params={"fields": "id,caption,permalink,timestamp", "limit": str(limit)},
        )
        return [_media(m) for m in body.get("data") or [] if isinstance(m, dict)]

    def publishing_limit(self, token: str, ig_user_id: str) -> PublishingLimit:
        body = self._graph(
            "GET",
            f"/{ig_user_id}/content_publishing_limit",
            token,
            params={"fields": "quota_usage,config"},
        )
        data = body.get("data") or [{}]
        first = data[0] if data and isinstance(data[0], dict) else {}
        config = first.get("config") or {}
        total = config.get("quota_total")
        duration = config.get("quota_duration")
        return PublishingLimit(
            quota_usage=int(first.get("quota_usage") or 0),
            quota_total=int(total) if total is not None else None,
            quota_duration_s=int(duration) if duration is not None else None,
        )

    def media_insights(self, token: str, media_id: str, metrics: tuple[str, ...]) -> dict[str, Any]:
        """Lifetime insights of an Instagram media, by metric name."""
        body = self._graph(
            "GET", f"/{media_id}/insights", token, params={"metric": ",".join(metrics)}
        )
        return _insight_values(body)

    # --- Facebook Page Reels ----------------------------------------------------------------

    def start_reel(self, page_token: str, page_id: str) -> UploadHandle:
        body = self._graph(
            "POST",
            f"/{page_id}/video_reels",
            page_token,
            json_body={"upload_phase": "start"},
            idempotent=False,
        )
        video_id, url = body.get("video_id"), body.get("upload_url")
        if not video_id:
            raise TransientError("video_reels start answer lacks video_id", platform=PLATFORM)
        upload_url = str(url or f"{self.upload_base}/video-upload/{self.version}/{video_id}")
        return UploadHandle(id=str(video_id), upload_url=upload_url)

    def finish_reel(
        self, page_token: str, page_id: str, video_id: str, *, description: str, title: str = ""
    ) -> None:
        params = {
            "upload_phase": "finish",
            "video_id": video_id,
            "video_state": "PUBLISHED",
            "description": description,
        }
        if title:
            params["title"] = title
        body = self._graph(
            "POST", f"/{page_id}/video_reels", page_token, params=params, idempotent=False
        )
        if not body.get("success", False):
            raise TransientError("video_reels finish was not accepted", platform=PLATFORM)

    def video_status(self, page_token: str, video_id: str) -> VideoStatus:
        body = self._graph("GET", f"/{video_id}", page_token, params={"fields": "status"})
        status = body.get("status") or {}
        uploading = status.get("uploading_phase") or {}
        processing = status.get("processing_phase") or {}
        publishing = status.get("publishing_phase") or {}
        errors = [
            str((phase.get("error") or {}).get("message"))
            for phase in (uploading, processing, publishing)
            if isinstance(phase, dict) and phase.get("status") == "error"
        ]
        return VideoStatus(
            video_status=str(status.get("video_status") or ""),
            uploading=uploading.get("status"),
            bytes_transferred=int(uploading.get("bytes_transferred") or 0),
            processing=processing.get("status"),
            publishing=publishing.get("status"),
            publish_status=publishing.get("publish_status"),
            error=errors[0] if errors else None,
        )

    def video(self, page_token: str, video_id: str) -> dict[str, Any]:
        return self._graph(
            "GET", f"/{video_id}", page_token, params={"fields": "id,permalink_url,post_id"}
        )

    def video_insights(self, page_token: str, video_id: str) -> dict[str, Any]:
        return _insight_values(self._graph("GET", f"/{video_id}/video_insights", page_token))

    # --- internals --------------------------------------------------------------------------

    def _token_request(self, params: dict[str, str], *, refreshing: bool) -> dict[str, Any]:
        url = f"{self.graph}/oauth/access_token"
        try:
            resp = self._http.get(url, params=params)
        except httpx.TransportError as exc:
            msg = f"Facebook token endpoint unreachable: {type(exc).__name__}"
            if refreshing:
                raise RefreshFailed(msg, permanent=False, platform=PLATFORM) from exc
            raise TransientError(msg, platform=PLATFORM) from exc
        self._note_usage(resp)
        body = _json(resp)
        if resp.status_code == 200 and isinstance(body, dict) and body.get("access_token"):
            return body
        error = graph_error(resp, refreshing=refreshing)
        if refreshing or error.retryable:
            raise error
        raise OAuthError(
            error.message, code=error.code, platform=PLATFORM, upstream_status=resp.status_code
        )

    def _graph(
        self,
        method: str,
        path: str,
        token: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: dict[str, Any] | None = None,
        idempotent: bool | None = None,
    ) -> dict[str, Any]:
        return self._call(
            method,
            f"{self.graph}{path}",
            token,
            params=params,
            json_body=json_body,
            idempotent=method == "GET" if idempotent is None else idempotent,
        )

    def _call(
        self,
        method: str,
        url: str,
        token: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: dict[str, Any] | None = None,
        idempotent: bool,
        header_auth: bool = True,
    ) -> dict[str, Any]:
        attempt = 0
        while True:
            self._check_throttle()
            try:
                resp = self._http.request(
                    method,
                    url,
                    params=dict(params or {}),
                    json=json_body,
                    headers={"Authorization": f"OAuth {token}"} if header_auth else {},
                )
            except httpx.TransportError as exc:
                error: IntegrationError = TransientError(
                    f"Graph API unreachable: {type(exc).__name__}", platform=PLATFORM
                )
            else:
                self._note_usage(resp)
                body = _json(resp)
                if resp.status_code == 200 and isinstance(body, dict) and "error" not in body:
                    return body
                error = graph_error(resp)
                if not isinstance(error, TransientError):
                    raise error
            # Only reads are safe to repeat: a create or publish may already have happened.
            attempt += 1
            if not idempotent or attempt > self.retry.max_retries:
                raise error
            log.warning("meta.retry", url=redact_url(url), attempt=attempt, reason=error.message)
            self.retry.wait(attempt)

    def _note_usage(self, resp: httpx.Response) -> None:
        usage = parse_usage(resp.headers)
        if usage.raw:
            self.usage = usage
            if usage.pct >= 75:
                log.info("meta.usage_high", pct=usage.pct, regain_s=usage.regain_s)

    def _check_throttle(self) -> None:
        if self.usage.pct >= self.throttle_at_pct:
            wait = self.usage.regain_s or 60.0
            raise UpstreamRateLimited(
                f"Meta rate-limit usage is at {self.usage.pct:.0f}%; pausing calls",
                code="usage-throttled",
                retry_after_s=wait,
                platform=PLATFORM,
            )


def _page(item: Mapping[str, Any]) -> Page:
    ig = item.get("instagram_business_account") or {}
    picture = ((item.get("picture") or {}).get("data") or {}).get("url")
    return Page(
        id=str(item.get("id")),
        name=str(item.get("name") or ""),
        access_token=str(item.get("access_token") or ""),
        picture_url=str(picture) if picture else None,
        tasks=tuple(str(t) for t in item.get("tasks") or ()),
        instagram_id=str(ig["id"]) if ig.get("id") else None,
        instagram_username=str(ig["username"]) if ig.get("username") else None,
        instagram_picture_url=ig.get("profile_picture_url"),
    )


def _media(body: Mapping[str, Any]) -> Media:
    return Media(
        id=str(body.get("id") or ""),
        caption=str(body.get("caption") or ""),
        permalink=body.get("permalink"),
        timestamp=body.get("timestamp"),
    )


def _insight_values(body: Mapping[str, Any]) -> dict[str, Any]:
    """`{"data": [{"name", "values": [{"value"}]}]}` (or `total_value`) -> {name: value}."""
    out: dict[str, Any] = {}
    for item in body.get("data") or []:
        if not isinstance(item, dict) or not item.get("name"):
            continue
        values = item.get("values") or []
        if values and isinstance(values[-1], dict):
            out[str(item["name"])] = values[-1].get("value")
        elif isinstance(item.get("total_value"), dict):
            out[str(item["name"])] = item["total_value"].get("value")
    return out


def wait_until(
    check: Callable[[], bool],
    *,
    timeout_s: float,
    interval_s: float,
    max_interval_s: float,
    sleep: Callable[[float], None],
    clock: Callable[[], float] = time.monotonic,
) -> bool:
    """Poll `check` with growing intervals until it is true (True) or time is up (False)."""
    deadline = clock() + timeout_s
    interval = interval_s
    while True:
        if check():
            return True
        remaining = deadline - clock()
        if remaining <= 0:
            return False
        sleep(min(interval, remaining))
        interval = min(interval * 1.5, max_interval_s)
