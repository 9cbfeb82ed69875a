"""Run a fake platform (ASGI or WSGI app) on 127.0.0.1 in a thread, with fault injection.

    plan = FaultPlan()
    with serve(app, faults=plan) as server:
        client = SomeClient(base_url=server.base_url)
        plan.fail_next("PUT", "/upload/", status=503, count=2)   # answered by the app
        plan.drop_next("PUT", "/upload/", after_body_bytes=1000)  # true TCP drop
        plan.drop_response_next("PUT", "/upload/")                # request handled, reply lost

Two kinds of faults:
- `fail_next`: the request reaches the ASGI middleware and gets the given status/body
  without touching the fake's state.
- `drop_next` / `drop_response_next`: real connection drops, done by a small TCP proxy
  in front of uvicorn that parses request heads. `after_body_bytes=N` forwards the head
  and N body bytes, then closes both sockets: the client sees a reset/disconnect and the
  app sees a client disconnect mid-body (nothing is committed). `drop_response_next` lets
  the whole request through, waits for the app's first response bytes (so the app has
  committed its work), then closes the client socket without forwarding them: the
  "upload finished but we never heard" case.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import uvicorn

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass
class _Rule:
    method: str
    path_prefix: str
    remaining: int
    status: int = 503
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    after_body_bytes: int | None = None  # drop rules: None = drop the response
    skip: int = 0  # let this many matching requests through first


class FaultPlan:
    """Faults to inject into the next matching requests (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fail: list[_Rule] = []
        self._drop: list[_Rule] = []
        self.injected: list[tuple[str, str, str]] = []  # (kind, method, path) for assertions

    def fail_next(
        self,
        method: str,
        path_prefix: str,
        *,
        status: int = 503,
        count: int = 1,
        body: dict[str, Any] | bytes | None = None,
        headers: dict[str, str] | None = None,
        skip: int = 0,
    ) -> None:
        raw = (
            body if isinstance(body, bytes) else json.dumps(body or {"error": "injected"}).encode()
        )
        with self._lock:
            self._fail.append(
                _Rule(
                    method.upper(), path_prefix, count, status, raw, dict(headers or {}), skip=skip
                )
            )

    def drop_next(
        self,
        method: str,
        path_prefix: str,
        *,
        after_body_bytes: int = 0,
        count: int = 1,
        skip: int = 0,
    ) -> None:
        with self._lock:
            self._drop.append(
                _Rule(
                    method.upper(), path_prefix, count, after_body_bytes=after_body_bytes, skip=skip
                )
            )

    def drop_response_next(self, method: str, path_prefix: str, *, count: int = 1) -> None:
        with self._lock:
            self._drop.append(_Rule(method.upper(), path_prefix, count, after_body_bytes=None))

    def clear(self) -> None:
        with self._lock:
            self._fail.clear()
            self._drop.clear()

    def reset(self) -> None:
        """Clear pending faults and the record of injected ones."""
        with self._lock:
            self._fail.clear()
            self._drop.clear()
            self.injected.clear()

    def _take(self, rules: list[_Rule], kind: str, method: str, path: str) -> _Rule | None:
        with self._lock:
            for rule in rules:
                if rule.method == method.upper() and path.startswith(rule.path_prefix):
                    if rule.skip > 0:
                        rule.skip -= 1
                        continue
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        rules.remove(rule)
                    self.injected.append((kind, method.upper(), path))
                    return rule
        return None

    def take_failure(self, method: str, path: str) -> _Rule | None:
        return self._take(self._fail, "fail", method, path)

    def take_drop(self, method: str, path: str) -> _Rule | None:
        return self._take(self._drop, "drop", method, path)


class FaultMiddleware:
    """ASGI middleware answering `fail_next` faults before the app sees the request."""

    def __init__(self, app: ASGIApp, plan: FaultPlan) -> None:
        self.app = app
        self.plan = plan

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            rule = self.plan.take_failure(scope["method"], scope["path"])
            if rule is not None:
                # Drain the body so the connection stays usable, like a real server would.
                more = True
                while more:
                    message = await receive()
                    more = message.get("more_body", False) and message["type"] == "http.request"
                headers = [(b"content-type", b"application/json")]
                headers += [(k.lower().encode(), v.encode()) for k, v in rule.headers.items()]
                await send(
                    {"type": "http.response.start", "status": rule.status, "headers": headers}
                )
                await send({"type": "http.response.body", "body": rule.body})
                return
        await self.app(scope, receive, send)


class _DropProxy:
    """TCP proxy that forwards HTTP/1.1 and drops connections per the plan."""

    def __init__(self, upstream_port: int, plan: FaultPlan) -> None:
        self._upstream_port = upstream_port
        self._plan = plan
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._closed = threading.Event()
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._closed.set()
        # shutdown() wakes the thread blocked in accept(); close() alone does not on Linux.
        _close(self._listener)
        with self._conns_lock:
            for conn in list(self._conns):
                _close(conn)
        self._thread.join(timeout=5)

    def _track(self, *socks: socket.socket) -> None:
        with self._conns_lock:
            self._conns.update(socks)

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve_client, args=(client,), daemon=True).start()

    def _serve_client(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self._upstream_port))
        except OSError:
            _close(client)
            return
        self._track(client, upstream)
        for sock in (client, upstream):
            # Head and body go out in separate writes; Nagle + delayed ACK would stall each.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        suppress = threading.Event()  # set: the next response must be swallowed and cut
        pump = threading.Thread(
            target=self._pump_responses, args=(upstream, client, suppress), daemon=True
        )
        pump.start()
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    chunk = client.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                head_end = buf.index(b"\r\n\r\n") + 4
                head, buf = buf[:head_end], buf[head_end:]
                method, path, length, chunked = _parse_head(head)
                rule = self._plan.take_drop(method, path)
                if chunked:
                    # Bodies of unknown length are passed through untouched (no faults).
                    upstream.sendall(head + buf)
                    _relay(client, upstream)
                    return
                if rule is not None and rule.after_body_bytes is None:
                    suppress.set()
                upstream.sendall(head)
                limit = length
                if rule is not None and rule.after_body_bytes is not None:
                    limit = min(rule.after_body_bytes, length)
                sent = 0
                while sent < limit:
                    if not buf:
                        buf = client.recv(65536)
                        if not buf:
                            return
                    piece, buf = buf[: limit - sent], buf[limit - sent :]
                    upstream.sendall(piece)
                    sent += len(piece)
                if rule is not None and rule.after_body_bytes is not None and limit < length:
                    return  # the drop: finally closes both sockets mid-body
                if rule is not None and rule.after_body_bytes is not None and limit >= length:
                    return  # drop right after a complete body, before any response
        except OSError:
            return
        finally:
            _close(client)
            _close(upstream)

    @staticmethod
    def _pump_responses(
        upstream: socket.socket, client: socket.socket, suppress: threading.Event
    ) -> None:
        try:
            while True:
                data = upstream.recv(65536)
                if not data:
                    break
                if suppress.is_set():
                    break  # the app answered (its work is done); the client never hears it
                client.sendall(data)
        except OSError:
            pass
        finally:
            _close(client)
            _close(upstream)


def _parse_head(head: bytes) -> tuple[str, str, int, bool]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    method, target = parts[0], parts[1] if len(parts) > 1 else "/"
    path = target.split("?", 1)[0]
    length, chunked = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip() or 0)
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    return method, path, length, chunked


def _relay(src: socket.socket, dst: socket.socket) -> None:
    while True:
        data = src.recv(65536)
        if not data:
            return
        dst.sendall(data)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


class RunningServer:
    """A started app; `base_url` goes through the fault proxy, `direct_url` does not."""

    def __init__(self, app: Any, *, faults: FaultPlan | None = None, wsgi: bool = False) -> None:
        self.faults = faults or FaultPlan()
        self._middleware = None if wsgi else FaultMiddleware(app, self.faults)
        asgi_app = app if self._middleware is None else self._middleware
        self._sock = socket.create_server(("127.0.0.1", 0))
        port = self._sock.getsockname()[1]
        config = uvicorn.Config(
            asgi_app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
            interface="wsgi" if wsgi else "asgi3",
            access_log=False,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )
        self.direct_url = f"http://127.0.0.1:{port}"
        self._proxy: _DropProxy | None = None
        self.base_url = self.direct_url
        self._port = port

    def start(self) -> RunningServer:
        self._thread.start()
        for _ in range(500):
            if self._server.started:
                break
            if not self._thread.is_alive():
                raise RuntimeError("fake server failed to start")
            threading.Event().wait(0.01)
        else:
            raise RuntimeError("fake server did not start within 5 s")
        self._proxy = _DropProxy(self._port, self.faults)
        self.base_url = f"http://127.0.0.1:{self._proxy.port}"
        return self

    def set_app(self, app: ASGIApp) -> None:
        """Serve another ASGI app from now on and forget pending faults (server reuse)."""
        if self._middleware is None:
            raise RuntimeError("set_app needs an ASGI server")
        self._middleware.app = app
        self.faults.reset()

    def stop(self) -> None:
        if self._proxy is not None:
            self._proxy.close()
        self._server.should_exit = True
        self._thread.join(timeout=10)
        with contextlib.suppress(OSError):
            self._sock.close()


@contextlib.contextmanager
def serve(
    app: Any, *, faults: FaultPlan | None = None, wsgi: bool = False
) -> Iterator[RunningServer]:
    server = RunningServer(app, faults=faults, wsgi=wsgi).start()
    try:
        yield server
    finally:
        server.stop()


async def _no_app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 503, "headers": []})
        await send({"type": "http.response.body", "body": b"no app mounted"})


class ServerPool:
    """Started servers reused across tests: `lease(app)` mounts an app on a free one.

    Starting and stopping uvicorn costs a few tenths of a second; a session-scoped pool
    with `release_all()` after each test keeps suites of many small tests fast.
    """

    def __init__(self) -> None:
        self._servers: list[RunningServer] = []
        self._in_use = 0

    def lease(self, app: ASGIApp) -> RunningServer:
        if self._in_use == len(self._servers):
            self._servers.append(RunningServer(_no_app).start())
        server = self._servers[self._in_use]
        self._in_use += 1
        server.set_app(app)
        return server

    def release_all(self) -> None:
        for server in self._servers[: self._in_use]:
            server.set_app(_no_app)
        self._in_use = 0

    def close(self) -> None:
        for server in self._servers:
            server.stop()
        self._servers.clear()
        self._in_use = 0
