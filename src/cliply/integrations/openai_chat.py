"""Client for any OpenAI-compatible Chat Completions endpoint (OpenAI, vLLM, Ollama, ...).

Only JSON mode is needed here: POST {base_url}/chat/completions with
`response_format: {"type": "json_object"}` and read `choices[0].message.content` as a JSON
object. 429 and 5xx answers and transport errors are retried with exponential backoff,
honouring `retry-after-ms` / `retry-after` when the server sends them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

from cliply.errors import CliplyError

RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


class OpenAIChatError(CliplyError):
    status, code, title = 502, "openai-chat-error", "The LLM endpoint failed"

    def __init__(self, message: str, *, upstream_status: int | None = None) -> None:
        super().__init__(message)
        self.upstream_status = upstream_status


class OpenAIChatHTTPError(OpenAIChatError):
    """The server answered with an error status (after any retries)."""

    code = "openai-chat-http-error"


class OpenAIChatTimeout(OpenAIChatError):
    code = "openai-chat-timeout"
    retryable = True


class OpenAIChatConnectionError(OpenAIChatError):
    code = "openai-chat-connection-error"
    retryable = True


class OpenAIChatBadResponse(OpenAIChatError):
    """The answer was not a chat completion whose content is a JSON object."""

    code = "openai-chat-bad-response"


class OpenAIChatClient:
    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout_s: float = 60.0,
        max_retries: int = 3,
        backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        temperature: float | None = 0.2,
        max_tokens: int | None = 2000,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self.model = model
        self.max_retries = max(0, max_retries)
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.temperature = temperature
        self.max_tokens = max_tokens
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            headers=headers,
            timeout=httpx.Timeout(timeout_s),
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OpenAIChatClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def complete_json(self, messages: Sequence[Mapping[str, str]]) -> dict[str, Any]:
        """Send the conversation in JSON mode and return the reply parsed as a JSON object."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [dict(m) for m in messages],
            "response_format": {"type": "json_object"},
        }
        if self.temperature is not None:
            body["temperature"] = self.temperature
        if self.max_tokens is not None:
            body["max_tokens"] = self.max_tokens
        response = self._post_with_retries("chat/completions", body)
        return _parse_completion(response)

    def _post_with_retries(self, path: str, body: dict[str, Any]) -> httpx.Response:
        attempt = 0
        while True:
            delay: float | None = None
            try:
                response = self._http.post(path, json=body)
            except httpx.TimeoutException as exc:
                error: OpenAIChatError = OpenAIChatTimeout(f"request timed out: {exc!r}")
            except httpx.TransportError as exc:
                error = OpenAIChatConnectionError(f"cannot reach the endpoint: {exc!r}")
            else:
                if response.is_success:
                    return response
                error = OpenAIChatHTTPError(
                    f"HTTP {response.status_code}: {_error_message(response)}",
                    upstream_status=response.status_code,
                )
                if response.status_code not in RETRYABLE_STATUS:
                    raise error
                delay = _retry_after(response)
            if attempt >= self.max_retries:
                raise error
            backoff = self.backoff_s * (2**attempt)
            self._sleep(min(self.max_backoff_s, delay if delay is not None else backoff))
            attempt += 1


def _error_message(response: httpx.Response) -> str:
    """OpenAI errors look like {"error": {"message": ..., "type": ..., "code": ...}}."""
    try:
        payload = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        err = payload["error"]
        return str(err.get("message") or err.get("type") or err)[:300]
    return str(payload)[:200]


def _retry_after(response: httpx.Response) -> float | None:
    for header, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        raw = response.headers.get(header)
        if raw is None:
            continue
        try:
            return max(0.0, float(raw) * scale)
        except ValueError:
            continue  # an HTTP date: fall back to our own backoff
    return None


def _parse_completion(response: httpx.Response) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError as exc:
        raise OpenAIChatBadResponse(f"response body is not JSON: {response.text[:200]!r}") from exc
    try:
        choice = payload["choices"][0]
        content = choice["message"]["content"]
    except (KeyError, IndexError, TypeError) as exc:
        raise OpenAIChatBadResponse(f"not a chat completion: {str(payload)[:200]}") from exc
    if choice.get("finish_reason") == "length":
        raise OpenAIChatBadResponse("reply was cut off at the token limit")
    if not isinstance(content, str):
        raise OpenAIChatBadResponse("reply has no text content")
    try:
        parsed = json.loads(content)
    except ValueError as exc:
        raise OpenAIChatBadResponse(f"reply is not valid JSON: {content[:200]!r}") from exc
    if not isinstance(parsed, dict):
        raise OpenAIChatBadResponse("reply JSON is not an object")
    return parsed
