"""A local fake of an OpenAI-compatible Chat Completions server (real socket on 127.0.0.1).

It speaks the documented protocol: POST /v1/chat/completions with a JSON body, Bearer auth,
`chat.completion` objects on success, `{"error": {...}}` bodies with 4xx/5xx, optional
`retry-after-ms` / `retry-after` headers, and the JSON-mode rule that the messages must
mention JSON. Tests queue what each request gets; every request is recorded.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Body = dict[str, Any]


@dataclass
class Reply:
    """200 with a chat completion whose message content is `content` (or content(body))."""

    content: str | Callable[[Body], str]
    finish_reason: str = "stop"
    delay_s: float = 0.0


@dataclass
class ErrorReply:
    status: int
    message: str = "The server had an error while processing your request."
    type: str = "server_error"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass
class RawReply:
    status: int
    body: bytes
    content_type: str = "text/html"
    delay_s: float = 0.0


Action = Reply | ErrorReply | RawReply


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: Body | None


class FakeOpenAIChat:
    def __init__(self, *, api_key: str | None = "sk-test", default: Action | None = None) -> None:
        self.api_key = api_key
        self.queue: deque[Action] = deque()
        self.default: Action = default or ErrorReply(500, "no reply queued")
        self.requests: list[Recorded] = []
        self._stop = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> FakeOpenAIChat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()  # wake handlers that are still "thinking"
        self._server.shutdown()
        self._server.server_close()

    def push(self, *actions: Action) -> None:
        self.queue.extend(actions)

    def _next(self) -> Action:
        return self.queue.popleft() if self.queue else self.default

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                fake.requests.append(
                    Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                if self.path != "/v1/chat/completions":
                    return self._error(404, f"Unknown path {self.path}", "invalid_request_error")
                if fake.api_key and self.headers.get("Authorization") != f"Bearer {fake.api_key}":
                    return self._error(401, "Incorrect API key provided", "invalid_request_error")
                problem = _validate_request(body)
                if problem:
                    return self._error(400, problem, "invalid_request_error")
                assert body is not None
                action = fake._next()
                if action.delay_s and fake._stop.wait(action.delay_s):
                    return None
                if isinstance(action, ErrorReply):
                    return self._error(action.status, action.message, action.type, action.headers)
                if isinstance(action, RawReply):
                    return self._send(action.status, action.body, action.content_type)
                content = action.content(body) if callable(action.content) else action.content
                completion = {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": content},
                            "finish_reason": action.finish_reason,
                        }
                    ],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                }
                return self._send(200, json.dumps(completion).encode(), "application/json")

            def _error(
                self, status: int, message: str, type_: str, headers: dict[str, str] | None = None
            ) -> None:
                payload = {
                    "error": {"message": message, "type": type_, "param": None, "code": None}
                }
                self._send(status, json.dumps(payload).encode(), "application/json", headers)

            def _send(
                self, status: int, data: bytes, ctype: str, headers: dict[str, str] | None = None
            ) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

        return Handler


def _validate_request(body: Body | None) -> str | None:
    if not isinstance(body, dict):
        return "We could not parse the JSON body of your request."
    if not isinstance(body.get("model"), str):
        return "you must provide a model parameter"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty array"
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_object":
        text = " ".join(str(m.get("content", "")) for m in messages if isinstance(m, dict))
        if "json" not in text.lower():
            return (
                "'messages' must contain the word 'json' in some form, "
                "to use 'response_format' of type 'json_object'."
            )
    return None


def sent_candidates(body: Body) -> list[dict[str, Any]]:
    """The candidate list the highlight LLM pass put into its user message."""
    user = next(m["content"] for m in body["messages"] if m["role"] == "user")
    return list(json.loads(user.split("Candidates:\n", 1)[1]))


def reverse_ranking_reply(body: Body) -> str:
    """A well-formed answer that ranks the candidates in reverse of the order sent."""
    ids = [c["id"] for c in sent_candidates(body)]
    items = [
        {
            "id": cid,
            "rank": len(ids) - i,
            "title": f"LLM title for {cid}",
            "description": f"Why {cid} works.",
            "hashtags": ["#llm", f"tag {cid}"],
        }
        for i, cid in enumerate(ids)
    ]
    return json.dumps({"candidates": items})
