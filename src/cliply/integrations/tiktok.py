"""TikTok Login Kit (OAuth v2) and Content Posting API client (protocol only, no storage).

Follows developers.tiktok.com: /v2/auth/authorize/, /v2/oauth/token/, /v2/oauth/revoke/,
/v2/user/info/, /v2/post/publish/creator_info/query/, /v2/post/publish/video/init/ (direct
post), /v2/post/publish/inbox/video/init/ (upload to drafts), PUT upload_url in chunks, and
/v2/post/publish/status/fetch/.

API responses are ``{"data": {...}, "error": {"code", "message", "log_id"}}``; the error
code, not the HTTP status, says whether a call worked (some failures arrive with HTTP 200).
OAuth endpoints answer in RFC 6749 style: ``{"error": "invalid_grant", "error_description"}``.
Callers hold the tokens: every call takes the access token, and `TokenExpired` means
"refresh, then call again".

Exactly-once: TikTok has no search by marker, so persist `publish_id` right after init.
On a retry, `fetch_status(publish_id)` first: PUBLISH_COMPLETE (or PROCESSING_* with
uploaded_bytes == video size) means the post exists or is on its way, so do not upload again;
an upload left incomplete never publishes, so re-initialising then is safe.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlencode

import httpx
import structlog

from cliply.integrations.oauth_common import (
    ChallengeEncoding,
    IntegrationError,
    InvalidUpload,
    OAuthError,
    PkcePair,
    RefreshFailed,
    RetryPolicy,
    TokenExpired,
    TokenSet,
    TransientError,
    UploadSessionExpired,
    UploadSource,
    UpstreamRateLimited,
    UpstreamRejected,
    generate_pkce,
    open_upload_source,
    read_range,
    redact_url,
    retry_after_seconds,
    source_size,
    tls_context,
    token_set_from_response,
)

log = structlog.get_logger(__name__)

PLATFORM: Final = "tiktok"
MIB: Final = 1024 * 1024
DEFAULT_SCOPES: Final = ("user.info.basic", "video.publish", "video.upload")
DEFAULT_CHUNK_SIZE: Final = 10 * MIB
USER_FIELDS: Final = "open_id,union_id,avatar_url,display_name"
VIDEO_FIELDS: Final = "id,view_count,like_count,comment_count,share_count,duration"

PRIVACY_LEVELS: Final = (
    "PUBLIC_TO_EVERYONE",
    "MUTUAL_FOLLOW_FRIENDS",
    "FOLLOWER_OF_CREATOR",
    "SELF_ONLY",
)
STATUS_PROCESSING_UPLOAD: Final = "PROCESSING_UPLOAD"
STATUS_PROCESSING_DOWNLOAD: Final = "PROCESSING_DOWNLOAD"
STATUS_SEND_TO_USER_INBOX: Final = "SEND_TO_USER_INBOX"
STATUS_PUBLISH_COMPLETE: Final = "PUBLISH_COMPLETE"
STATUS_FAILED: Final = "FAILED"

# Error codes retrying cannot fix (the post itself or the account is refused).
_PERMANENT_CODES: Final = frozenset(
    {
        "privacy_level_option_mismatch",
        "unaudited_client_can_only_post_to_private_accounts",
        "url_ownership_unverified",
        "invalid_param",
        "invalid_params",
        "scope_not_authorized",
        "scope_permission_missed",
        "invalid_file_upload",
        "duration_check_failed",
    }
)
_RATE_CODES: Final = frozenset({"rate_limit_exceeded", "reached_active_user_cap"})
_RETRYABLE_FAIL_REASONS: Final = frozenset({"internal"})


class PublishFailed(IntegrationError):
    """TikTok reported status FAILED; `fail_reason` is TikTok's reason string."""

    code = "publish-failed"

    def __init__(self, fail_reason: str, **kwargs: Any) -> None:
        kwargs.setdefault("retryable", fail_reason in _RETRYABLE_FAIL_REASONS)
        kwargs.setdefault("platform", PLATFORM)
        super().__init__(f"TikTok could not publish the video ({fail_reason})", **kwargs)
        self.fail_reason = fail_reason


class PublishTimeout(TransientError):
    """The post was still processing at the deadline; poll again later with the publish_id."""

    code = "publish-timeout"

    def __init__(self, message: str, *, last_status: PublishStatus | None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.last_status = last_status


# --- chunk rules ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChunkRules:
    """TikTok's documented media-transfer limits (Media Transfer Guide, "Chunk restrictions")."""

    min_chunk: int = 5 * MIB
    max_chunk: int = 64 * MIB
    max_final_chunk: int = 128 * MIB
    max_chunks: int = 1000


@dataclass(frozen=True)
class ChunkPlan:
    video_size: int
    chunk_size: int
    total_chunk_count: int

    def ranges(self) -> list[tuple[int, int]]:
        """(first_byte, last_byte) per chunk, inclusive; the final chunk takes trailing bytes."""
        out = []
        for index in range(self.total_chunk_count):
            first = index * self.chunk_size
            last = (
                self.video_size - 1
                if index == self.total_chunk_count - 1
                else first + self.chunk_size - 1
            )
            out.append((first, last))
        return out


def plan_chunks(
    video_size: int,
    preferred_chunk_size: int = DEFAULT_CHUNK_SIZE,
    rules: ChunkRules = ChunkRules(),
) -> ChunkPlan:
    """chunk_size and total_chunk_count as the documented rules require.

    Files under `min_chunk` (and any file that fits in one preferred chunk) go whole;
    otherwise total_chunk_count = floor(video_size / chunk_size) and the final chunk takes
    the remainder, which stays under 2 x chunk_size <= max_final_chunk.
    """
    if video_size <= 0:
        raise InvalidUpload("video is empty", platform=PLATFORM)
    if video_size < rules.min_chunk:
        return ChunkPlan(video_size, video_size, 1)
    chunk = min(max(preferred_chunk_size, rules.min_chunk), rules.max_chunk)
    if video_size <= chunk:
        return ChunkPlan(video_size, video_size, 1)
    # Grow the chunk when the file would need more chunks than allowed: the smallest chunk
    # with floor(size / chunk) <= max_chunks.
    chunk = max(chunk, video_size // (rules.max_chunks + 1) + 1)
    if chunk > rules.max_chunk:
        raise InvalidUpload(
            f"video of {video_size} bytes exceeds TikTok's {rules.max_chunks} x "
            f"{rules.max_chunk}-byte upload limit",
            platform=PLATFORM,
        )
    count = video_size // chunk
    final = video_size - (count - 1) * chunk
    if final > rules.max_final_chunk:
        raise InvalidUpload(
            f"final chunk of {final} bytes exceeds {rules.max_final_chunk}", platform=PLATFORM
        )
    return ChunkPlan(video_size, chunk, count)


# --- shapes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TikTokPostInfo:
    """post_info of a direct post. `privacy_level` must be one of creator_info's options."""

    title: str
    privacy_level: str
    disable_duet: bool = False
    disable_comment: bool = False
    disable_stitch: bool = False
    video_cover_timestamp_ms: int | None = None
    brand_content_toggle: bool = False
    brand_organic_toggle: bool = False
    is_aigc: bool = False

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "title": self.title,
            "privacy_level": self.privacy_level,
            "disable_duet": self.disable_duet,
            "disable_comment": self.disable_comment,
            "disable_stitch": self.disable_stitch,
            "brand_content_toggle": self.brand_content_toggle,
            "brand_organic_toggle": self.brand_organic_toggle,
            "is_aigc": self.is_aigc,
        }
        if self.video_cover_timestamp_ms is not None:
            body["video_cover_timestamp_ms"] = self.video_cover_timestamp_ms
        return body


@dataclass(frozen=True)
class TikTokUser:
    open_id: str
    union_id: str | None
    display_name: str
    avatar_url: str | None


@dataclass(frozen=True)
class CreatorInfo:
    username: str
    nickname: str
    avatar_url: str | None
    privacy_level_options: tuple[str, ...]
    comment_disabled: bool
    duet_disabled: bool
    stitch_disabled: bool
    max_video_post_duration_sec: int


@dataclass(frozen=True)
class VideoUpload:
    """Result of an init call. Persist `publish_id` before uploading (it is the retry key)."""

    publish_id: str
    upload_url: str
    plan: ChunkPlan


@dataclass(frozen=True)
class PublishStatus:
    status: str
    fail_reason: str | None = None
    post_ids: tuple[str, ...] = ()
    uploaded_bytes: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def is_final(self) -> bool:
        return self.status in (STATUS_PUBLISH_COMPLETE, STATUS_SEND_TO_USER_INBOX, STATUS_FAILED)


def post_url(username: str, post_id: str) -> str:
    return f"https://www.tiktok.com/@{username}/video/{post_id}"


# --- client ---------------------------------------------------------------------------------


class TikTokClient:
    """Synchronous TikTok client; pass `http` to share a connection pool (not closed here)."""

    def __init__(
        self,
        auth_base: str,
        api_base: str,
        client_key: str,
        client_secret: str,
        http: httpx.Client | None = None,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        chunk_rules: ChunkRules = ChunkRules(),
        retry: RetryPolicy = RetryPolicy(),
        pkce_encoding: ChallengeEncoding = "hex",
        timeout_s: float = 60.0,
    ) -> None:
        self.auth_base = auth_base.rstrip("/")
        self.api_base = api_base.rstrip("/")
        self.client_key = client_key
        self._client_secret = client_secret
        self.chunk_size = chunk_size
        self.chunk_rules = chunk_rules
        self.retry = retry
        # TikTok's Login Kit for Desktop documents the S256 challenge as hex SHA-256.
        self.pkce_encoding: ChallengeEncoding = pkce_encoding
        self._own_http = http is None
        self._http = http or httpx.Client(
            timeout=httpx.Timeout(timeout_s, write=timeout_s * 2), verify=tls_context()
        )

    def close(self) -> None:
        if self._own_http:
            self._http.close()

    def __enter__(self) -> TikTokClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- OAuth ------------------------------------------------------------------------------

    def new_pkce(self) -> PkcePair:
        return generate_pkce(self.pkce_encoding)

    def authorize_url(
        self,
        redirect_uri: str,
        state: str,
        code_challenge: str,
        scopes: tuple[str, ...] | list[str] = DEFAULT_SCOPES,
    ) -> str:
        query = {
            "client_key": self.client_key,
            "scope": ",".join(scopes),
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        return f"{self.auth_base}/v2/auth/authorize/?{urlencode(query)}"

    def exchange_code(self, code: str, redirect_uri: str, code_verifier: str) -> TokenSet:
        body = self._oauth_post(
            "/v2/oauth/token/",
            {
                "client_key": self.client_key,
                "client_secret": self._client_secret,
                "code": code,
                "grant_type": "authorization_code",
                "redirect_uri": redirect_uri,
                "code_verifier": code_verifier,
            },
            refreshing=False,
        )
        return token_set_from_response(body)

    def refresh(self, refresh_token: str) -> TokenSet:
        """New tokens; TikTok may rotate the refresh token, so store the returned one."""
        body = self._oauth_post(
            "/v2/oauth/token/",
            {
                "client_key": self.client_key,
                "client_secret": self._client_secret,
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
            },
            refreshing=True,
        )
        return token_set_from_response(body, previous_refresh_token=refresh_token)

    def revoke(self, access_token: str) -> None:
        self._oauth_post(
            "/v2/oauth/revoke/",
            {
                "client_key": self.client_key,
                "client_secret": self._client_secret,
                "token": access_token,
            },
            refreshing=False,
        )

    # --- API --------------------------------------------------------------------------------

    def user_info(self, access_token: str) -> TikTokUser:
        data = self._api(
            "GET", "/v2/user/info/", access_token, params={"fields": USER_FIELDS}, idempotent=True
        )
        user = data.get("user") or {}
        return TikTokUser(
            open_id=str(user.get("open_id", "")),
            union_id=user.get("union_id"),
            display_name=str(user.get("display_name", "")),
            avatar_url=user.get("avatar_url"),
        )

    def creator_info(self, access_token: str) -> CreatorInfo:
        data = self._api(
            "POST", "/v2/post/publish/creator_info/query/", access_token, json={}, idempotent=True
        )
        return CreatorInfo(
            username=str(data.get("creator_username", "")),
            nickname=str(data.get("creator_nickname", "")),
            avatar_url=data.get("creator_avatar_url"),
            privacy_level_options=tuple(data.get("privacy_level_options") or ()),
            comment_disabled=bool(data.get("comment_disabled", False)),
            duet_disabled=bool(data.get("duet_disabled", False)),
            stitch_disabled=bool(data.get("stitch_disabled", False)),
            max_video_post_duration_sec=int(data.get("max_video_post_duration_sec") or 0),
        )

    def init_video_upload(
        self,
        access_token: str,
        post_info: TikTokPostInfo,
        video_size: int,
        chunk_size: int | None = None,
    ) -> VideoUpload:
        """Direct post: init with FILE_UPLOAD. Not retried here (each call is a new publish)."""
        plan = plan_chunks(video_size, chunk_size or self.chunk_size, self.chunk_rules)
        return self._init("/v2/post/publish/video/init/", access_token, plan, post_info)

    def init_inbox_upload(
        self, access_token: str, video_size: int, chunk_size: int | None = None
    ) -> VideoUpload:
        """Upload to the creator's drafts (scope video.upload); they finish the post in TikTok."""
        plan = plan_chunks(video_size, chunk_size or self.chunk_size, self.chunk_rules)
        return self._init("/v2/post/publish/inbox/video/init/", access_token, plan, None)

    def upload_chunks(
        self,
        upload: VideoUpload,
        source: UploadSource,
        content_type: str = "video/mp4",
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        """PUT every chunk in order; a chunk is re-sent on 5xx/429/dropped connection."""
        plan = upload.plan
        with open_upload_source(source) as handle:
            size = source_size(handle)
            if size != plan.video_size:
                raise InvalidUpload(
                    f"file is {size} bytes but the upload was initialised for {plan.video_size}",
                    platform=PLATFORM,
                )
            ranges = plan.ranges()
            for index, (first, last) in enumerate(ranges):
                data = read_range(handle, first, last - first + 1)
                status = self._put_chunk(upload.upload_url, data, first, last, size, content_type)
                is_final = index == len(ranges) - 1
                if is_final and status not in (200, 201):
                    raise TransientError(
                        f"TikTok answered {status} to the final chunk instead of 201",
                        platform=PLATFORM,
                        upstream_status=status,
                    )
                if progress is not None:
                    progress(last + 1, size)

    def fetch_status(self, access_token: str, publish_id: str) -> PublishStatus:
        data = self._api(
            "POST",
            "/v2/post/publish/status/fetch/",
            access_token,
            json={"publish_id": publish_id},
            idempotent=True,
        )
        # TikTok spells the field "publicaly_available_post_id" (sic).
        ids = data.get("publicaly_available_post_id") or data.get("publicly_available_post_id")
        uploaded = data.get("uploaded_bytes")
        return PublishStatus(
            status=str(data.get("status", "")),
            fail_reason=data.get("fail_reason") or None,
            post_ids=tuple(str(i) for i in ids or ()),
            uploaded_bytes=int(uploaded) if uploaded is not None else None,
            raw=dict(data),
        )

    def query_videos(self, access_token: str, video_ids: list[str]) -> list[dict[str, Any]]:
        """Display API `POST /v2/video/query/` (scope video.list): counters of up to 20 of
        the account's videos. Ids TikTok leaves out were deleted or made private."""
        if len(video_ids) > 20:
            raise InvalidUpload("TikTok's video query takes at most 20 ids", platform=PLATFORM)
        data = self._api(
            "POST",
            "/v2/video/query/",
            access_token,
            json={"filters": {"video_ids": video_ids}},
            params={"fields": VIDEO_FIELDS},
            idempotent=True,
        )
        return [v for v in data.get("videos") or [] if isinstance(v, dict)]

    def wait_for_publish(
        self,
        access_token: str,
        publish_id: str,
        *,
        timeout_s: float = 600.0,
        initial_interval_s: float = 2.0,
        max_interval_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> PublishStatus:
        """Poll until PUBLISH_COMPLETE / SEND_TO_USER_INBOX; FAILED raises `PublishFailed`.

        Rate limits and server errors while polling are waited out; `TokenExpired` is raised
        so the caller refreshes and polls again with the same publish_id.
        """
        deadline = clock() + timeout_s
        interval = initial_interval_s
        last: PublishStatus | None = None
        while True:
            floor: float | None = None
            try:
                last = self.fetch_status(access_token, publish_id)
            except UpstreamRateLimited as exc:
                floor = exc.retry_after_s
            except TransientError:
                pass
            if last is not None and last.status == STATUS_FAILED:
                raise PublishFailed(last.fail_reason or "unknown")
            if last is not None and last.is_final:
                return last
            remaining = deadline - clock()
            if remaining <= 0:
                raise PublishTimeout(
                    f"post {publish_id} still {last.status if last else 'unknown'} at deadline",
                    last_status=last,
                    platform=PLATFORM,
                )
            self.retry.sleep(min(max(interval, floor or 0.0), remaining))
            interval = min(interval * 1.5, max_interval_s)

    # --- internals --------------------------------------------------------------------------

    def _init(
        self,
        path: str,
        access_token: str,
        plan: ChunkPlan,
        post_info: TikTokPostInfo | None,
    ) -> VideoUpload:
        body: dict[str, Any] = {
            "source_info": {
                "source": "FILE_UPLOAD",
                "video_size": plan.video_size,
                "chunk_size": plan.chunk_size,
                "total_chunk_count": plan.total_chunk_count,
            }
        }
        if post_info is not None:
            body["post_info"] = post_info.to_json()
        data = self._api("POST", path, access_token, json=body, idempotent=False)
        publish_id, upload_url = data.get("publish_id"), data.get("upload_url")
        if not publish_id or not upload_url:
            raise TransientError("init response lacks publish_id/upload_url", platform=PLATFORM)
        return VideoUpload(publish_id=str(publish_id), upload_url=str(upload_url), plan=plan)

    def _put_chunk(
        self, url: str, data: bytes, first: int, last: int, total: int, content_type: str
    ) -> int:
        headers = {
            "Content-Type": content_type,
            "Content-Length": str(len(data)),
            "Content-Range": f"bytes {first}-{last}/{total}",
        }
        attempt = 0
        while True:
            floor: float | None = None
            try:
                resp = self._http.put(url, content=data, headers=headers)
            except httpx.TransportError as exc:
                reason = f"connection failed: {type(exc).__name__}"
            else:
                if resp.status_code in (200, 201, 206):
                    return resp.status_code
                if resp.status_code in (403, 404, 410):
                    raise UploadSessionExpired(
                        f"upload URL refused the chunk ({resp.status_code}); initialise again",
                        platform=PLATFORM,
                        upstream_status=resp.status_code,
                    )
                if resp.status_code != 429 and resp.status_code < 500:
                    raise UpstreamRejected(
                        f"TikTok rejected chunk bytes {first}-{last}: "
                        f"{resp.status_code} {resp.text[:300]}",
                        code="upload-rejected",
                        platform=PLATFORM,
                        upstream_status=resp.status_code,
                    )
                reason = f"HTTP {resp.status_code}"
                floor = retry_after_seconds(resp.headers.get("Retry-After"))
            attempt += 1
            if attempt > self.retry.max_retries:
                raise TransientError(
                    f"chunk bytes {first}-{last} failed after {attempt} attempts ({reason})",
                    platform=PLATFORM,
                )
            log.warning(
                "tiktok.chunk_retry",
                url=redact_url(url),
                first=first,
                attempt=attempt,
                reason=reason,
            )
            self.retry.wait(attempt, floor)

    def _oauth_post(self, path: str, form: dict[str, str], *, refreshing: bool) -> dict[str, Any]:
        url = f"{self.api_base}{path}"
        try:
            resp = self._http.post(
                url, data=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
            )
        except httpx.TransportError as exc:
            msg = f"TikTok OAuth endpoint unreachable: {type(exc).__name__}"
            if refreshing:
                raise RefreshFailed(msg, permanent=False, platform=PLATFORM) from exc
            raise TransientError(msg, platform=PLATFORM) from exc
        body = _json_or_none(resp)
        error, description, log_id = _oauth_error(body)
        if error is None and resp.status_code < 400 and body is not None:
            return body
        if resp.status_code >= 500 or body is None:
            msg = f"TikTok OAuth endpoint answered {resp.status_code}"
            if refreshing:
                raise RefreshFailed(
                    msg, permanent=False, platform=PLATFORM, upstream_status=resp.status_code
                )
            raise TransientError(msg, platform=PLATFORM, upstream_status=resp.status_code)
        error = error or "invalid_request"
        msg = description or error
        if refreshing:
            # An unusable refresh token means the user has to connect the account again.
            permanent = error in ("invalid_grant", "invalid_client", "unauthorized_client")
            raise RefreshFailed(
                msg,
                permanent=permanent,
                code="refresh-failed" if not permanent else "reconnect-required",
                platform=PLATFORM,
                upstream_status=resp.status_code,
                log_id=log_id,
            )
        raise OAuthError(
            msg, code=error, platform=PLATFORM, upstream_status=resp.status_code, log_id=log_id
        )

    def _api(
        self,
        method: str,
        path: str,
        access_token: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        idempotent: bool,
    ) -> dict[str, Any]:
        url = f"{self.api_base}{path}"
        headers = {"Authorization": f"Bearer {access_token}"}
        if json is not None:
            headers["Content-Type"] = "application/json; charset=UTF-8"
        attempt = 0
        while True:
            try:
                resp = self._http.request(method, url, json=json, params=params, headers=headers)
                return _api_result(resp)
            except TransientError as exc:
                # Only reads and queries are safe to repeat; an init may already have happened.
                attempt += 1
                if not idempotent or attempt > self.retry.max_retries:
                    raise
                log.warning("tiktok.api_retry", path=path, attempt=attempt, reason=exc.message)
                self.retry.wait(attempt)
            except httpx.TransportError as exc:
                attempt += 1
                if not idempotent or attempt > self.retry.max_retries:
                    raise TransientError(
                        f"TikTok API unreachable: {type(exc).__name__}", platform=PLATFORM
                    ) from exc
                log.warning("tiktok.api_retry", path=path, attempt=attempt, reason=repr(exc))
                self.retry.wait(attempt)


def _json_or_none(resp: httpx.Response) -> dict[str, Any] | None:
    try:
        body = resp.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _oauth_error(body: dict[str, Any] | None) -> tuple[str | None, str | None, str | None]:
    """OAuth endpoints use RFC 6749 errors; revoke may use the API's error object instead."""
    if body is None:
        return None, None, None
    error = body.get("error")
    if isinstance(error, dict):
        code = error.get("code")
        if not code or code == "ok":
            return None, None, None
        return str(code), error.get("message"), error.get("log_id")
    if isinstance(error, str) and error:
        return error, body.get("error_description"), body.get("log_id")
    return None, None, None


def _api_result(resp: httpx.Response) -> dict[str, Any]:
    body = _json_or_none(resp)
    err = (body or {}).get("error")
    err = err if isinstance(err, dict) else {}
    code = str(err.get("code") or "")
    message = str(err.get("message") or code or f"HTTP {resp.status_code}")
    log_id = err.get("log_id")
    if body is not None and code == "ok" and resp.status_code < 400:
        data = body.get("data")
        return data if isinstance(data, dict) else {}
    common: dict[str, Any] = {
        "platform": PLATFORM,
        "upstream_status": resp.status_code,
        "log_id": log_id,
    }
    if code == "access_token_invalid" or (resp.status_code == 401 and not code):
        raise TokenExpired(message, **common)
    if code in _RATE_CODES or resp.status_code == 429:
        raise UpstreamRateLimited(
            message,
            code=code or "rate-limit-exceeded",
            retry_after_s=retry_after_seconds(resp.headers.get("Retry-After")),
            **common,
        )
    if code.startswith("spam_risk") or code in _PERMANENT_CODES:
        raise UpstreamRejected(message, code=code, **common)
    if body is None or resp.status_code >= 500 or code in ("internal_error", ""):
        raise TransientError(message, code=code or "server-error", **common)
    raise UpstreamRejected(message, code=code, **common)
