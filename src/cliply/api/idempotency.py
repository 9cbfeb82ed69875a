"""Idempotency-Key for POSTs that create things (JSON bodies).

Same principal + workspace + key and the same body → the stored response is replayed;
a different body → 422. The key row is inserted before the request runs (INSERT … ON CONFLICT
DO NOTHING), so of two concurrent requests only one runs; the other waits for its result.
Multipart uploads are not covered: their bodies are streamed, not buffered.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cliply.api.problems import DB_RETRY_AFTER_S, MEDIA_TYPE, database_unreachable, outage
from cliply.config import get_settings
from cliply.db.engine import get_engine
from cliply.errors import PROBLEM_BASE

HEADER = b"idempotency-key"
WAIT_S = 10.0


def _principal(
    headers: dict[bytes, bytes], principal_of: Callable[[str], str | None]
) -> str | None:
    auth = headers.get(b"authorization", b"").decode("latin-1")
    if not auth.lower().startswith("bearer "):
        return None
    return principal_of(auth[7:].strip())


def _scope_of(scope: Scope, headers: dict[bytes, bytes]) -> str:
    ws = headers.get(b"x-workspace-id", b"").decode("latin-1")
    parts = scope["path"].split("/")
    if "workspaces" in parts:
        i = parts.index("workspaces")
        if i + 1 < len(parts):
            ws = parts[i + 1]
    try:
        return str(uuid.UUID(ws))
    except ValueError:
        return "-"


async def _send_json(
    send: Send,
    status: int,
    body: dict[str, Any],
    headers: list[tuple[bytes, bytes]] | None = None,
    media_type: str = "application/json",
) -> None:
    raw = json.dumps(body).encode()
    hdrs = [(b"content-type", media_type.encode()), (b"content-length", str(len(raw)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": hdrs + (headers or [])})
    await send({"type": "http.response.body", "body": raw})


def _problem(status: int, code: str, title: str, detail: str) -> dict[str, Any]:
    return {"type": PROBLEM_BASE + code, "title": title, "status": status, "detail": detail}


class IdempotencyMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        principal_of: Callable[[str], str | None],
        exempt_prefixes: tuple[str, ...] = (),
    ) -> None:
        # principal_of(bearer token) names the caller without a database read (None: nobody);
        # given by the app so that this plumbing knows no domain. The route still authenticates.
        self.app = app
        self.principal_of = principal_of
        self.exempt = exempt_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        key = headers.get(HEADER, b"").decode("latin-1").strip()
        ctype = headers.get(b"content-type", b"").decode("latin-1")
        if not key or scope["path"].startswith(self.exempt) or ctype.startswith("multipart/"):
            await self.app(scope, receive, send)
            return
        principal = _principal(headers, self.principal_of)
        if principal is None or len(key) > 255:
            await self.app(scope, receive, send)  # the route answers 401 / validation itself
            return

        body = b""
        more = True
        while more:
            msg = await receive()
            body += msg.get("body", b"")
            more = msg.get("more_body", False)
        req_hash = hashlib.sha256(scope["path"].encode() + b"\0" + body).hexdigest()
        ws_scope = _scope_of(scope, headers)

        try:
            owned = await asyncio.to_thread(
                _claim, principal, ws_scope, key, scope["path"], req_hash
            )
        except Exception as exc:
            if not database_unreachable(exc):
                raise
            outage.down(exc)
            await _send_json(
                send,
                503,
                _problem(
                    503,
                    "database-unavailable",
                    "Service unavailable",
                    "The database is not reachable right now; retry shortly.",
                ),
                [(b"retry-after", str(DB_RETRY_AFTER_S).encode())],
                media_type=MEDIA_TYPE,
            )
            return
        if not owned:
            await self._replay(send, principal, ws_scope, key, req_hash)
            return

        captured: dict[str, Any] = {"status": 500, "headers": [], "body": b""}

        async def _receive() -> Message:
            nonlocal body
            chunk, body = body, b""
            return {"type": "http.request", "body": chunk, "more_body": False}

        async def _send(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = message.get("headers", [])
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, _receive, _send)
        finally:
            try:
                await asyncio.to_thread(_complete, principal, ws_scope, key, captured)
            except Exception as exc:
                # The answer is out already; the key expires with its TTL.
                if not database_unreachable(exc):
                    raise
                outage.down(exc)

    async def _replay(
        self, send: Send, principal: str, ws_scope: str, key: str, req_hash: str
    ) -> None:
        deadline = asyncio.get_running_loop().time() + WAIT_S
        while True:
            row = await asyncio.to_thread(_load, principal, ws_scope, key)
            if row is None:
                await _send_json(
                    send,
                    409,
                    _problem(
                        409,
                        "idempotency-conflict",
                        "Retry",
                        "The earlier request with this key failed; retry.",
                    ),
                    media_type=MEDIA_TYPE,
                )
                return
            if row["request_hash"] != req_hash:
                await _send_json(
                    send,
                    422,
                    _problem(
                        422,
                        "idempotency-key-reused",
                        "Idempotency key reused",
                        "This Idempotency-Key was used with a different request body.",
                    ),
                    media_type=MEDIA_TYPE,
                )
                return
            if row["status"] == "completed":
                hdrs = [
                    (k.encode(), v.encode()) for k, v in (row["response_headers"] or {}).items()
                ]
                hdrs.append((b"idempotent-replayed", b"true"))
                await _send_json(
                    send,
                    row["response_status"],
                    row["response_body"],
                    hdrs,
                    media_type=(row["response_headers"] or {}).get(
                        "content-type", "application/json"
                    ),
                )
                return
            if asyncio.get_running_loop().time() > deadline:
                await _send_json(
                    send,
                    409,
                    _problem(
                        409,
                        "idempotency-in-progress",
                        "Request in progress",
                        "A request with this Idempotency-Key is still being processed.",
                    ),
                    [(b"retry-after", b"2")],
                    media_type=MEDIA_TYPE,
                )
                return
            await asyncio.sleep(0.1)


def _claim(principal: str, ws_scope: str, key: str, path: str, req_hash: str) -> bool:
    expires = datetime.now(UTC) + timedelta(seconds=get_settings().idempotency_ttl_s)
    with get_engine().begin() as conn:
        conn.execute(
            text(
                "DELETE FROM idempotency_keys WHERE principal = :p AND scope = :s "
                "AND key = :k AND expires_at < now()"
            ),
            {"p": principal, "s": ws_scope, "k": key},
        )
        row = conn.execute(
            text(
                "INSERT INTO idempotency_keys (principal, scope, workspace_id, key, method, path, "
                "request_hash, expires_at) VALUES (:p, :s, :ws, :k, 'POST', :path, :h, :e) "
                "ON CONFLICT (principal, scope, key) DO NOTHING RETURNING id"
            ),
            {
                "p": principal,
                "s": ws_scope,
                "ws": None if ws_scope == "-" else ws_scope,
                "k": key,
                "path": path[:500],
                "h": req_hash,
                "e": expires,
            },
        ).first()
    return row is not None


def _complete(principal: str, ws_scope: str, key: str, captured: dict[str, Any]) -> None:
    status = int(captured["status"])
    params = {"p": principal, "s": ws_scope, "k": key}
    with get_engine().begin() as conn:
        if status >= 500:
            # A server failure is not an answer worth replaying: let the client retry.
            conn.execute(
                text(
                    "DELETE FROM idempotency_keys WHERE principal = :p AND scope = :s AND key = :k"
                ),
                params,
            )
            return
        try:
            body = json.loads(captured["body"] or b"null")
        except ValueError:
            body = None
        keep = {
            k.decode(): v.decode()
            for k, v in captured["headers"]
            if k.decode().lower() in ("content-type", "location")
        }
        conn.execute(
            text(
                "UPDATE idempotency_keys SET status = 'completed', response_status = :st, "
                "response_body = CAST(:b AS jsonb), response_headers = CAST(:h AS jsonb) "
                "WHERE principal = :p AND scope = :s AND key = :k"
            ),
            {**params, "st": status, "b": json.dumps(body), "h": json.dumps(keep)},
        )


def _load(principal: str, ws_scope: str, key: str) -> dict[str, Any] | None:
    with get_engine().connect() as conn:
        row = (
            conn.execute(
                text(
                    "SELECT status, request_hash, response_status, response_body, response_headers "
                    "FROM idempotency_keys WHERE principal = :p AND scope = :s AND key = :k"
                ),
                {"p": principal, "s": ws_scope, "k": key},
            )
            .mappings()
            .first()
        )
    return dict(row) if row else None
