"""A local fake of Deepgram's pre-recorded API (POST /v1/listen) on a real socket.

It checks `Authorization: Token KEY`, reads the streamed audio body, and answers with the
documented JSON (metadata + results.channels[0].alternatives[0].words + utterances), or
with scripted failures: Deepgram's error bodies ({err_code, err_msg, request_id}) and a
Retry-After header on 429.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run an ASGI app under uvicorn in a thread on 127.0.0.1:<random>; yield its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("fake server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)


@dataclass
class Planned:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Received:
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


DEFAULT_SCRIPT: list[tuple[str, float, float, int]] = [
    # (punctuated word, start, end, speaker)
    ("Hello", 0.32, 0.64, 0),
    ("and", 0.64, 0.80, 0),
    ("welcome.", 0.80, 1.30, 0),
    ("Today", 1.90, 2.20, 1),
    ("we", 2.20, 2.34, 1),
    ("bake", 2.34, 2.70, 1),
    ("bread!", 2.70, 3.20, 1),
]


def _bare(word: str) -> str:
    return "".join(ch for ch in word.lower() if ch.isalnum() or ch == "'")


class FakeDeepgram:
    def __init__(
        self,
        api_key: str = "dg-test-key",
        script: list[tuple[str, float, float, int]] | None = None,
    ) -> None:
        self.api_key = api_key
        self.script = script or DEFAULT_SCRIPT
        self.planned: list[Planned] = []
        self.received: list[Received] = []
        self.app = Starlette(routes=[Route("/v1/listen", self.listen, methods=["POST"])])

    # --- scripting ------------------------------------------------------------------

    def fail_next(self, status: int, *, retry_after: str | None = None, times: int = 1) -> None:
        codes = {
            401: "INVALID_AUTH",
            403: "ACCESS_DENIED",
            429: "TOO_MANY_REQUESTS",
            500: "INTERNAL_SERVER_ERROR",
            503: "SERVICE_UNAVAILABLE",
        }
        body = {
            "err_code": codes.get(status, "Bad Request"),
            "err_msg": f"scripted failure {status}",
            "request_id": str(uuid.uuid4()),
        }
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        self.planned += [Planned(status, body, headers) for _ in range(times)]

    @contextmanager
    def running(self) -> Iterator[str]:
        with serve(self.app) as url:
            yield url

    # --- protocol -------------------------------------------------------------------

    async def listen(self, request: Request) -> JSONResponse:
        body = b"".join([chunk async for chunk in request.stream()])
        self.received.append(Received(dict(request.query_params), dict(request.headers), body))
        request_id = str(uuid.uuid4())
        if request.headers.get("authorization") != f"Token {self.api_key}":
            return JSONResponse(
                {
                    "err_code": "INVALID_AUTH",
                    "err_msg": "Invalid credentials.",
                    "request_id": request_id,
                },
                status_code=401,
            )
        if self.planned:
            p = self.planned.pop(0)
            return JSONResponse(p.body, status_code=p.status, headers=p.headers)
        if not body:
            return JSONResponse(
                {
                    "err_code": "Bad Request",
                    "err_msg": "Bad Request: failed to process audio: corrupt or unsupported data",
                    "request_id": request_id,
                },
                status_code=400,
            )
        return JSONResponse(self._result(dict(request.query_params), body, request_id))

    def _result(self, q: dict[str, str], body: bytes, request_id: str) -> dict[str, Any]:
        punctuate = q.get("punctuate") == "true" or q.get("smart_format") == "true"
        diarize = q.get("diarize") == "true"

        def word(w: tuple[str, float, float, int]) -> dict[str, Any]:
            out: dict[str, Any] = {
                "word": _bare(w[0]),
                "start": w[1],
                "end": w[2],
                "confidence": 0.98,
            }
            if punctuate:
                out["punctuated_word"] = w[0]
            if diarize:
                out["speaker"] = w[3]
                out["speaker_confidence"] = 0.7
            return out

        words = [word(w) for w in self.script]
        text = " ".join(w.get("punctuated_word", w["word"]) for w in words)
        duration = self.script[-1][2] + 0.5
        results: dict[str, Any] = {
            "channels": [
                {"alternatives": [{"transcript": text, "confidence": 0.97, "words": words}]}
            ],
        }
        if q.get("utterances") == "true":
            utterances = []
            groups: list[list[dict[str, Any]]] = []
            for w, raw in zip(words, self.script, strict=True):
                # Utterances split at pauses over 0.5 s, like Deepgram's utt_split default.
                if not groups or raw[1] - groups[-1][-1]["end"] > 0.5:
                    groups.append([])
                groups[-1].append(w)
            for g in groups:
                u: dict[str, Any] = {
                    "start": g[0]["start"],
                    "end": g[-1]["end"],
                    "confidence": 0.97,
                    "channel": 0,
                    "transcript": " ".join(x.get("punctuated_word", x["word"]) for x in g),
                    "words": g,
                    "id": str(uuid.uuid4()),
                }
                if diarize:
                    u["speaker"] = g[0]["speaker"]
                utterances.append(u)
            results["utterances"] = utterances
        return {
            "metadata": {
                "transaction_key": "deprecated",
                "request_id": request_id,
                "sha256": hashlib.sha256(body).hexdigest(),
                "created": "2024-01-01T00:00:00.000Z",
                "duration": duration,
                "channels": 1,
                "models": [str(uuid.uuid4())],
                "model_info": {
                    "x": {
                        "name": f"general-{q.get('model', 'nova-2')}",
                        "version": "2024-01-01",
                        "arch": "nova-2",
                    }
                },
            },
            "results": results,
        }
