"""Deepgram pre-recorded speech-to-text API client (POST /v1/listen), protocol only."""

from __future__ import annotations

import mimetypes
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from cliply.integrations.http_retry import RetryableHTTPError, RetryingClient
from cliply.integrations.http_retry import parse_retry_after as parse_retry_after  # re-export

DEFAULT_BASE_URL = "https://api.deepgram.com"
_CHUNK = 256 * 1024

_STATUS_CODES: dict[int, tuple[str, bool]] = {
    400: ("deepgram-bad-request", False),
    401: ("deepgram-unauthorized", False),
    402: ("deepgram-payment-required", False),
    403: ("deepgram-forbidden", False),
    404: ("deepgram-not-found", False),
    408: ("deepgram-timeout", True),
    413: ("deepgram-payload-too-large", False),
    415: ("deepgram-unsupported-media", False),
    429: ("deepgram-rate-limited", True),
}


class DeepgramError(RetryableHTTPError):
    def __init__(
        self,
        message: str,
        *,
        code: str,
        retryable: bool,
        upstream_status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, code=code, retryable=retryable, upstream_status=upstream_status)
        self.request_id = request_id


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            yield chunk


def _error_from_response(resp: httpx.Response) -> DeepgramError:
    code, retryable = _STATUS_CODES.get(
        resp.status_code,
        ("deepgram-server-error", True) if resp.status_code >= 500 else ("deepgram-error", False),
    )
    detail = ""
    request_id = resp.headers.get("dg-request-id")
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        # Deepgram answers either {err_code, err_msg} or {category, message, details}.
        detail = str(body.get("err_msg") or body.get("message") or body.get("details") or "")
        request_id = str(body.get("request_id") or request_id or "") or None
    message = f"Deepgram answered HTTP {resp.status_code}" + (f": {detail}" if detail else "")
    return DeepgramError(
        message,
        code=code,
        retryable=retryable,
        upstream_status=resp.status_code,
        request_id=request_id,
    )


class DeepgramClient(RetryingClient):
    """Sends audio files to Deepgram and returns the decoded JSON response.

    Retries rate limits (429, honouring Retry-After), 408, 5xx and network failures with
    exponential backoff; a wait longer than `max_wait_s` is not slept but raised, so a job
    queue can reschedule instead of holding a worker.
    """

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout_s: float = 900.0,
        connect_timeout_s: float = 10.0,
        max_retries: int = 3,
        backoff_base_s: float = 1.0,
        max_wait_s: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        http: httpx.Client | None = None,
    ) -> None:
        if not api_key:
            raise DeepgramError(
                "no Deepgram API key given", code="deepgram-no-api-key", retryable=False
            )
        self._api_key = api_key
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

    def listen_file(
        self,
        path: Path,
        *,
        content_type: str | None = None,
        model: str = "nova-2",
        language: str | None = None,
        diarize: bool = False,
        smart_format: bool = True,
        punctuate: bool = True,
        utterances: bool = True,
        extra_params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Transcribe a local file; the body is streamed from disk, never read whole."""
        params: dict[str, str] = {
            "model": model,
            "smart_format": _flag(smart_format),
            "punctuate": _flag(punctuate),
            "utterances": _flag(utterances),
            "diarize": _flag(diarize),
        }
        if language:
            params["language"] = language
        params.update(extra_params or {})
        ctype = content_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        headers = {
            "Authorization": f"Token {self._api_key}",
            "Content-Type": ctype,
            "Content-Length": str(path.stat().st_size),
            "Accept": "application/json",
        }
        url = f"{self.base_url}/v1/listen"
        resp = self._send_with_retries(
            lambda: self._http.post(
                url, params=params, headers=headers, content=_file_chunks(path)
            ),
            unreachable=lambda exc: DeepgramError(
                f"cannot reach Deepgram: {exc}", code="deepgram-unreachable", retryable=True
            ),
            error_from_response=_error_from_response,
        )
        try:
            data = resp.json()
        except ValueError as exc:
            raise DeepgramError(
                "Deepgram answered non-JSON",
                code="deepgram-bad-response",
                retryable=True,
                upstream_status=200,
            ) from exc
        if not isinstance(data, dict) or "results" not in data:
            raise DeepgramError(
                "Deepgram response has no results",
                code="deepgram-bad-response",
                retryable=True,
                upstream_status=200,
            )
        return data


def _flag(value: bool) -> str:
    return "true" if value else "false"
