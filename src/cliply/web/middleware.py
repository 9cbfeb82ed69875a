"""Browser security in one place (pure ASGI): session lookup, CSRF, the API bridge, headers.

- Every request with a `cliply_session` cookie gets its session resolved once
  (`scope["state"]["browser_session"]`, a BrowserSession or None).
- Every state-changing request (POST/PUT/PATCH/DELETE) that a browser could send with
  ambient credentials must carry the CSRF token: the `X-CSRF-Token` header (htmx, fetch,
  tus) or a `csrf_token` field in an urlencoded form. Requests with an `Authorization`
  header (API clients: bearer tokens, API keys) are not browser-ambient and pass unchanged.
- A JSON API request authenticated by the session cookie gets a short-lived bearer token
  injected, so the API's own auth (and X-Workspace-ID, defaulted from the session's
  workspace) serves the browser's JS modules with no second code path.
- Every HTML response gets a Content-Security-Policy without inline scripts.
"""

from __future__ import annotations

import json
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cliply.api.problems import MEDIA_TYPE
from cliply.auth import security
from cliply.config import get_settings
from cliply.db.engine import owner_session
from cliply.errors import PROBLEM_BASE
from cliply.keys import app_secret
from cliply.web import session as web_session

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
FORM_LIMIT = 256 * 1024
# Paths whose callers authenticate in their own way and never carry browser cookies.
CSRF_EXEMPT = ("/api/v1/webhooks/",)
NO_CSP = ("/api/docs", "/api/openapi.json")


def content_security_policy() -> str:
    media = "'self' blob:"
    if get_settings().storage_url:  # presigned object-store URLs (S3, R2, MinIO)
        media += " https:"
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            # Styles may be inline: libraries (calendar, waveform) inject <style>; scripts may not.
            "style-src 'self' 'unsafe-inline'",
            f"img-src {media} data:",
            f"media-src {media}",
            "connect-src 'self'",
            # data: fonts: FullCalendar ships its icon font inline (fonts cannot run code).
            "font-src 'self' data:",
            "object-src 'none'",
            "base-uri 'self'",
            "frame-ancestors 'none'",
        ]
    )


def cookies_of(scope: Scope) -> dict[str, str]:
    raw = b"; ".join(v for k, v in scope["headers"] if k == b"cookie").decode("latin-1")
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:  # a malformed cookie header is treated as none
        return {}
    return {k: m.value for k, m in jar.items()}


def _resolve(raw: str) -> web_session.BrowserSession | None:
    with owner_session() as db:
        return web_session.resolve(db, raw)


class BrowserMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        method: str = scope["method"]
        headers = dict(scope["headers"])
        is_api = path.startswith("/api/")
        state = scope.setdefault("state", {})
        state["browser_session"] = None
        send = self._with_headers(send, path)
        if is_api and b"authorization" in headers:
            await self.app(scope, receive, send)  # an API client: bearer token or API key
            return
        cookies = cookies_of(scope)
        raw = cookies.get(web_session.SESSION_COOKIE, "")
        bs = await run_in_threadpool(_resolve, raw) if raw else None
        state["browser_session"] = bs
        if is_api and bs is None:
            await self.app(scope, receive, send)  # anonymous API call: the API answers 401
            return
        if method in UNSAFE and not path.startswith(CSRF_EXEMPT):
            cookie = raw if bs is not None else cookies.get(web_session.ANON_COOKIE, "")
            presented = headers.get(web_session.CSRF_HEADER.encode(), b"").decode("latin-1")
            ctype = headers.get(b"content-type", b"").decode("latin-1").lower()
            if not presented and ctype.startswith("application/x-www-form-urlencoded"):
                body = await _read_body(receive)
                if body is None:
                    await _reject(send, 413, "payload-too-large", "This form is too large.")
                    return
                presented = parse_qs(body.decode("utf-8", "replace")).get(
                    web_session.CSRF_FIELD, [""]
                )[0]
                receive = _replay(body, receive)
            if not cookie or not web_session.csrf_ok(cookie, presented):
                await _reject(
                    send,
                    403,
                    "csrf-failed",
                    "This page has expired or the request did not come from Cliply. "
                    "Reload the page and try again.",
                )
                return
        if is_api and bs is not None:
            token, _ = security.create_access_token(bs.user_id, app_secret(), 120)
            extra = [(b"authorization", f"Bearer {token}".encode())]
            if b"x-workspace-id" not in headers and bs.current_workspace_id is not None:
                extra.append((b"x-workspace-id", str(bs.current_workspace_id).encode()))
            scope = {**scope, "headers": [*scope["headers"], *extra]}
        await self.app(scope, receive, send)

    @staticmethod
    def _with_headers(send: Send, path: str) -> Send:
        csp = None if path.startswith(NO_CSP) else content_security_policy()

        async def _send(message: Message) -> None:
            if message["type"] == "http.response.start":
                hdrs = list(message.get("headers", []))
                names = {k.lower() for k, _ in hdrs}
                ctype = dict(hdrs).get(b"content-type", b"")
                if csp and ctype.startswith(b"text/html"):
                    hdrs.append((b"content-security-policy", csp.encode()))
                    hdrs.append((b"x-frame-options", b"DENY"))
                if b"x-content-type-options" not in names:
                    hdrs.append((b"x-content-type-options", b"nosniff"))
                hdrs.append((b"referrer-policy", b"same-origin"))
                message["headers"] = hdrs
            await send(message)

        return _send


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > FORM_LIMIT:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, original: Receive) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await original()  # later reads wait for the client's disconnect as usual

    return receive


async def _reject(send: Send, status: int, code: str, detail: str) -> None:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + code,
        "title": "Request refused",
        "status": status,
        "detail": detail,
    }
    raw = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", MEDIA_TYPE.encode()),
                (b"content-length", str(len(raw)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": raw})
