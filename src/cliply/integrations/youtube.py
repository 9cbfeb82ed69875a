"""YouTube Data API v3 client: resumable video upload and the reads needed for exactly-once.

Resumable protocol (developers.google.com/youtube/v3/guides/using_resumable_upload_protocol):
1. POST {upload_base}/upload/youtube/v3/videos?uploadType=resumable&part=snippet,status with
   the video resource as JSON and X-Upload-Content-Length/-Type; the session URI comes back in
   `Location`.
2. PUT chunks (multiples of 256 KiB except the last) with `Content-Range: bytes a-b/total`.
   `308 Resume Incomplete` carries `Range: bytes=0-N` (continue at N+1; no Range = nothing
   stored); 200/201 carries the created video resource.
3. After a dropped connection or 5xx, `PUT` an empty body with `Content-Range: bytes */total`
   to learn what the server holds, then continue from there.

Exactly-once: tag the video with `post_marker(post_id)`. Before starting a new session after
`UploadSessionExpired` (or after a crash with no recorded video id), call
`find_video_by_marker`: an upload that finished but was never recorded shows up there.

Shorts: YouTube treats vertical (or square) videos up to 180 s as Shorts; the `#Shorts`
hashtag is optional but helps classification. `apply_shorts_convention` adds it to the
description (not the title, whose 100 characters are precious) when the clip qualifies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any, Final, Literal
from urllib.parse import urlsplit

import httpx
import structlog

from cliply.integrations.oauth_common import (
    IntegrationError,
    InvalidUpload,
    RetryPolicy,
    TokenExpired,
    TransientError,
    UploadSessionExpired,
    UploadSource,
    UpstreamRateLimited,
    UpstreamRejected,
    open_upload_source,
    read_range,
    retry_after_seconds,
    source_size,
    tls_context,
)

log = structlog.get_logger(__name__)

PLATFORM: Final = "youtube"
CHUNK_GRANULARITY: Final = 256 * 1024
DEFAULT_CHUNK_SIZE: Final = 32 * CHUNK_GRANULARITY  # 8 MiB
SHORTS_MAX_SECONDS: Final = 180
TITLE_MAX_CHARS: Final = 100
DESCRIPTION_MAX_BYTES: Final = 5000
TAGS_MAX_CHARS: Final = 500
MARKER_PREFIX: Final = "cliply:post:"
DEFAULT_CATEGORY_ID: Final = "22"  # People & Blogs

PrivacyStatus = Literal["private", "unlisted", "public"]

_RETRY_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
ANALYTICS_BASE: Final = "https://youtubeanalytics.googleapis.com"
# What reports.query reads per video (watch time in minutes, view duration in seconds).
ANALYTICS_METRICS: Final = (
    "views",
    "estimatedMinutesWatched",
    "averageViewDuration",
    "averageViewPercentage",
    "subscribersGained",
)
ANALYTICS_MAX_IDS: Final = 200
_QUOTA_REASONS: Final = frozenset(
    {"quotaExceeded", "uploadLimitExceeded", "rateLimitExceeded", "userRateLimitExceeded"}
)


class InvalidMetadata(IntegrationError):
    code = "invalid-metadata"
    retryable = False


def post_marker(post_id: object) -> str:
    """Private marker stored as a tag (tags are not shown on the watch page)."""
    return f"{MARKER_PREFIX}{post_id}"


@dataclass(frozen=True)
class YouTubeVideoMetadata:
    title: str
    description: str = ""
    tags: tuple[str, ...] = ()
    category_id: str = DEFAULT_CATEGORY_ID
    privacy_status: PrivacyStatus = "private"
    # Scheduled publication: YouTube requires privacyStatus "private" until then.
    publish_at: datetime | None = None
    self_declared_made_for_kids: bool = False
    contains_synthetic_media: bool | None = None

    def validate(self) -> None:
        title = self.title.strip()
        if not title:
            raise InvalidMetadata("title is required", platform=PLATFORM)
        if len(title) > TITLE_MAX_CHARS:
            raise InvalidMetadata(
                f"title is {len(title)} characters; YouTube allows {TITLE_MAX_CHARS}",
                platform=PLATFORM,
            )
        for name, text in (("title", self.title), ("description", self.description)):
            if "<" in text or ">" in text:
                raise InvalidMetadata(f"{name} may not contain '<' or '>'", platform=PLATFORM)
        if len(self.description.encode("utf-8")) > DESCRIPTION_MAX_BYTES:
            raise InvalidMetadata(
                f"description exceeds {DESCRIPTION_MAX_BYTES} bytes", platform=PLATFORM
            )
        # YouTube counts a tag with spaces as if quoted (+2) and separates tags with commas.
        tag_chars = sum(len(t) + (2 if " " in t else 0) for t in self.tags) + max(
            len(self.tags) - 1, 0
        )
        if tag_chars > TAGS_MAX_CHARS:
            raise InvalidMetadata(f"tags exceed {TAGS_MAX_CHARS} characters", platform=PLATFORM)
        if self.publish_at is not None:
            if self.privacy_status != "private":
                raise InvalidMetadata(
                    "publish_at requires privacy_status 'private' (YouTube makes it public then)",
                    platform=PLATFORM,
                )
            if self.publish_at.tzinfo is None:
                raise InvalidMetadata("publish_at must be timezone-aware", platform=PLATFORM)

    def with_marker(self, marker: str) -> YouTubeVideoMetadata:
        if marker in self.tags:
            return self
        return replace(self, tags=(*self.tags, marker))

    def to_resource(self) -> dict[str, Any]:
        self.validate()
        snippet: dict[str, Any] = {
            "title": self.title.strip(),
            "description": self.description,
            "categoryId": self.category_id,
        }
        if self.tags:
            snippet["tags"] = list(self.tags)
        status: dict[str, Any] = {
            "privacyStatus": self.privacy_status,
            "selfDeclaredMadeForKids": self.self_declared_made_for_kids,
        }
        if self.publish_at is not None:
            status["publishAt"] = (
                self.publish_at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
            )
        if self.contains_synthetic_media is not None:
            status["containsSyntheticMedia"] = self.contains_synthetic_media
        return {"snippet": snippet, "status": status}


def is_short(width: int, height: int, duration_s: float) -> bool:
    return height >= width and 0 < duration_s <= SHORTS_MAX_SECONDS


def apply_shorts_convention(
    metadata: YouTubeVideoMetadata, width: int, height: int, duration_s: float
) -> YouTubeVideoMetadata:
    """Add #Shorts to the description of a vertical/square clip of at most 180 s."""
    if not is_short(width, height, duration_s):
        return metadata
    text = f"{metadata.title} {metadata.description}".lower()
    if "#shorts" in text:
        return metadata
    description = f"{metadata.description}\n\n#Shorts" if metadata.description else "#Shorts"
    return replace(metadata, description=description)


@dataclass(frozen=True)
class YouTubeVideo:
    id: str
    title: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    privacy_status: str | None = None
    upload_status: str | None = None
    publish_at: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def url(self) -> str:
        return f"https://www.youtube.com/watch?v={self.id}"

    @property
    def shorts_url(self) -> str:
        return f"https://www.youtube.com/shorts/{self.id}"

    @classmethod
    def from_resource(cls, resource: Mapping[str, Any]) -> YouTubeVideo:
        snippet = resource.get("snippet") or {}
        status = resource.get("status") or {}
        return cls(
            id=str(resource.get("id", "")),
            title=str(snippet.get("title", "")),
            description=str(snippet.get("description", "")),
            tags=tuple(snippet.get("tags") or ()),
            privacy_status=status.get("privacyStatus"),
            upload_status=status.get("uploadStatus"),
            publish_at=status.get("publishAt"),
            raw=dict(resource),
        )

    def has_marker(self, marker: str) -> bool:
        return marker in self.tags or marker in self.description


@dataclass(frozen=True)
class YouTubeChannel:
    id: str
    title: str = ""
    thumbnail_url: str | None = None


@dataclass(frozen=True)
class _Done:
    video: YouTubeVideo


@dataclass(frozen=True)
class _Incomplete:
    next_offset: int


@dataclass(frozen=True)
class _Retry:
    reason: str
    floor_s: float | None = None


class YouTubeClient:
    """Synchronous YouTube client; pass `http` to share a connection pool (not closed here)."""

    def __init__(
        self,
        api_base: str,
        upload_base: str,
        http: httpx.Client | None = None,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        retry: RetryPolicy = RetryPolicy(),
        timeout_s: float = 60.0,
        analytics_base: str = ANALYTICS_BASE,
    ) -> None:
        _check_chunk_size(chunk_size)
        self.api_base = api_base.rstrip("/")
        self.upload_base = upload_base.rstrip("/")
        self.analytics_base = analytics_base.rstrip("/")
        self.chunk_size = chunk_size
        self.retry = retry
        self._own_http = http is None
        self._http = http or httpx.Client(
            timeout=httpx.Timeout(timeout_s, write=timeout_s * 2), verify=tls_context()
        )

    def close(self) -> None:
        if self._own_http:
            self._http.close()

    def __enter__(self) -> YouTubeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- upload -----------------------------------------------------------------------------

    def start_resumable_upload(
        self,
        access_token: str,
        metadata: YouTubeVideoMetadata,
        size: int,
        content_type: str = "video/mp4",
        *,
        notify_subscribers: bool = True,
    ) -> str:
        """Open an upload session and return its URI (persist it to resume after a crash).

        Safe to retry: a session that receives no bytes creates no video.
        """
        if size <= 0:
            raise InvalidUpload("video is empty", platform=PLATFORM)
        resource = metadata.to_resource()
        params = {
            "uploadType": "resumable",
            "part": "snippet,status",
            "notifySubscribers": "true" if notify_subscribers else "false",
        }
        headers = {
            **_auth(access_token),
            "Content-Type": "application/json; charset=UTF-8",
            "X-Upload-Content-Length": str(size),
            "X-Upload-Content-Type": content_type,
        }
        resp = self._request(
            "POST",
            f"{self.upload_base}/upload/youtube/v3/videos",
            params=params,
            json=resource,
            headers=headers,
        )
        location = resp.headers.get("Location")
        if not location:
            raise TransientError("upload session response lacks Location", platform=PLATFORM)
        return str(location)

    def upload(
        self,
        access_token: str,
        session_uri: str,
        source: UploadSource,
        *,
        content_type: str = "video/mp4",
        chunk_size: int | None = None,
        resume: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> YouTubeVideo:
        """Send the file in chunks and return the created video.

        `resume=True` first asks the server how much of this session it holds (use it when
        continuing a session after a crash or after refreshing an expired token).
        Raises `TokenExpired` (refresh, then call again with resume=True),
        `UploadSessionExpired` (session gone: check `find_video_by_marker` before starting
        over), `TransientError` after `retry.max_retries` failures without progress.
        """
        chunk = chunk_size or self.chunk_size
        _check_chunk_size(chunk)
        with open_upload_source(source) as handle:
            total = source_size(handle)
            if total <= 0:
                raise InvalidUpload("video is empty", platform=PLATFORM)
            offset = 0
            need_status = resume
            attempt = 0
            while True:
                if need_status:
                    outcome = self._send(
                        session_uri,
                        b"",
                        {
                            **_auth(access_token),
                            "Content-Length": "0",
                            "Content-Range": f"bytes */{total}",
                        },
                    )
                else:
                    end = min(offset + chunk, total)
                    data = read_range(handle, offset, end - offset)
                    outcome = self._send(
                        session_uri,
                        data,
                        {
                            **_auth(access_token),
                            "Content-Type": content_type,
                            "Content-Length": str(len(data)),
                            "Content-Range": f"bytes {offset}-{end - 1}/{total}",
                        },
                    )
                if isinstance(outcome, _Done):
                    if progress is not None:
                        progress(total, total)
                    return outcome.video
                if isinstance(outcome, _Incomplete):
                    advanced = outcome.next_offset > offset
                    was_query = need_status
                    offset = min(outcome.next_offset, total)
                    need_status = False
                    if offset >= total:
                        # Every byte is stored but no video came back: ask again after a wait.
                        outcome = _Retry("server holds the whole file but has not finished")
                    elif advanced or was_query:
                        if advanced:
                            attempt = 0
                            if progress is not None:
                                progress(offset, total)
                        continue
                    else:
                        outcome = _Retry("server stored none of the chunk")
                attempt += 1
                if attempt > self.retry.max_retries:
                    raise TransientError(
                        f"upload made no progress after {attempt} attempts ({outcome.reason})",
                        platform=PLATFORM,
                    )
                log.warning(
                    "youtube.upload_retry", offset=offset, attempt=attempt, reason=outcome.reason
                )
                self.retry.wait(attempt, outcome.floor_s)
                need_status = True

    def query_upload_status(
        self, access_token: str, session_uri: str, total: int
    ) -> int | YouTubeVideo:
        """Bytes the server holds for this session, or the video if the upload completed."""
        outcome = self._send(
            session_uri,
            b"",
            {**_auth(access_token), "Content-Length": "0", "Content-Range": f"bytes */{total}"},
        )
        if isinstance(outcome, _Done):
            return outcome.video
        if isinstance(outcome, _Incomplete):
            return outcome.next_offset
        raise TransientError(f"upload status query failed ({outcome.reason})", platform=PLATFORM)

    # --- reads ------------------------------------------------------------------------------

    def get_video(self, access_token: str, video_id: str) -> YouTubeVideo | None:
        videos = self._videos_by_id(access_token, [video_id])
        return videos[0] if videos else None

    def my_channel(self, access_token: str) -> YouTubeChannel | None:
        """The authorised user's channel (id, title): identifies a connected account."""
        body = self._get_json(
            access_token, "/youtube/v3/channels", {"part": "snippet", "mine": "true"}
        )
        items = body.get("items") or []
        if not items or not isinstance(items[0], dict) or not items[0].get("id"):
            return None
        snippet = items[0].get("snippet") or {}
        thumbs = snippet.get("thumbnails") or {}
        thumb = (thumbs.get("default") or {}).get("url")
        return YouTubeChannel(
            id=str(items[0]["id"]),
            title=str(snippet.get("title") or ""),
            thumbnail_url=str(thumb) if thumb else None,
        )

    def list_my_uploads(self, access_token: str, max_results: int = 50) -> list[YouTubeVideo]:
        """The channel's most recent uploads (newest first), private ones included."""
        channels = self._get_json(
            access_token, "/youtube/v3/channels", {"part": "contentDetails", "mine": "true"}
        )
        items = channels.get("items") or []
        if not items:
            return []
        uploads = (items[0].get("contentDetails") or {}).get("relatedPlaylists", {}).get("uploads")
        if not uploads:
            return []
        ids: list[str] = []
        page_token: str | None = None
        while len(ids) < max_results:
            params = {
                "part": "contentDetails",
                "playlistId": str(uploads),
                "maxResults": str(min(50, max_results - len(ids))),
            }
            if page_token:
                params["pageToken"] = page_token
            page = self._get_json(access_token, "/youtube/v3/playlistItems", params)
            for item in page.get("items") or []:
                video_id = (item.get("contentDetails") or {}).get("videoId")
                if video_id:
                    ids.append(str(video_id))
            page_token = page.get("nextPageToken")
            if not page_token:
                break
        videos: list[YouTubeVideo] = []
        for start in range(0, len(ids), 50):
            videos.extend(self._videos_by_id(access_token, ids[start : start + 50]))
        return videos

    def find_video_by_marker(
        self, access_token: str, marker: str, max_scan: int = 50
    ) -> YouTubeVideo | None:
        """The most recent upload carrying `marker` (see `post_marker`), if any."""
        for video in self.list_my_uploads(access_token, max_results=max_scan):
            if video.has_marker(marker):
                return video
        return None

    def video_statistics(self, access_token: str, ids: list[str]) -> dict[str, dict[str, Any]]:
        """`videos.list?part=statistics,status` for up to 50 ids (1 quota unit): the raw
        resource per id. Ids missing from the answer were deleted (or are not ours)."""
        if len(ids) > 50:
            raise InvalidUpload("videos.list takes at most 50 ids", platform=PLATFORM)
        if not ids:
            return {}
        body = self._get_json(
            access_token,
            "/youtube/v3/videos",
            {"part": "statistics,status", "id": ",".join(ids), "maxResults": "50"},
        )
        return {
            str(item.get("id")): item for item in body.get("items") or [] if isinstance(item, dict)
        }

    def video_analytics(
        self, access_token: str, ids: list[str], start: date, end: date
    ) -> dict[str, dict[str, float]]:
        """YouTube Analytics `reports.query` (v2, scope yt-analytics.readonly) for up to
        ANALYTICS_MAX_IDS videos of the token's channel, totals from `start` to `end`: the
        ANALYTICS_METRICS per video id. Videos without data (too new, or not the channel's)
        are left out; the report has no rows at all when none has data."""
        if len(ids) > ANALYTICS_MAX_IDS:
            raise InvalidUpload(
                f"reports.query takes at most {ANALYTICS_MAX_IDS} videos", platform=PLATFORM
            )
        if not ids:
            return {}
        body = self._get_json_at(
            access_token,
            f"{self.analytics_base}/v2/reports",
            {
                "ids": "channel==MINE",
                "startDate": start.isoformat(),
                "endDate": max(start, end).isoformat(),
                "metrics": ",".join(ANALYTICS_METRICS),
                "dimensions": "video",
                "filters": "video==" + ",".join(ids),
                "sort": "-views",
                "maxResults": str(len(ids)),
            },
        )
        names = [str(h.get("name")) for h in body.get("columnHeaders") or [] if isinstance(h, dict)]
        out: dict[str, dict[str, float]] = {}
        for row in body.get("rows") or []:
            if not isinstance(row, list) or len(row) != len(names):
                continue
            cells = dict(zip(names, row, strict=True))
            video = cells.pop("video", None)
            if video is None:
                continue
            out[str(video)] = {
                k: float(v)
                for k, v in cells.items()
                if isinstance(v, int | float | str) and _num(v)
            }
        return out

    # --- internals --------------------------------------------------------------------------

    def _videos_by_id(self, access_token: str, ids: list[str]) -> list[YouTubeVideo]:
        if not ids:
            return []
        body = self._get_json(
            access_token,
            "/youtube/v3/videos",
            {"part": "snippet,status", "id": ",".join(ids), "maxResults": "50"},
        )
        by_id = {
            str(item.get("id")): YouTubeVideo.from_resource(item)
            for item in body.get("items") or []
        }
        return [by_id[i] for i in ids if i in by_id]

    def _get_json(self, access_token: str, path: str, params: dict[str, str]) -> dict[str, Any]:
        return self._get_json_at(access_token, f"{self.api_base}{path}", params)

    def _get_json_at(self, access_token: str, url: str, params: dict[str, str]) -> dict[str, Any]:
        path = urlsplit(url).path
        resp = self._request("GET", url, params=params, headers=_auth(access_token))
        try:
            body = resp.json()
        except ValueError as exc:
            raise TransientError(f"{path} answered non-JSON", platform=PLATFORM) from exc
        return body if isinstance(body, dict) else {}

    def _request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, str] | None = None,
        json: dict[str, Any] | None = None,
        headers: dict[str, str],
    ) -> httpx.Response:
        """A request that is safe to repeat: retried on 5xx/429/dropped connections."""
        attempt = 0
        while True:
            floor: float | None = None
            try:
                resp = self._http.request(method, url, params=params, json=json, headers=headers)
            except httpx.TransportError as exc:
                reason = f"connection failed: {type(exc).__name__}"
            else:
                if resp.status_code < 300:
                    return resp
                if resp.status_code not in _RETRY_STATUSES:
                    raise _error_for(resp)
                reason = f"HTTP {resp.status_code}"
                floor = retry_after_seconds(resp.headers.get("Retry-After"))
            attempt += 1
            if attempt > self.retry.max_retries:
                raise TransientError(
                    f"{method} {url.split('?', 1)[0]} failed after {attempt} attempts ({reason})",
                    platform=PLATFORM,
                )
            self.retry.wait(attempt, floor)

    def _send(
        self, session_uri: str, data: bytes, headers: dict[str, str]
    ) -> _Done | _Incomplete | _Retry:
        try:
            resp = self._http.put(session_uri, content=data, headers=headers)
        except httpx.TransportError as exc:
            return _Retry(f"connection failed: {type(exc).__name__}")
        if resp.status_code in (200, 201):
            try:
                body = resp.json()
            except ValueError:
                return _Retry("completed upload answered without a video resource")
            if not isinstance(body, dict) or not body.get("id"):
                return _Retry("completed upload answered without a video id")
            return _Done(YouTubeVideo.from_resource(body))
        if resp.status_code == 308:
            return _Incomplete(_next_offset(resp.headers.get("Range")))
        if resp.status_code in (404, 410):
            raise UploadSessionExpired(
                "upload session no longer exists; check for the video before starting over",
                platform=PLATFORM,
                upstream_status=resp.status_code,
            )
        if resp.status_code in _RETRY_STATUSES:
            return _Retry(
                f"HTTP {resp.status_code}", retry_after_seconds(resp.headers.get("Retry-After"))
            )
        raise _error_for(resp)


def _auth(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


def _check_chunk_size(chunk_size: int) -> None:
    if chunk_size <= 0 or chunk_size % CHUNK_GRANULARITY:
        raise InvalidUpload(
            f"chunk size {chunk_size} must be a positive multiple of {CHUNK_GRANULARITY} bytes",
            platform=PLATFORM,
        )


def _next_offset(range_header: str | None) -> int:
    """`Range: bytes=0-N` -> N + 1; no header means the server stored nothing yet."""
    if not range_header:
        return 0
    value = range_header.strip()
    if value.startswith("bytes="):
        value = value[len("bytes=") :]
    _, _, last = value.partition("-")
    try:
        return int(last) + 1
    except ValueError:
        return 0


def _num(value: object) -> bool:
    try:
        float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return True


def _error_for(resp: httpx.Response) -> IntegrationError:
    message, reason = f"HTTP {resp.status_code}", ""
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        message = str(err.get("message") or message)
        errors = err.get("errors") or []
        if errors and isinstance(errors[0], dict):
            reason = str(errors[0].get("reason") or "")
    common: dict[str, Any] = {"platform": PLATFORM, "upstream_status": resp.status_code}
    if resp.status_code == 401:
        return TokenExpired(message, **common)
    if reason in _QUOTA_REASONS or resp.status_code == 429:
        return UpstreamRateLimited(
            message,
            code=reason or "rate-limited",
            retry_after_s=retry_after_seconds(resp.headers.get("Retry-After")),
            **common,
        )
    if resp.status_code in (404, 410):
        return UpstreamRejected(message, code=reason or "not-found", **common)
    return UpstreamRejected(message, code=reason or f"http-{resp.status_code}", **common)
