"""Request id, structured access logs, metrics and the request body size cap (pure ASGI)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cliply.api.metrics import HTTP_LATENCY, HTTP_REQUESTS
from cliply.api.problems import MEDIA_TYPE
from cliply.errors import PROBLEM_BASE

log = structlog.get_logger()

REQUEST_ID_HEADER = "x-request-id"


class RequestContextMiddleware:
    """Gives every request an id (kept from X-Request-ID when sane), binds it to the logs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        rid = (
            incoming
            if incoming
            and len(incoming) <= 64
            and incoming.isascii()
            and incoming.replace("-", "").isalnum()
            else uuid.uuid4().hex
        )
        scope.setdefault("state", {})["request_id"] = rid
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=rid)
        start = time.perf_counter()
        status_holder = {"status": 500}

        async def _send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), rid.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, _send)
        finally:
            elapsed = time.perf_counter() - start
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            HTTP_REQUESTS.labels(scope["method"], path, str(status_holder["status"])).inc()
            HTTP_LATENCY.labels(scope["method"], path).observe(elapsed)
            if not scope["path"].startswith(("/healthz", "/metrics")):
                state = scope.get("state", {})
                principal = state.get("principal")
                extra: dict[str, Any] = {}
                if principal is not None:
                    extra["user_id"] = str(principal.user_id)
                if state.get("workspace_id") is not None:
                    extra["workspace_id"] = str(state["workspace_id"])
                log.info(
                    "request",
                    **extra,
                    method=scope["method"],
                    path=scope["path"],
                    status=status_holder["status"],
                    duration_ms=round(elapsed * 1000, 1),
                )


class BodySizeLimitMiddleware:
    """Refuses request bodies over the limit with 413.

    Upload paths are exempt for non-JSON bodies only (multipart / raw chunks are streamed to
    storage under their own limit); JSON sent there is capped like everywhere else.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, exempt_prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt = exempt_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        ctype = headers.get(b"content-type", b"").decode("latin-1").lower()
        if scope["path"].startswith(self.exempt) and "json" not in ctype:
            await self.app(scope, receive, send)
            return
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(send)
            return
        received = 0
        too_large = False

        async def _receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    too_large = True
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, _receive, send)
        except _TooLarge:
            await self._reject(send)

    async def _reject(self, send: Send) -> None:
        import json

        body: dict[str, Any] = {
            "type": PROBLEM_BASE + "payload-too-large",
            "title": "Payload too large",
            "status": 413,
            "detail": f"Request bodies are limited to {self.max_bytes} bytes.",
        }
        raw = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", MEDIA_TYPE.encode()),
                    (b"content-length", str(len(raw)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": raw})


class _TooLarge(Exception):
    pass
