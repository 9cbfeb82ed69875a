"""OpenAI audio transcription API client (POST /v1/audio/transcriptions), protocol only."""

from __future__ import annotations

import mimetypes
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from cliply.integrations.http_retry import RetryableHTTPError, RetryingClient

DEFAULT_BASE_URL = "https://api.openai.com"
MAX_UPLOAD_BYTES = 25 * 1024 * 1024  # the API refuses larger files

_STATUS_CODES: dict[int, tuple[str, bool]] = {
    400: ("openai-bad-request", False),
    401: ("openai-unauthorized", False),
    403: ("openai-forbidden", False),
    404: ("openai-not-found", False),
    408: ("openai-timeout", True),
    413: ("openai-file-too-large", False),
    415: ("openai-unsupported-media", False),
    429: ("openai-rate-limited", True),
}


class OpenAIAudioError(RetryableHTTPError):
    pass


def _error_from_response(resp: httpx.Response) -> OpenAIAudioError:
    code, retryable = _STATUS_CODES.get(
        resp.status_code,
        ("openai-server-error", True) if resp.status_code >= 500 else ("openai-error", False),
    )
    detail = ""
    try:
        body = resp.json()
    except ValueError:
        body = None
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        detail = str(err.get("message") or "")
        # A 429 for an exhausted quota will not clear by waiting.
        if resp.status_code == 429 and "insufficient_quota" in (err.get("code"), err.get("type")):
            code, retryable = "openai-quota-exceeded", False
    message = f"OpenAI answered HTTP {resp.status_code}" + (f": {detail}" if detail else "")
    return OpenAIAudioError(
        message, code=code, retryable=retryable, upstream_status=resp.status_code
    )


class OpenAIAudioClient(RetryingClient):
    """Uploads one file (multipart, streamed from disk) and returns the verbose JSON.

    Retries 429 (not quota), 408, 5xx and network errors with backoff, honouring
    Retry-After; waits longer than `max_wait_s` are raised instead of slept.
    """

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        organization: str | None = None,
        timeout_s: float = 600.0,
        connect_timeout_s: float = 10.0,
        max_retries: int = 3,
        backoff_base_s: float = 1.0,
        max_wait_s: float = 60.0,
        max_upload_bytes: int = MAX_UPLOAD_BYTES,
        sleep: Callable[[float], None] = time.sleep,
        http: httpx.Client | None = None,
    ) -> None:
        if not api_key:
            raise OpenAIAudioError(
                "no OpenAI API key given", code="openai-no-api-key", retryable=False
            )
        self._api_key = api_key
        self._organization = organization
        self.max_upload_bytes = max_upload_bytes
        super().__init__(
            base_url=base_url,
            timeout_s=timeout_s,
            connect_timeout_s=connect_timeout_s,
            max_retries=max_retries,
            backoff_base_s=backoff_base_s,
            max_wait_s=max_wait_s,
            sleep=sleep,
            http=http,
        )

    def transcribe_file(
        self,
        path: Path,
        *,
        model: str = "whisper-1",
        language: str | None = None,
        prompt: str | None = None,
        content_type: str | None = None,
    ) -> dict[str, Any]:
        size = path.stat().st_size
        if size > self.max_upload_bytes:
            raise OpenAIAudioError(
                f"{size} bytes is over the {self.max_upload_bytes}-byte upload limit",
                code="openai-file-too-large",
                retryable=False,
            )
        data: dict[str, str | list[str]] = {
            "model": model,
            "response_format": "verbose_json",
            "timestamp_granularities[]": ["word", "segment"],
        }
        if language:
            data["language"] = language
        if prompt:
            data["prompt"] = prompt
        headers = {"Authorization": f"Bearer {self._api_key}", "Accept": "application/json"}
        if self._organization:
            headers["OpenAI-Organization"] = self._organization
        ctype = content_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        url = f"{self.base_url}/v1/audio/transcriptions"

        def send() -> httpx.Response:
            with path.open("rb") as fh:
                return self._http.post(
                    url, headers=headers, data=data, files={"file": (path.name, fh, ctype)}
                )

        resp = self._send_with_retries(
            send,
            unreachable=lambda exc: OpenAIAudioError(
                f"cannot reach OpenAI: {exc}", code="openai-unreachable", retryable=True
            ),
            error_from_response=_error_from_response,
        )
        try:
            body = resp.json()
        except ValueError as exc:
            raise OpenAIAudioError(
                "OpenAI answered non-JSON",
                code="openai-bad-response",
                retryable=True,
                upstream_status=200,
            ) from exc
        if not isinstance(body, dict):
            raise OpenAIAudioError(
                "OpenAI answered an unexpected JSON shape",
                code="openai-bad-response",
                retryable=True,
                upstream_status=200,
            )
        return body
