"""The fake-server helper itself: start/stop, injected failures, real connection drops."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes.server import FaultPlan, serve


def _echo_app(seen: list[Any]) -> Starlette:
    async def echo(request: Request) -> JSONResponse:
        body = b""
        try:
            async for piece in request.stream():
                body += piece
        except ClientDisconnect:
            seen.append(("disconnect", len(body)))
            return JSONResponse({}, status_code=499)
        seen.append(("ok", len(body)))
        return JSONResponse({"size": len(body)})

    return Starlette(routes=[Route("/echo", echo, methods=["PUT"])])


def test_serves_and_stops() -> None:
    seen: list[Any] = []
    with serve(_echo_app(seen)) as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        assert httpx.put(f"{server.base_url}/echo", content=b"abc").json() == {"size": 3}
        url = server.base_url
    with pytest.raises(httpx.TransportError):
        httpx.put(f"{url}/echo", content=b"abc", timeout=2)


def test_fail_next_answers_without_the_app() -> None:
    seen: list[Any] = []
    plan = FaultPlan()
    with serve(_echo_app(seen), faults=plan) as server, httpx.Client() as http:
        plan.fail_next("PUT", "/echo", status=503, count=2, headers={"Retry-After": "3"})
        first = http.put(f"{server.base_url}/echo", content=b"x" * 1000)
        second = http.put(f"{server.base_url}/echo", content=b"x")
        third = http.put(f"{server.base_url}/echo", content=b"x")
    assert (first.status_code, second.status_code, third.status_code) == (503, 503, 200)
    assert first.headers["retry-after"] == "3"
    assert seen == [("ok", 1)]


def test_drop_mid_body_is_a_real_disconnect() -> None:
    seen: list[Any] = []
    plan = FaultPlan()
    with serve(_echo_app(seen), faults=plan) as server, httpx.Client() as http:
        plan.drop_next("PUT", "/echo", after_body_bytes=64 * 1024)
        with pytest.raises(httpx.TransportError):
            http.put(f"{server.base_url}/echo", content=b"y" * (4 * 1024 * 1024))
        # The connection pool recovers: the next request works.
        assert http.put(f"{server.base_url}/echo", content=b"z").json() == {"size": 1}
    assert ("ok", 1) in seen
    assert all(size < 4 * 1024 * 1024 for kind, size in seen if kind == "disconnect")


def test_drop_response_after_app_handled_it() -> None:
    seen: list[Any] = []
    plan = FaultPlan()
    with serve(_echo_app(seen), faults=plan) as server, httpx.Client() as http:
        plan.drop_response_next("PUT", "/echo")
        with pytest.raises(httpx.TransportError):
            http.put(f"{server.base_url}/echo", content=b"q" * 10)
    assert seen == [("ok", 10)]  # the app did the work; only the reply was lost


def test_wsgi_app() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["PATH_INFO"].encode()]

    with serve(app, wsgi=True) as server:
        assert httpx.get(f"{server.base_url}/hello").text == "/hello"
