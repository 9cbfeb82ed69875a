"""In-memory fake of Meta's Graph API: Facebook Login, Instagram Reels, Facebook Page Reels.

Speaks the documented protocol (see `cliply.integrations.meta`): the Login dialog redirecting
with a code, `/oauth/access_token` (code exchange and fb_exchange_token), `/me`,
`/me/permissions` (GET, DELETE), `/me/accounts` with Page tokens and linked Instagram
accounts; Instagram containers (`upload_type=resumable`), the rupload host with `offset` /
`file_size` headers, container `status_code`, `media_publish`, `content_publishing_limit`,
media insights; Page `video_reels` start/finish, video `status`, video insights. Errors are
`{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`; every Graph answer
carries `x-app-usage` (and Instagram/Page calls `x-business-use-case-usage`).

The rupload host keeps the bytes of a request cut off mid-body (as a resumable upload
server does) and answers each complete request `{"success": true}`. Only a Facebook video
reports what the host holds (`uploading_phase.bytes_transferred` in its status, as the Reels
guide documents); an Instagram container has no such field, so its client resumes from the
last offset the host acknowledged. A request may start at any offset up to what is held (a
re-sent range replaces what came before) and carry any part of the rest.

Knobs: `FakeMetaConfig` (processing polls, publishing quota, token lifetimes, usage
percentages), `advance(seconds)` (the fake's clock: tokens expire by it), `kill_tokens()`
(the user changed their password: every token dies, exchange included), `expire_container`.
Serve it with `tests.fakes.server.serve` and put faults (5xx, drops) on its FaultPlan.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
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

VERSION = "v21.0"
IG_SCOPES = ("instagram_basic", "instagram_content_publish", "instagram_manage_insights")
PAGE_SCOPES = ("pages_show_list", "pages_read_engagement", "pages_manage_posts", "read_insights")


def graph_error_body(
    code: int, message: str, *, subcode: int | None = None, kind: str = "OAuthException"
) -> dict[str, Any]:
    """An error body, e.g. for `FaultPlan.fail_next(..., body=graph_error_body(4, "..."))`."""
    err: dict[str, Any] = {
        "message": message,
        "type": kind,
        "code": code,
        "fbtrace_id": secrets.token_urlsafe(8),
    }
    if subcode is not None:
        err["error_subcode"] = subcode
    return {"error": err}


@dataclass
class FakeMetaConfig:
    app_id: str = "meta-app-id"
    app_secret: str = "meta-app-secret"
    user_id: str = "10001"
    page_id: str = "20002"
    page_name: str = "Cliply Page"
    ig_user_id: str = "17841400000000001"
    ig_username: str = "cliply_ig"
    short_ttl_s: int = 3600
    long_ttl_s: int = 60 * 86400
    processing_polls: int = 1  # status reads answering IN_PROGRESS / processing after upload
    quota_total: int = 50
    quota_usage: int = 0  # posts published through the API in the last 24 h
    app_usage_pct: int = 5  # what x-app-usage reports
    granted: tuple[str, ...] = IG_SCOPES + PAGE_SCOPES
    link_instagram: bool = True


@dataclass
class _Grant:
    scopes: tuple[str, ...]
    revoked: bool = False


@dataclass
class _Token:
    grant: _Grant
    expires_at: float
    kind: str  # "user" | "page"


@dataclass
class Upload:
    """An Instagram container or a Facebook reel video and the bytes received for it."""

    id: str
    kind: str  # "ig" | "fb"
    owner: str  # ig user id or page id
    caption: str
    created_at: float
    received: bytearray = field(default_factory=bytearray)
    file_size: int | None = None
    polls_after_upload: int = 0
    status: str = "IN_PROGRESS"  # ig: IN_PROGRESS/FINISHED/PUBLISHED/ERROR/EXPIRED
    finished: bool = False  # fb: finish called
    media_id: str | None = None

    @property
    def complete(self) -> bool:
        return self.file_size is not None and len(self.received) >= self.file_size


class FakeMeta:
    def __init__(self, config: FakeMetaConfig | None = None) -> None:
        self.config = config or FakeMetaConfig()
        self._lock = threading.Lock()
        self._offset = 0.0
        self._ids = itertools.count(1)
        self.codes: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, _Token] = {}
        self.uploads: dict[str, Upload] = {}
        self.media: list[dict[str, Any]] = []  # published Instagram media, oldest first
        self.reels: list[dict[str, Any]] = []  # published Page reels
        self.upload_posts = 0
        self.upload_offsets: list[int] = []  # the `offset` header of each upload request
        self.exchanges = 0
        self.authorize_requests: list[dict[str, str]] = []
        self.requests: list[tuple[str, str]] = []
        self.app = Starlette(
            routes=[
                Route("/{version}/dialog/oauth", self._dialog, methods=["GET"]),
                Route("/ig-api-upload/{version}/{id}", self._rupload, methods=["POST"]),
                Route("/video-upload/{version}/{id}", self._rupload, methods=["POST"]),
                Route("/{version}/{path:path}", self._graph, methods=["GET", "POST", "DELETE"]),
            ]
        )

    # --- test controls ------------------------------------------------------------------

    def now(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds

    def kill_tokens(self) -> None:
        """The user changed their password or removed the app: every token dies (190/460)."""
        with self._lock:
            for token in self.tokens.values():
                token.grant.revoked = True

    def expire_container(self, container_id: str) -> None:
        with self._lock:
            self.uploads[container_id].status = "EXPIRED"

    def user_tokens(self) -> list[str]:
        return [t for t, v in self.tokens.items() if v.kind == "user"]

    # --- helpers ------------------------------------------------------------------------

    def _usage_headers(self, buc_type: str | None) -> dict[str, str]:
        pct = self.config.app_usage_pct
        headers = {
            "x-app-usage": json.dumps({"call_count": pct, "total_cputime": 1, "total_time": 1})
        }
        if buc_type is not None:
            headers["x-business-use-case-usage"] = json.dumps(
                {
                    self.config.page_id: [
                        {
                            "type": buc_type,
                            "call_count": pct,
                            "total_cputime": 1,
                            "total_time": 1,
                            "estimated_time_to_regain_access": 0,
                        }
                    ]
                }
            )
        return headers

    def _ok(self, body: dict[str, Any], buc: str | None = None) -> JSONResponse:
        return JSONResponse(body, headers=self._usage_headers(buc))

    def _err(
        self, status: int, code: int, message: str, subcode: int | None = None, **kw: Any
    ) -> JSONResponse:
        return JSONResponse(
            graph_error_body(code, message, subcode=subcode, **kw),
            status_code=status,
            headers=self._usage_headers(None),
        )

    def _token_of(self, request: Request) -> str:
        header = request.headers.get("authorization", "")
        for prefix in ("OAuth ", "Bearer "):
            if header.startswith(prefix):
                return header[len(prefix) :]
        return request.query_params.get("access_token", "")

    def _auth(self, request: Request, kind: str | None = None) -> _Token | JSONResponse:
        with self._lock:
            entry = self.tokens.get(self._token_of(request))
            if entry is None:
                return self._err(400, 190, "Invalid OAuth access token - Cannot parse access token")
            if entry.grant.revoked:
                return self._err(
                    400,
                    190,
                    "Error validating access token: The session has been invalidated because "
                    "the user changed their password.",
                    460,
                )
            if entry.expires_at <= self.now():
                return self._err(
                    400, 190, "Error validating access token: Session has expired", 463
                )
            if kind is not None and entry.kind != kind:
                return self._err(400, 190, f"A {kind} access token is required.", 467)
            return entry

    def _issue(self, grant: _Grant, ttl: int, kind: str = "user") -> str:
        token = ("EAAP" if kind == "page" else "EAAU") + secrets.token_urlsafe(24)
        self.tokens[token] = _Token(grant, self.now() + ttl, kind)
        return token

    # --- Facebook Login -----------------------------------------------------------------

    async def _dialog(self, request: Request) -> Response:
        q = dict(request.query_params)
        self.authorize_requests.append(q)
        if q.get("client_id") != self.config.app_id or not q.get("redirect_uri"):
            return JSONResponse({"error": "invalid client_id or redirect_uri"}, status_code=400)
        if q.get("response_type") != "code" or not q.get("state"):
            return JSONResponse({"error": "response_type=code and state required"}, status_code=400)
        asked = tuple(s for s in q.get("scope", "").split(",") if s)
        granted = tuple(s for s in asked if s in self.config.granted)
        code = secrets.token_urlsafe(24)
        with self._lock:
            self.codes[code] = {"redirect_uri": q["redirect_uri"], "scopes": granted}
        target = q["redirect_uri"] + "?" + urlencode({"code": code, "state": q["state"]})
        return RedirectResponse(target, status_code=302)

    def _access_token(self, request: Request) -> Response:
        q = dict(request.query_params)
        if q.get("client_id") != self.config.app_id or q.get("client_secret") != (
            self.config.app_secret
        ):
            return self._err(400, 1, "Error validating client secret.")
        with self._lock:
            if q.get("grant_type") == "fb_exchange_token":
                self.exchanges += 1
                old = self.tokens.get(q.get("fb_exchange_token", ""))
                if old is None or old.grant.revoked or old.expires_at <= self.now():
                    return self._err(400, 190, "Error validating access token.", 463)
                token = self._issue(old.grant, self.config.long_ttl_s)
                return self._ok(
                    {
                        "access_token": token,
                        "token_type": "bearer",
                        "expires_in": self.config.long_ttl_s,
                    }
                )
            entry = self.codes.pop(q.get("code", ""), None)
            if entry is None:
                return self._err(400, 100, "This authorization code has been used.", 36009)
            if q.get("redirect_uri") != entry["redirect_uri"]:
                return self._err(400, 100, "redirect_uri is not identical.", 36008)
            token = self._issue(_Grant(entry["scopes"]), self.config.short_ttl_s)
            return self._ok(
                {
                    "access_token": token,
                    "token_type": "bearer",
                    "expires_in": self.config.short_ttl_s,
                }
            )

    def _page_json(self, grant: _Grant, fields: str) -> dict[str, Any]:
        page_token = self._issue(grant, 10 * 365 * 86400, "page")
        page: dict[str, Any] = {
            "id": self.config.page_id,
            "name": self.config.page_name,
            "access_token": page_token,
            "tasks": ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"],
            "picture": {"data": {"url": "https://example.invalid/page.jpg"}},
        }
        if self.config.link_instagram and "instagram_business_account" in fields:
            page["instagram_business_account"] = {
                "id": self.config.ig_user_id,
                "username": self.config.ig_username,
                "profile_picture_url": "https://example.invalid/ig.jpg",
            }
        return page

    # --- the Graph router ---------------------------------------------------------------

    async def _graph(self, request: Request) -> Response:
        path = request.path_params["path"].strip("/")
        method = request.method
        self.requests.append((method, path))
        if path == "oauth/access_token" and method == "GET":
            return self._access_token(request)
        auth = self._auth(request)
        if isinstance(auth, JSONResponse):
            return auth
        parts = path.split("/")
        fields = request.query_params.get("fields", "")
        cfg = self.config
        if path == "me" and method == "GET":
            return self._ok({"id": cfg.user_id, "name": "Cliply User"})
        if path == "me/permissions" and method == "GET":
            return self._ok(
                {"data": [{"permission": p, "status": "granted"} for p in auth.grant.scopes]}
            )
        if path == "me/permissions" and method == "DELETE":
            with self._lock:
                auth.grant.revoked = True
            return self._ok({"success": True})
        if path == "me/accounts" and method == "GET":
            if "pages_show_list" not in auth.grant.scopes:
                return self._ok({"data": []})
            with self._lock:
                page = self._page_json(auth.grant, fields)
            return self._ok({"data": [page], "paging": {"cursors": {"before": "a", "after": "b"}}})
        if parts[0] == cfg.page_id and len(parts) == 1 and method == "GET":
            with self._lock:
                return self._ok(self._page_json(auth.grant, fields))
        if parts[0] == cfg.ig_user_id:
            return await self._ig_user(request, auth, parts[1:] if len(parts) > 1 else [])
        if parts[0] == cfg.page_id and parts[1:] == ["video_reels"] and method == "POST":
            return await self._video_reels(request, auth)
        upload = self.uploads.get(parts[0])
        if upload is not None and len(parts) == 1 and method == "GET":
            return self._upload_node(upload, fields)
        media = self._media_by_id(parts[0])
        if media is not None and method == "GET":
            if parts[1:] == ["insights"]:
                return self._insights(media, request)
            if parts[1:] == ["video_insights"]:
                return self._video_insights(media)
            if len(parts) == 1:
                return self._ok(
                    {
                        k: media[k]
                        for k in ("id", "caption", "permalink", "timestamp", "permalink_url")
                        if k in media
                    },
                    "instagram",
                )
        return self._err(
            400,
            100,
            f"Unsupported {method} request. Object with ID '{parts[0]}' does not exist",
            33,
        )

    def _media_by_id(self, ident: str) -> dict[str, Any] | None:
        for item in [*self.media, *self.reels]:
            if item["id"] == ident:
                return item
        return None

    # --- Instagram ----------------------------------------------------------------------

    async def _ig_user(self, request: Request, auth: _Token, rest: list[str]) -> Response:
        cfg = self.config
        q = dict(request.query_params)
        if "instagram_content_publish" not in auth.grant.scopes and rest != ["media"]:
            return self._err(403, 10, "Application does not have permission for this action")
        if rest == ["media"] and request.method == "POST":
            if q.get("media_type") != "REELS" or q.get("upload_type") != "resumable":
                return self._err(400, 100, "media_type=REELS and upload_type=resumable expected")
            if len(q.get("caption", "")) > 2200:
                return self._err(400, 100, "The caption is too long.", 2207010)
            with self._lock:
                cid = f"1790{next(self._ids):010d}"
                self.uploads[cid] = Upload(
                    cid, "ig", cfg.ig_user_id, q.get("caption", ""), self.now()
                )
            uri = f"{request.base_url}ig-api-upload/{VERSION}/{cid}"
            return self._ok({"id": cid, "uri": uri}, "instagram")
        if rest == ["media"] and request.method == "GET":
            items = [
                {k: m[k] for k in ("id", "caption", "permalink", "timestamp")}
                for m in reversed(self.media)
            ]
            return self._ok({"data": items[: int(q.get("limit", 25))]}, "instagram")
        if rest == ["media_publish"] and request.method == "POST":
            with self._lock:
                upload = self.uploads.get(q.get("creation_id", ""))
                if upload is None:
                    return self._err(400, 100, "Invalid creation_id", 2207008)
                if upload.status == "PUBLISHED":
                    return self._err(400, 9007, "The media has already been published.", 2207008)
                if upload.status != "FINISHED":
                    return self._err(400, 9007, "Media ID is not available", 2207027)
                if cfg.quota_usage >= cfg.quota_total:
                    return self._err(
                        400, 9, "Application request limit reached", 2207042, kind="OAuthException"
                    )
                media_id = f"1791{next(self._ids):010d}"
                upload.status, upload.media_id = "PUBLISHED", media_id
                cfg.quota_usage += 1
                self.media.append(
                    {
                        "id": media_id,
                        "caption": upload.caption,
                        "permalink": f"https://www.instagram.com/reel/C{media_id}/",
                        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime()),
                        "container_id": upload.id,
                        "sha256": hashlib.sha256(bytes(upload.received)).hexdigest(),
                        "views": 120,
                        "likes": 7,
                        "comments": 2,
                        "shares": 1,
                    }
                )
            return self._ok({"id": media_id}, "instagram")
        if rest == ["content_publishing_limit"] and request.method == "GET":
            return self._ok(
                {
                    "data": [
                        {
                            "quota_usage": cfg.quota_usage,
                            "config": {"quota_total": cfg.quota_total, "quota_duration": 86400},
                        }
                    ]
                },
                "instagram",
            )
        return self._err(400, 100, "Unsupported request", 33)

    def _upload_node(self, upload: Upload, fields: str) -> Response:
        with self._lock:
            if upload.kind == "ig":
                if upload.status == "IN_PROGRESS" and upload.complete:
                    if upload.polls_after_upload >= self.config.processing_polls:
                        upload.status = "FINISHED"
                    upload.polls_after_upload += 1
                body: dict[str, Any] = {"id": upload.id, "status_code": upload.status}
                if upload.status == "ERROR":
                    body["status"] = "Error: Video format not supported (2207026)"
                return self._ok(body, "instagram")
            # Facebook video node
            if "permalink_url" in fields:
                return self._ok(
                    {
                        "id": upload.id,
                        "permalink_url": f"/reel/{upload.id}",
                        "post_id": f"{upload.owner}_{upload.id}",
                    },
                    "pages",
                )
            published = upload.finished and upload.polls_after_upload > self.config.processing_polls
            if upload.finished:
                upload.polls_after_upload += 1
            uploading = (
                "complete"
                if upload.complete
                else ("in_progress" if upload.received else "not_started")
            )
            status = {
                "video_status": "ready"
                if published
                else ("processing" if upload.complete else "upload_not_started"),
                "uploading_phase": {"status": uploading, "bytes_transferred": len(upload.received)},
                "processing_phase": {"status": "complete" if upload.finished else "not_started"},
                "publishing_phase": {
                    "status": "complete"
                    if published
                    else ("in_progress" if upload.finished else "not_started"),
                    "publish_status": "published" if published else "not_published",
                },
            }
            return self._ok({"id": upload.id, "status": status}, "pages")

    def _insights(self, media: dict[str, Any], request: Request) -> Response:
        names = request.query_params.get("metric", "").split(",")
        data = [
            {
                "name": n,
                "period": "lifetime",
                "values": [{"value": media.get(n, 0)}],
                "id": f"{media['id']}/insights/{n}/lifetime",
            }
            for n in names
            if n
        ]
        return self._ok({"data": data}, "instagram")

    def _video_insights(self, reel: dict[str, Any]) -> Response:
        data = [
            {"name": "blue_reels_play_count", "period": "lifetime", "values": [{"value": 340}]},
            {
                "name": "post_video_likes_by_reaction_type",
                "period": "lifetime",
                "values": [{"value": {"REACTION_LIKE": 9, "REACTION_LOVE": 3}}],
            },
            {
                "name": "post_video_social_actions",
                "period": "lifetime",
                "values": [{"value": {"COMMENT": 4, "SHARE": 2}}],
            },
        ]
        return self._ok({"data": data}, "pages")

    # --- Facebook Page Reels ------------------------------------------------------------

    async def _video_reels(self, request: Request, auth: _Token) -> Response:
        if auth.kind != "page":
            return self._err(400, 190, "A page access token is required.", 467)
        params: dict[str, Any] = dict(request.query_params)
        if request.headers.get("content-type", "").startswith("application/json"):
            with contextlib.suppress(ValueError):
                params.update(await request.json())
        phase = params.get("upload_phase")
        with self._lock:
            if phase == "start":
                vid = f"1200{next(self._ids):010d}"
                self.uploads[vid] = Upload(vid, "fb", self.config.page_id, "", self.now())
                url = f"{request.base_url}video-upload/{VERSION}/{vid}"
                return self._ok({"video_id": vid, "upload_url": url}, "pages")
            if phase == "finish":
                upload = self.uploads.get(str(params.get("video_id", "")))
                if upload is None or upload.kind != "fb":
                    return self._err(400, 100, "Invalid video_id", 33)
                if not upload.complete:
                    return self._err(400, 6000, "The video upload is not complete.", 1363130)
                if params.get("video_state") != "PUBLISHED":
                    return self._err(400, 100, "video_state must be PUBLISHED here")
                if upload.finished:
                    return self._err(400, 6000, "This video was already published.", 1363040)
                upload.finished = True
                upload.caption = str(params.get("description", ""))
                self.reels.append(
                    {
                        "id": upload.id,
                        "description": upload.caption,
                        "title": str(params.get("title", "")),
                        "sha256": hashlib.sha256(bytes(upload.received)).hexdigest(),
                        "permalink_url": f"/reel/{upload.id}",
                    }
                )
                return self._ok({"success": True}, "pages")
        return self._err(400, 100, "upload_phase must be start or finish")

    # --- the rupload host ---------------------------------------------------------------

    async def _rupload(self, request: Request) -> Response:
        ident = request.path_params["id"]
        auth = self._auth(request)
        if isinstance(auth, JSONResponse):
            return auth
        upload = self.uploads.get(ident)
        if upload is None:
            return JSONResponse(
                {
                    "debug_info": {
                        "retriable": False,
                        "type": "NotFoundError",
                        "message": "unknown upload",
                    }
                },
                status_code=404,
            )
        try:
            offset = int(request.headers.get("offset", ""))
            file_size = int(request.headers.get("file_size", ""))
        except ValueError:
            return JSONResponse(
                {
                    "debug_info": {
                        "retriable": False,
                        "type": "BadRequest",
                        "message": "offset and file_size headers required",
                    }
                },
                status_code=400,
            )
        with self._lock:
            self.upload_posts += 1
            self.upload_offsets.append(offset)
            if upload.file_size is None:
                upload.file_size = file_size
            if file_size != upload.file_size or offset > len(upload.received):
                return JSONResponse(
                    {
                        "debug_info": {
                            "retriable": False,
                            "type": "OffsetInvalidError",
                            "message": f"offset {offset} but {len(upload.received)} bytes held",
                        }
                    },
                    status_code=400,
                )
            del upload.received[offset:]  # a re-sent range replaces what came before
        try:
            async for chunk in request.stream():
                with self._lock:
                    upload.received.extend(chunk)
        except ClientDisconnect:
            return Response(status_code=400)  # nobody hears it; the bytes so far are kept
        with self._lock:
            if len(upload.received) > (upload.file_size or 0):
                del upload.received[upload.file_size or 0 :]
        return JSONResponse({"success": True, "message": "Upload successful."})
