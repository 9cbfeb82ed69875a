"""In-memory fake of TikTok Login Kit v2 and the Content Posting API (direct post + inbox).

Speaks the documented protocol: form-encoded OAuth with PKCE, `{"data", "error"}` API bodies,
chunk rules checked exactly at init, sequential chunk PUTs with Content-Range, 206 / 201,
status/fetch progressing to PUBLISH_COMPLETE. Serve it with `tests.fakes.server.serve`.

Knobs for tests: `FakeTikTokConfig` (min chunk size, token TTL, processing polls, ...),
`advance(seconds)` (the fake's clock, for token expiry without waiting), `fail_publish_with`,
and the server's `FaultPlan` for 5xx / rate limits / dropped connections.
A re-sent copy of the chunk just committed is accepted again (same answer, stored once), so
a client that never heard the reply can safely repeat it; TikTok does not document this case.
"""

from __future__ import annotations

import hashlib
import itertools
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

from cliply.integrations.oauth_common import ChallengeEncoding, code_challenge

MIB = 1024 * 1024
_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")


def tiktok_error_body(code: str, message: str = "") -> dict[str, Any]:
    """An API error body, e.g. for `FaultPlan.fail_next(..., body=tiktok_error_body(...))`."""
    return {
        "data": {},
        "error": {"code": code, "message": message or code, "log_id": secrets.token_hex(8)},
    }


@dataclass
class FakeTikTokConfig:
    client_key: str = "tt-client-key"
    client_secret: str = "tt-client-secret"
    access_ttl_s: int = 86400
    refresh_ttl_s: int = 365 * 86400
    pkce_encoding: ChallengeEncoding = "hex"
    rotate_refresh_tokens: bool = True
    min_chunk: int = 5 * MIB
    max_chunk: int = 64 * MIB
    max_final_chunk: int = 128 * MIB
    max_chunks: int = 1000
    upload_url_ttl_s: int = 3600
    processing_polls: int = 1  # status fetches answering PROCESSING_UPLOAD after the upload
    privacy_level_options: tuple[str, ...] = (
        "PUBLIC_TO_EVERYONE",
        "MUTUAL_FOLLOW_FRIENDS",
        "SELF_ONLY",
    )
    open_id: str = "open-id-123"
    username: str = "cliply_creator"


@dataclass
class _Grant:
    open_id: str
    scopes: tuple[str, ...]
    revoked: bool = False


@dataclass
class _Token:
    grant: _Grant
    expires_at: float


@dataclass
class Publish:
    publish_id: str
    open_id: str
    mode: str  # "direct" | "inbox"
    post_info: dict[str, Any]
    video_size: int
    chunk_size: int
    total_chunk_count: int
    upload_id: str
    upload_token: str
    created_at: float
    received: bytearray = field(default_factory=bytearray)
    chunks_done: int = 0
    last_chunk_sha: str | None = None
    complete: bool = False
    polls_after_complete: int = 0
    fail_reason: str | None = None
    post_id: str | None = None

    def chunk_bounds(self, index: int) -> tuple[int, int]:
        first = index * self.chunk_size
        if index == self.total_chunk_count - 1:
            return first, self.video_size - 1
        return first, first + self.chunk_size - 1


class FakeTikTok:
    def __init__(self, config: FakeTikTokConfig | None = None) -> None:
        self.config = config or FakeTikTokConfig()
        self._lock = threading.Lock()
        self._offset = 0.0
        self._ids = itertools.count(1)
        self.codes: dict[str, dict[str, Any]] = {}
        self.access_tokens: dict[str, _Token] = {}
        self.refresh_tokens: dict[str, _Token] = {}
        self.publishes: dict[str, Publish] = {}
        self.published_posts: list[dict[str, Any]] = []
        self.video_query_calls = 0
        self.upload_puts = 0
        self.authorize_requests: list[dict[str, str]] = []
        self._fail_next_publish: str | None = None
        self.app = Starlette(
            routes=[
                Route("/v2/auth/authorize/", self._authorize, methods=["GET"]),
                Route("/v2/oauth/token/", self._token, methods=["POST"]),
                Route("/v2/oauth/revoke/", self._revoke, methods=["POST"]),
                Route("/v2/user/info/", self._user_info, methods=["GET"]),
                Route("/v2/post/publish/creator_info/query/", self._creator_info, methods=["POST"]),
                Route("/v2/post/publish/video/init/", self._init_direct, methods=["POST"]),
                Route("/v2/post/publish/inbox/video/init/", self._init_inbox, methods=["POST"]),
                Route("/video/", self._upload, methods=["PUT"]),
                Route("/v2/post/publish/status/fetch/", self._status, methods=["POST"]),
                Route("/v2/video/query/", self._video_query, methods=["POST"]),
            ]
        )

    # --- test controls ------------------------------------------------------------------

    def now(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the fake's clock forward (tokens and upload URLs expire by it)."""
        with self._lock:
            self._offset += seconds

    def fail_publish_with(self, reason: str) -> None:
        """The next completed upload ends as FAILED with this fail_reason."""
        with self._lock:
            self._fail_next_publish = reason

    def issue_tokens(self, scopes: tuple[str, ...] | None = None) -> dict[str, Any]:
        """Tokens without the browser step, for tests that start after connecting."""
        with self._lock:
            grant = _Grant(self.config.open_id, scopes or _ALL_SCOPES)
            return self._issue(grant)

    # --- OAuth --------------------------------------------------------------------------

    async def _authorize(self, request: Request) -> Response:
        q = dict(request.query_params)
        self.authorize_requests.append(q)
        required = ("client_key", "scope", "response_type", "redirect_uri", "state")
        if any(not q.get(k) for k in required) or q.get("response_type") != "code":
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        if q["client_key"] != self.config.client_key:
            return JSONResponse({"error": "invalid_client"}, status_code=400)
        if not q.get("code_challenge") or q.get("code_challenge_method") != "S256":
            return JSONResponse({"error": "invalid_request", "detail": "PKCE"}, status_code=400)
        code = secrets.token_urlsafe(24)
        scopes = tuple(s for s in q["scope"].split(",") if s)
        with self._lock:
            self.codes[code] = {
                "redirect_uri": q["redirect_uri"],
                "challenge": q["code_challenge"],
                "scopes": scopes,
            }
        target = (
            q["redirect_uri"]
            + "?"
            + urlencode({"code": code, "scopes": ",".join(scopes), "state": q["state"]})
        )
        return RedirectResponse(target, status_code=302)

    async def _token(self, request: Request) -> Response:
        form = dict(await request.form())
        if (
            form.get("client_key") != self.config.client_key
            or form.get("client_secret") != self.config.client_secret
        ):
            return _oauth_error("invalid_client", "Client key or secret is invalid.", 401)
        grant_type = form.get("grant_type")
        with self._lock:
            if grant_type == "authorization_code":
                entry = self.codes.pop(str(form.get("code", "")), None)
                if entry is None:
                    return _oauth_error("invalid_grant", "Authorization code is expired.")
                if form.get("redirect_uri") != entry["redirect_uri"]:
                    return _oauth_error("invalid_request", "redirect_uri does not match.")
                verifier = str(form.get("code_verifier", ""))
                expected = code_challenge(verifier, self.config.pkce_encoding)
                if not verifier or expected != entry["challenge"]:
                    return _oauth_error(
                        "invalid_request", "Code verifier or code challenge is invalid."
                    )
                return JSONResponse(self._issue(_Grant(self.config.open_id, entry["scopes"])))
            if grant_type == "refresh_token":
                old = str(form.get("refresh_token", ""))
                token = self.refresh_tokens.get(old)
                if token is None or token.grant.revoked or token.expires_at <= self.now():
                    return _oauth_error("invalid_grant", "Refresh token is invalid or expired.")
                if self.config.rotate_refresh_tokens:
                    del self.refresh_tokens[old]
                    return JSONResponse(self._issue(token.grant))
                return JSONResponse(self._issue(token.grant, refresh_token=old))
        return _oauth_error("unsupported_grant_type", "grant_type is not supported.")

    async def _revoke(self, request: Request) -> Response:
        form = dict(await request.form())
        if (
            form.get("client_key") != self.config.client_key
            or form.get("client_secret") != self.config.client_secret
        ):
            return _oauth_error("invalid_client", "Client key or secret is invalid.", 401)
        with self._lock:
            token = self.access_tokens.get(str(form.get("token", "")))
            if token is not None:
                token.grant.revoked = True
        return JSONResponse({})

    def _issue(self, grant: _Grant, refresh_token: str | None = None) -> dict[str, Any]:
        now = self.now()
        access = "act." + secrets.token_urlsafe(24)
        self.access_tokens[access] = _Token(grant, now + self.config.access_ttl_s)
        if refresh_token is None:
            refresh_token = "rft." + secrets.token_urlsafe(24)
            self.refresh_tokens[refresh_token] = _Token(grant, now + self.config.refresh_ttl_s)
        return {
            "access_token": access,
            "expires_in": self.config.access_ttl_s,
            "open_id": grant.open_id,
            "refresh_expires_in": self.config.refresh_ttl_s,
            "refresh_token": refresh_token,
            "scope": ",".join(grant.scopes),
            "token_type": "Bearer",
        }

    # --- API ----------------------------------------------------------------------------

    def _auth(self, request: Request, scope: str) -> _Grant | Response:
        header = request.headers.get("authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        with self._lock:
            entry = self.access_tokens.get(token)
            if entry is None or entry.grant.revoked or entry.expires_at <= self.now():
                return _api_error(
                    "access_token_invalid",
                    "The access token is invalid or not found in the request.",
                    401,
                )
            if scope not in entry.grant.scopes:
                return _api_error(
                    "scope_not_authorized", f"The user did not authorize the scope {scope}.", 401
                )
            return entry.grant

    async def _user_info(self, request: Request) -> Response:
        grant = self._auth(request, "user.info.basic")
        if isinstance(grant, Response):
            return grant
        fields = request.query_params.get("fields", "").split(",")
        user = {
            "open_id": grant.open_id,
            "union_id": "union-" + grant.open_id,
            "avatar_url": "https://example.invalid/avatar.jpg",
            "display_name": "Cliply Creator",
        }
        return _api_ok({"user": {k: v for k, v in user.items() if k in fields}})

    async def _creator_info(self, request: Request) -> Response:
        grant = self._auth(request, "video.publish")
        if isinstance(grant, Response):
            return grant
        return _api_ok(
            {
                "creator_avatar_url": "https://example.invalid/avatar.jpg",
                "creator_username": self.config.username,
                "creator_nickname": "Cliply Creator",
                "privacy_level_options": list(self.config.privacy_level_options),
                "comment_disabled": False,
                "duet_disabled": False,
                "stitch_disabled": True,
                "max_video_post_duration_sec": 600,
            }
        )

    async def _init_direct(self, request: Request) -> Response:
        return await self._init(request, "direct")

    async def _init_inbox(self, request: Request) -> Response:
        return await self._init(request, "inbox")

    async def _init(self, request: Request, mode: str) -> Response:
        grant = self._auth(request, "video.publish" if mode == "direct" else "video.upload")
        if isinstance(grant, Response):
            return grant
        try:
            body = await request.json()
        except ValueError:
            return _api_error("invalid_params", "Body is not JSON.", 400)
        post_info = body.get("post_info") or {}
        if mode == "direct":
            if not isinstance(post_info, dict) or "privacy_level" not in post_info:
                return _api_error("invalid_params", "post_info.privacy_level is required.", 400)
            if post_info["privacy_level"] not in self.config.privacy_level_options:
                return _api_error(
                    "privacy_level_option_mismatch",
                    "privacy_level is not among the creator's options.",
                    400,
                )
            if len(str(post_info.get("title", ""))) > 2200:
                return _api_error("invalid_params", "title is too long.", 400)
        source = body.get("source_info") or {}
        if source.get("source") != "FILE_UPLOAD":
            return _api_error("invalid_params", "only FILE_UPLOAD is supported here.", 400)
        problem = self._check_chunks(source)
        if problem:
            return _api_error("invalid_params", problem, 400)
        with self._lock:
            publish_id = f"v_pub_file~v2-1.{next(self._ids)}"
            upload_id = secrets.token_hex(8)
            publish = Publish(
                publish_id=publish_id,
                open_id=grant.open_id,
                mode=mode,
                post_info=dict(post_info),
                video_size=int(source["video_size"]),
                chunk_size=int(source["chunk_size"]),
                total_chunk_count=int(source["total_chunk_count"]),
                upload_id=upload_id,
                upload_token=secrets.token_urlsafe(16),
                created_at=self.now(),
            )
            self.publishes[publish_id] = publish
        base = str(request.base_url).rstrip("/")
        query = urlencode({"upload_id": upload_id, "upload_token": publish.upload_token})
        return _api_ok({"publish_id": publish_id, "upload_url": f"{base}/video/?{query}"})

    def _check_chunks(self, source: dict[str, Any]) -> str | None:
        """The Media Transfer Guide's chunk restrictions, with this fake's limits."""
        cfg = self.config
        try:
            size = int(source["video_size"])
            chunk = int(source["chunk_size"])
            count = int(source["total_chunk_count"])
        except (KeyError, TypeError, ValueError):
            return "video_size, chunk_size and total_chunk_count are required integers."
        if size <= 0 or chunk <= 0:
            return "video_size and chunk_size must be positive."
        if size < cfg.min_chunk:
            if chunk != size or count != 1:
                return "videos under the minimum chunk size must be uploaded whole."
            return None
        if chunk > size:
            return "chunk_size exceeds video_size."
        if chunk < cfg.min_chunk and chunk != size:
            return f"chunk_size must be at least {cfg.min_chunk} bytes."
        if chunk > cfg.max_chunk:
            return f"chunk_size must be at most {cfg.max_chunk} bytes."
        if count != size // chunk:
            return "total_chunk_count must equal floor(video_size / chunk_size)."
        if not 1 <= count <= cfg.max_chunks:
            return f"total_chunk_count must be between 1 and {cfg.max_chunks}."
        if size - (count - 1) * chunk > cfg.max_final_chunk:
            return f"final chunk must be at most {cfg.max_final_chunk} bytes."
        return None

    async def _upload(self, request: Request) -> Response:
        upload_id = request.query_params.get("upload_id", "")
        with self._lock:
            self.upload_puts += 1
            publish = next((p for p in self.publishes.values() if p.upload_id == upload_id), None)
            expired = (
                publish is not None
                and self.now() - publish.created_at > self.config.upload_url_ttl_s
            )
        if (
            publish is None
            or publish.upload_token != request.query_params.get("upload_token")
            or expired
        ):
            return _plain_error(404, "upload URL is unknown or expired")
        if not request.headers.get("content-type", "").startswith("video/"):
            return _plain_error(400, "Content-Type must be a video MIME type")
        match = _RANGE.match(request.headers.get("content-range", ""))
        if not match:
            return _plain_error(400, "Content-Range must be 'bytes first-last/total'")
        first, last, total = (int(g) for g in match.groups())
        try:
            declared = int(request.headers.get("content-length", "-1"))
        except ValueError:
            declared = -1
        body = bytearray()
        try:
            async for piece in request.stream():
                body += piece
        except ClientDisconnect:
            return Response(status_code=499)  # dropped mid-body: nothing is stored
        with self._lock:
            if total != publish.video_size:
                return _plain_error(400, "total in Content-Range differs from video_size")
            if declared != len(body) or last - first + 1 != len(body):
                return _plain_error(400, "Content-Length / Content-Range / body length differ")
            digest = hashlib.sha256(body).hexdigest()
            if publish.chunks_done > 0:
                prev_first, prev_last = publish.chunk_bounds(publish.chunks_done - 1)
                if (first, last) == (prev_first, prev_last) and digest == publish.last_chunk_sha:
                    # The client re-sent the chunk it never heard back about.
                    return Response(status_code=201 if publish.complete else 206)
            if publish.complete:
                return _plain_error(400, "upload is already complete")
            exp_first, exp_last = publish.chunk_bounds(publish.chunks_done)
            if (first, last) != (exp_first, exp_last):
                return _plain_error(
                    416,
                    f"expected chunk {publish.chunks_done} as bytes {exp_first}-{exp_last}, "
                    f"got {first}-{last}",
                )
            publish.received += body
            publish.chunks_done += 1
            publish.last_chunk_sha = digest
            if publish.chunks_done < publish.total_chunk_count:
                return Response(status_code=206)
            publish.complete = True
            self._finish(publish)
            return Response(status_code=201)

    def _finish(self, publish: Publish) -> None:
        if self._fail_next_publish is not None:
            publish.fail_reason, self._fail_next_publish = self._fail_next_publish, None
            return
        if publish.mode == "direct":
            publish.post_id = str(7_000_000_000_000_000_000 + next(self._ids))
            self.published_posts.append(
                {
                    "publish_id": publish.publish_id,
                    "post_id": publish.post_id,
                    "open_id": publish.open_id,
                    "title": publish.post_info.get("title"),
                    "privacy_level": publish.post_info.get("privacy_level"),
                    "size": len(publish.received),
                    "sha256": hashlib.sha256(publish.received).hexdigest(),
                    # Display API counters (the tests may change them).
                    "view_count": 1500,
                    "like_count": 90,
                    "comment_count": 12,
                    "share_count": 5,
                    "duration": 2,
                }
            )

    async def _status(self, request: Request) -> Response:
        grant = self._auth(request, "video.upload")
        if isinstance(grant, Response):
            grant = self._auth(request, "video.publish")
            if isinstance(grant, Response):
                return grant
        try:
            body = await request.json()
        except ValueError:
            return _api_error("invalid_params", "Body is not JSON.", 400)
        with self._lock:
            publish = self.publishes.get(str(body.get("publish_id", "")))
            if publish is None or publish.open_id != grant.open_id:
                return _api_error("invalid_publish_id", "publish_id does not exist.", 400)
            data: dict[str, Any] = {"uploaded_bytes": len(publish.received)}
            if not publish.complete:
                data["status"] = "PROCESSING_UPLOAD"
            elif publish.polls_after_complete < self.config.processing_polls:
                publish.polls_after_complete += 1
                data["status"] = "PROCESSING_UPLOAD"
            elif publish.fail_reason:
                data.update(status="FAILED", fail_reason=publish.fail_reason)
            elif publish.mode == "inbox":
                data["status"] = "SEND_TO_USER_INBOX"
            else:
                data["status"] = "PUBLISH_COMPLETE"
                data["publicaly_available_post_id"] = [int(publish.post_id or 0)]
        return _api_ok(data)

    async def _video_query(self, request: Request) -> Response:
        """Display API: counters of the user's own videos; others are left out."""
        grant = self._auth(request, "video.list")
        if isinstance(grant, Response):
            return grant
        fields = [f for f in request.query_params.get("fields", "").split(",") if f]
        if not fields:
            return _api_error("invalid_params", "fields is required.", 400)
        try:
            body = await request.json()
        except ValueError:
            return _api_error("invalid_params", "Body is not JSON.", 400)
        ids = (body.get("filters") or {}).get("video_ids") or []
        self.video_query_calls += 1
        if not isinstance(ids, list) or not 0 < len(ids) <= 20:
            return _api_error("invalid_params", "video_ids takes 1 to 20 ids.", 400)
        with self._lock:
            videos = [
                {"id": p["post_id"], **{k: p[k] for k in fields if k in p and k != "id"}}
                for p in self.published_posts
                if p["post_id"] in ids and p["open_id"] == grant.open_id
            ]
        return _api_ok({"videos": videos, "cursor": 0, "has_more": False})


_ALL_SCOPES = ("user.info.basic", "video.publish", "video.upload", "video.list")


def _api_ok(data: dict[str, Any]) -> JSONResponse:
    return JSONResponse(
        {"data": data, "error": {"code": "ok", "message": "", "log_id": secrets.token_hex(8)}}
    )


def _api_error(code: str, message: str, status: int) -> JSONResponse:
    return JSONResponse(tiktok_error_body(code, message), status_code=status)


def _oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description, "log_id": secrets.token_hex(8)},
        status_code=status,
    )


def _plain_error(status: int, message: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": "invalid_upload", "message": message}}, status_code=status
    )
