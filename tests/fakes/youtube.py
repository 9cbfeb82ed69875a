"""In-memory fake of Google OAuth 2.0 and the YouTube Data API v3 upload/read endpoints.

Google OAuth: /o/oauth2/v2/auth (consent simulated: redirects with a code), /token
(authorization_code with PKCE S256, refresh_token, invalid_grant), /revoke.
YouTube: resumable upload sessions (Location URI, 308 + Range, `bytes */total` status
queries, 201 + video resource, 404 once a session expires), videos.list, channels.list
(mine=true) and playlistItems.list over the uploads playlist.
YouTube Analytics v2: GET /v2/reports (reports.query) with ids=channel==MINE, startDate,
endDate, metrics, dimensions=video and filters=video==id1,id2,...: a
`youtubeAnalytics#resultTable` (columnHeaders, rows; no `rows` when nothing has data), 403
insufficientPermissions without yt-analytics.readonly, 400 for a malformed query, and its own
daily quota (403 quotaExceeded past `analytics_quota_limit`).

Knobs: `FakeGoogleConfig.persist_limit` (store at most N bytes per PUT, rounded down to
256 KiB, as Google may), `advance(seconds)`, `expire_sessions()`, `declined_scopes` (what the
user unticks on the consent screen), `analytics` (report figures per video), and the server's
`FaultPlan`. A body cut off by a dropped connection stores nothing.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from cliply.integrations.oauth_common import code_challenge

GRANULARITY = 256 * 1024
_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")
_QUERY = re.compile(r"^bytes \*/(\d+)$")


@dataclass
class FakeGoogleConfig:
    client_id: str = "google-client-id.apps.googleusercontent.com"
    client_secret: str = "google-client-secret"
    access_ttl_s: int = 3599
    channel_id: str = "UCfakechannel000000000"
    persist_limit: int | None = None
    session_ttl_s: int = 7 * 86400


@dataclass
class _Grant:
    scopes: tuple[str, ...]
    revoked: bool = False


@dataclass
class _Session:
    upload_id: str
    resource: dict[str, Any]
    total: int
    content_type: str
    created_at: float
    data: bytearray = field(default_factory=bytearray)
    video_id: str | None = None
    expired: bool = False


class FakeYouTube:
    def __init__(self, config: FakeGoogleConfig | None = None) -> None:
        self.config = config or FakeGoogleConfig()
        self._lock = threading.Lock()
        self._offset = 0.0
        self._ids = itertools.count(1)
        self.codes: dict[str, dict[str, Any]] = {}
        self.access_tokens: dict[str, tuple[_Grant, float]] = {}
        self.refresh_tokens: dict[str, _Grant] = {}
        self.sessions: dict[str, _Session] = {}
        self.videos: list[dict[str, Any]] = []  # oldest first
        self.video_bytes: dict[str, str] = {}  # video id -> sha256 of the uploaded file
        self.stats: dict[str, dict[str, int]] = {}  # video id -> statistics to report
        self.privacy: dict[str, str] = {}  # video id -> privacyStatus to report (owner view)
        # Data API quota: units charged per call (videos.list costs 1), and the daily limit
        # after which calls fail 403 quotaExceeded (None: unlimited).
        self.quota_used = 0
        self.quota_limit: int | None = None
        self.stats_calls = 0
        # YouTube Analytics: figures per video id (default: derived from its statistics),
        # queries made, and the report's own daily quota (None: unlimited).
        self.analytics: dict[str, dict[str, float]] = {}
        self.analytics_calls = 0
        self.analytics_quota_used = 0
        self.analytics_quota_limit: int | None = None
        self.analytics_requests: list[dict[str, str]] = []
        # Scopes the user leaves unticked on Google's (granular) consent screen.
        self.declined_scopes: set[str] = set()
        self.authorize_requests: list[dict[str, str]] = []
        self.upload_puts = 0
        self.status_queries = 0
        self.app = Starlette(
            routes=[
                Route("/o/oauth2/v2/auth", self._authorize, methods=["GET"]),
                Route("/token", self._token, methods=["POST"]),
                Route("/revoke", self._revoke, methods=["POST"]),
                Route("/upload/youtube/v3/videos", self._start_session, methods=["POST"]),
                Route("/upload/youtube/v3/videos", self._put, methods=["PUT"]),
                Route("/youtube/v3/videos", self._videos_list, methods=["GET"]),
                Route("/youtube/v3/channels", self._channels_list, methods=["GET"]),
                Route("/youtube/v3/playlistItems", self._playlist_items, methods=["GET"]),
                Route("/v2/reports", self._reports_query, methods=["GET"]),
            ]
        )

    # --- test controls ------------------------------------------------------------------

    def now(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds

    def expire_sessions(self) -> None:
        with self._lock:
            for session in self.sessions.values():
                session.expired = True

    def issue_tokens(self, scopes: tuple[str, ...] = ()) -> dict[str, Any]:
        with self._lock:
            grant = _Grant(scopes or (*_YT_SCOPES, _ANALYTICS))
            return self._issue(grant, with_refresh=True)

    @property
    def uploads_playlist(self) -> str:
        return "UU" + self.config.channel_id[2:]

    # --- OAuth --------------------------------------------------------------------------

    async def _authorize(self, request: Request) -> Response:
        q = dict(request.query_params)
        self.authorize_requests.append(q)
        if q.get("client_id") != self.config.client_id:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if q.get("response_type") != "code" or not q.get("redirect_uri") or not q.get("scope"):
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        code = "4/" + secrets.token_urlsafe(24)
        with self._lock:
            self.codes[code] = {
                "redirect_uri": q["redirect_uri"],
                "challenge": q.get("code_challenge"),
                "method": q.get("code_challenge_method", "plain"),
                "scopes": tuple(s for s in q["scope"].split() if s not in self.declined_scopes),
                "offline": q.get("access_type") == "offline",
            }
        granted = " ".join(s for s in q["scope"].split() if s not in self.declined_scopes)
        params = {"state": q.get("state", ""), "code": code, "scope": granted}
        return RedirectResponse(q["redirect_uri"] + "?" + urlencode(params), status_code=302)

    async def _token(self, request: Request) -> Response:
        form = dict(await request.form())
        if (
            form.get("client_id") != self.config.client_id
            or form.get("client_secret") != self.config.client_secret
        ):
            return _oauth_error("invalid_client", "Unauthorized", 401)
        grant_type = form.get("grant_type")
        with self._lock:
            if grant_type == "authorization_code":
                entry = self.codes.pop(str(form.get("code", "")), None)
                if entry is None:
                    return _oauth_error("invalid_grant", "Bad Request")
                if form.get("redirect_uri") != entry["redirect_uri"]:
                    return _oauth_error("redirect_uri_mismatch", "Bad Request")
                if entry["challenge"]:
                    verifier = str(form.get("code_verifier", ""))
                    if not verifier or code_challenge(verifier) != entry["challenge"]:
                        return _oauth_error("invalid_grant", "Invalid code verifier.")
                return JSONResponse(
                    self._issue(_Grant(entry["scopes"]), with_refresh=entry["offline"])
                )
            if grant_type == "refresh_token":
                grant = self.refresh_tokens.get(str(form.get("refresh_token", "")))
                if grant is None or grant.revoked:
                    return _oauth_error("invalid_grant", "Token has been expired or revoked.")
                return JSONResponse(self._issue(grant, with_refresh=False))
        return _oauth_error("unsupported_grant_type", "Invalid grant_type")

    async def _revoke(self, request: Request) -> Response:
        form = dict(await request.form())
        token = str(form.get("token") or request.query_params.get("token", ""))
        with self._lock:
            grant = self.refresh_tokens.get(token)
            if grant is None and token in self.access_tokens:
                grant = self.access_tokens[token][0]
            if grant is None or grant.revoked:
                return _oauth_error("invalid_token", "Token expired or revoked")
            grant.revoked = True  # Google revokes the whole grant, access tokens included
        return JSONResponse({})

    def _issue(self, grant: _Grant, *, with_refresh: bool) -> dict[str, Any]:
        access = "ya29." + secrets.token_urlsafe(32)
        self.access_tokens[access] = (grant, self.now() + self.config.access_ttl_s)
        body: dict[str, Any] = {
            "access_token": access,
            "expires_in": self.config.access_ttl_s,
            "scope": " ".join(grant.scopes),
            "token_type": "Bearer",
        }
        if with_refresh:
            refresh = "1//" + secrets.token_urlsafe(32)
            self.refresh_tokens[refresh] = grant
            body["refresh_token"] = refresh
        return body

    # --- YouTube ------------------------------------------------------------------------

    def _auth(self, request: Request, scopes: tuple[str, ...]) -> _Grant | Response:
        header = request.headers.get("authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        with self._lock:
            entry = self.access_tokens.get(token)
            if entry is None or entry[0].revoked or entry[1] <= self.now():
                return _yt_error(
                    401,
                    "Request had invalid authentication credentials.",
                    "authError",
                    "UNAUTHENTICATED",
                )
            if not any(s in entry[0].scopes for s in scopes):
                return _yt_error(
                    403,
                    "Request had insufficient authentication scopes.",
                    "insufficientPermissions",
                    "PERMISSION_DENIED",
                )
            return entry[0]

    async def _start_session(self, request: Request) -> Response:
        if request.query_params.get("uploadType") != "resumable":
            return _yt_error(400, "uploadType must be resumable here.", "invalidParameter")
        grant = self._auth(request, (_UPLOAD,))
        if isinstance(grant, Response):
            return grant
        try:
            total = int(request.headers.get("x-upload-content-length", ""))
        except ValueError:
            return _yt_error(400, "X-Upload-Content-Length is required.", "badRequest")
        content_type = request.headers.get("x-upload-content-type", "")
        if not (content_type.startswith("video/") or content_type == "application/octet-stream"):
            return _yt_error(400, "Media type is not supported.", "mediaBodyRequired")
        try:
            resource = json.loads(await request.body())
        except ValueError:
            return _yt_error(400, "Body is not a video resource.", "parseError")
        snippet = resource.get("snippet") or {}
        status = resource.get("status") or {}
        if not str(snippet.get("title", "")).strip():
            return _yt_error(
                400, "The request metadata specifies an invalid title.", "invalidTitle"
            )
        if status.get("publishAt") and status.get("privacyStatus") != "private":
            return _yt_error(
                400, "publishAt can only be set for private videos.", "invalidPublishAt"
            )
        upload_id = secrets.token_urlsafe(24)
        with self._lock:
            self.sessions[upload_id] = _Session(
                upload_id, resource, total, content_type, created_at=self.now()
            )
        base = str(request.base_url).rstrip("/")
        location = f"{base}/upload/youtube/v3/videos?" + urlencode(
            {
                "uploadType": "resumable",
                "part": request.query_params.get("part", ""),
                "upload_id": upload_id,
            }
        )
        return Response(status_code=200, headers={"Location": location})

    async def _put(self, request: Request) -> Response:
        with self._lock:
            self.upload_puts += 1
            session = self.sessions.get(request.query_params.get("upload_id", ""))
            gone = (
                session is None
                or session.expired
                or self.now() - session.created_at > self.config.session_ttl_s
            )
        if gone:
            return _yt_error(404, "Not Found", "notFound")
        assert session is not None
        if request.headers.get("authorization"):
            grant = self._auth(request, (_UPLOAD,))
            if isinstance(grant, Response):
                return grant
        content_range = request.headers.get("content-range", "")
        body = bytearray()
        try:
            async for piece in request.stream():
                body += piece
        except ClientDisconnect:
            return Response(status_code=499)  # nothing stored from a cut-off body
        with self._lock:
            query = _QUERY.match(content_range)
            if query:
                self.status_queries += 1
                if int(query.group(1)) != session.total:
                    return _yt_error(400, "Content-Range total differs.", "badContent")
                return self._progress_response(session)
            match = _RANGE.match(content_range)
            if not match:
                return _yt_error(400, "Invalid Content-Range.", "badContent")
            first, last, total = (int(g) for g in match.groups())
            if total != session.total:
                return _yt_error(400, "Content-Range total differs from the session.", "badContent")
            if session.video_id is not None:
                return self._progress_response(session)
            if first != len(session.data):
                return _yt_error(
                    400,
                    f"Content-Range starts at {first}; the server holds {len(session.data)} bytes.",
                    "badContent",
                )
            if last - first + 1 != len(body):
                return _yt_error(400, "Content-Range does not match the body.", "badContent")
            if last + 1 < total and len(body) % GRANULARITY:
                return _yt_error(
                    400, "Chunks other than the last must be multiples of 256 KiB.", "badContent"
                )
            keep = len(body)
            if self.config.persist_limit is not None:
                # Google may store only part of a chunk; the 308's Range tells the client.
                limit = max(self.config.persist_limit // GRANULARITY * GRANULARITY, GRANULARITY)
                keep = min(keep, limit)
            session.data += body[:keep]
            if len(session.data) == session.total:
                self._create_video(session)
                return JSONResponse(self._video_resource(session.video_id or ""), status_code=201)
            return self._progress_response(session)

    def _progress_response(self, session: _Session) -> Response:
        if session.video_id is not None:
            return JSONResponse(self._video_resource(session.video_id), status_code=200)
        headers = {"Content-Length": "0"}
        if session.data:
            headers["Range"] = f"bytes=0-{len(session.data) - 1}"
        return Response(status_code=308, headers=headers)

    def _create_video(self, session: _Session) -> None:
        video_id = f"vid{next(self._ids):08d}"[:11]
        session.video_id = video_id
        snippet = dict(session.resource.get("snippet") or {})
        snippet.update(channelId=self.config.channel_id, publishedAt=_iso(self.now()))
        status = dict(session.resource.get("status") or {})
        status.setdefault("privacyStatus", "public")
        status.update(uploadStatus="uploaded", license="youtube", embeddable=True)
        self.videos.append(
            {"kind": "youtube#video", "id": video_id, "snippet": snippet, "status": status}
        )
        self.video_bytes[video_id] = hashlib.sha256(session.data).hexdigest()

    def _video_resource(self, video_id: str) -> dict[str, Any]:
        return next(v for v in self.videos if v["id"] == video_id)

    async def _videos_list(self, request: Request) -> Response:
        grant = self._auth(request, _YT_SCOPES)
        if isinstance(grant, Response):
            return grant
        wanted = [i for i in request.query_params.get("id", "").split(",") if i]
        if len(wanted) > 50:
            return _yt_error(400, "Too many ids (at most 50).", "invalidParameter")
        parts = set(request.query_params.get("part", "snippet").split(","))
        with self._lock:
            if self.quota_limit is not None and self.quota_used + 1 > self.quota_limit:
                return _yt_error(
                    403,
                    "The request cannot be completed because you have exceeded your quota.",
                    "quotaExceeded",
                    "PERMISSION_DENIED",
                )
            self.quota_used += 1
            if "statistics" in parts:
                self.stats_calls += 1
            items = [dict(v) for v in self.videos if v["id"] in wanted]
        for item in items:
            if "statistics" in parts:  # counts come as strings
                stats = self.stats.get(item["id"], {"viewCount": 800, "likeCount": 40})
                item["statistics"] = {k: str(v) for k, v in {"commentCount": 3, **stats}.items()}
            if item["id"] in self.privacy:
                item["status"] = {
                    **item.get("status", {}),
                    "privacyStatus": self.privacy[item["id"]],
                }
        return JSONResponse(
            {
                "kind": "youtube#videoListResponse",
                "items": items,
                "pageInfo": {"totalResults": len(items)},
            }
        )

    async def _channels_list(self, request: Request) -> Response:
        grant = self._auth(request, _YT_SCOPES)
        if isinstance(grant, Response):
            return grant
        if request.query_params.get("mine") != "true":
            return _yt_error(400, "Only mine=true is supported by this fake.", "invalidParameter")
        return JSONResponse(
            {
                "kind": "youtube#channelListResponse",
                "items": [
                    {
                        "id": self.config.channel_id,
                        "contentDetails": {
                            "relatedPlaylists": {"uploads": self.uploads_playlist, "likes": ""}
                        },
                    }
                ],
            }
        )

    async def _playlist_items(self, request: Request) -> Response:
        grant = self._auth(request, _YT_SCOPES)
        if isinstance(grant, Response):
            return grant
        if request.query_params.get("playlistId") != self.uploads_playlist:
            return _yt_error(404, "Playlist not found.", "playlistNotFound")
        size = min(int(request.query_params.get("maxResults", "5")), 50)
        start = int(request.query_params.get("pageToken") or 0)
        with self._lock:
            newest_first = list(reversed(self.videos))
        page = newest_first[start : start + size]
        body: dict[str, Any] = {
            "kind": "youtube#playlistItemListResponse",
            "items": [{"contentDetails": {"videoId": v["id"]}} for v in page],
            "pageInfo": {"totalResults": len(newest_first), "resultsPerPage": size},
        }
        if start + size < len(newest_first):
            body["nextPageToken"] = str(start + size)
        return JSONResponse(body)

    # --- YouTube Analytics --------------------------------------------------------------

    async def _reports_query(self, request: Request) -> Response:
        """reports.query: one row per video of the filter that has data, totals over the
        dates; metrics in the order asked, after the `video` dimension."""
        grant = self._auth(request, (_ANALYTICS, _ANALYTICS_MONETARY))
        if isinstance(grant, Response):
            return grant
        q = dict(request.query_params)
        self.analytics_requests.append(q)
        for name in ("ids", "startDate", "endDate", "metrics"):
            if not q.get(name):
                return _yt_error(400, f"Required parameter: {name}", "required")
        if q["ids"] not in ("channel==MINE", f"channel=={self.config.channel_id}"):
            return _yt_error(403, "Forbidden", "forbidden", "PERMISSION_DENIED")
        dates = [_DATE.match(q["startDate"]), _DATE.match(q["endDate"])]
        if not all(dates) or q["startDate"] > q["endDate"]:
            return _yt_error(400, "Invalid value for startDate/endDate.", "invalid")
        metrics = q["metrics"].split(",")
        unknown = [m for m in metrics if m not in _ANALYTICS_METRICS]
        if unknown:
            return _yt_error(
                400, f"Unknown identifier ({unknown[0]}) given in field metrics.", "badRequest"
            )
        if q.get("dimensions") != "video":
            return _yt_error(400, "This fake answers dimensions=video only.", "badRequest")
        filt = q.get("filters", "")
        if not filt.startswith("video=="):
            return _yt_error(400, "The query is not supported.", "badRequest")
        wanted = [i for i in filt[len("video==") :].split(",") if i]
        max_results = int(q.get("maxResults") or 200)
        if not wanted or len(wanted) > 500 or max_results > 200:
            return _yt_error(400, "The query is not supported.", "badRequest")
        with self._lock:
            if (
                self.analytics_quota_limit is not None
                and self.analytics_quota_used + 1 > self.analytics_quota_limit
            ):
                return _yt_error(
                    403,
                    "The request cannot be completed because you have exceeded your quota.",
                    "quotaExceeded",
                    "PERMISSION_DENIED",
                )
            self.analytics_quota_used += 1
            self.analytics_calls += 1
            mine = {v["id"] for v in self.videos}
            rows = []
            for vid in wanted:
                if vid not in mine:
                    continue  # not the channel's (or deleted): no data
                figures = self.analytics.get(vid) or self._default_analytics(vid)
                rows.append([vid, *(figures.get(m, 0) for m in metrics)])
        rows.sort(key=lambda r: -float(r[1 + metrics.index("views")]) if "views" in metrics else 0)
        body: dict[str, Any] = {
            "kind": "youtubeAnalytics#resultTable",
            "columnHeaders": [
                {"name": "video", "columnType": "DIMENSION", "dataType": "STRING"},
                *(
                    {"name": m, "columnType": "METRIC", "dataType": _ANALYTICS_METRICS[m]}
                    for m in metrics
                ),
            ],
        }
        if rows:
            body["rows"] = rows[:max_results]
        return JSONResponse(body)

    def _default_analytics(self, vid: str) -> dict[str, float]:
        views = int(self.stats.get(vid, {}).get("viewCount", 800))
        return {
            "views": views,
            "estimatedMinutesWatched": round(views * 0.25, 1),
            "averageViewDuration": 15,
            "averageViewPercentage": 62.5,
            "subscribersGained": views // 400,
        }


_UPLOAD = "https://www.googleapis.com/auth/youtube.upload"
_READONLY = "https://www.googleapis.com/auth/youtube.readonly"
_YT_SCOPES = (_UPLOAD, _READONLY)
_ANALYTICS = "https://www.googleapis.com/auth/yt-analytics.readonly"
_ANALYTICS_MONETARY = "https://www.googleapis.com/auth/yt-analytics-monetary.readonly"
_ANALYTICS_METRICS = {
    "views": "INTEGER",
    "estimatedMinutesWatched": "INTEGER",
    "averageViewDuration": "INTEGER",
    "averageViewPercentage": "FLOAT",
    "subscribersGained": "INTEGER",
    "likes": "INTEGER",
    "comments": "INTEGER",
    "shares": "INTEGER",
}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def _yt_error(status: int, message: str, reason: str, grpc_status: str = "") -> JSONResponse:
    return JSONResponse(
        {
            "error": {
                "code": status,
                "message": message,
                "errors": [{"message": message, "domain": "global", "reason": reason}],
                "status": grpc_status or "INVALID_ARGUMENT",
            }
        },
        status_code=status,
    )
