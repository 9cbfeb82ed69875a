"""Request id, structured access logs, metrics and the request body size cap (pure ASGI)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cliply.api.metrics import HTTP_LATENCY, HTTP_REQUESTS
from cliply.api.problems import MEDIA_TYPE
from cliply.errors import PROBLEM_BASE
from cliply.schemas import has_bad_text

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
    """Refuses request bodies over the limit with 413, whether sized or chunked.

    The body is read (up to the limit) before the app runs, so a chunked body without
    Content-Length is refused the same way as one that declares its size: the route's body
    parser never sees a partial body (FastAPI would answer 400 "error parsing the body").
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
        chunks: list[bytes] = []
        received = 0
        first: Message | None = None
        while True:
            message = await receive()
            if message["type"] != "http.request":
                first = message  # the client left: let the app see it
                break
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.max_bytes:
                await self._reject(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        if first is None:
            first = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        pending: Message | None = first

        async def _receive() -> Message:
            nonlocal pending
            if pending is not None:
                message, pending = pending, None
                return message
            return await receive()  # after the body: only http.disconnect comes

        await self.app(scope, _receive, send)

    async def _reject(self, send: Send) -> None:
        await _send_problem(
            send,
            413,
            "payload-too-large",
            "Payload too large",
            f"Request bodies are limited to {self.max_bytes} bytes.",
        )


class InputTextMiddleware:
    """Refuses text PostgreSQL cannot store (NUL) in the path, query string and headers: 422.

    Bodies are checked by their schemas (`cliply.schemas.Strict`); this covers every query
    parameter, path parameter and header value of every route in one place, with the same rule.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        where = _bad_text_in(scope)
        if where is not None:
            await _send_problem(
                send,
                422,
                "validation-error",
                "Request validation failed",
                f"The {where} must not contain the NUL character.",
                errors=[{"loc": [where], "msg": "NUL character", "type": "value_error"}],
            )
            return
        await self.app(scope, receive, send)


def _bad_text_in(scope: Scope) -> str | None:
    if has_bad_text(scope["path"]):
        return "path"
    query = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        return "query"
    for _name, value in scope["headers"]:
        if b"\x00" in value:
            return "header"
    return None


async def _send_problem(
    send: Send, status: int, code: str, title: str, detail: str, **extra: Any
) -> None:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
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
