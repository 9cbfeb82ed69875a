"""Retry loop shared by the speech-to-text API clients: backoff, Retry-After, error shape."""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Self

import httpx

from cliply.errors import CliplyError


class RetryableHTTPError(CliplyError):
    """An API failure; `retryable` says whether trying again may help, `upstream_status` is
    the HTTP status the service answered."""

    status, code, title = 502, "upstream-error", "A connected service failed"

    def __init__(
        self, message: str, *, code: str, retryable: bool, upstream_status: int | None = None
    ) -> None:
        super().__init__(message, code=code, retryable=retryable)
        self.upstream_status = upstream_status


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class RetryingClient:
    """Owns (or borrows) an httpx client and sends requests with retries.

    Retries errors marked retryable and network failures with jittered exponential backoff,
    honouring Retry-After; a wait longer than `max_wait_s` is raised instead of slept, so a
    job queue can reschedule instead of holding a worker.
    """

    def __init__(
        self,
        *,
        base_url: str,
        timeout_s: float,
        connect_timeout_s: float,
        max_retries: int,
        backoff_base_s: float,
        max_wait_s: float,
        sleep: Callable[[float], None] = time.sleep,
        http: httpx.Client | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.max_wait_s = max_wait_s
        self._sleep = sleep
        self._http = http or httpx.Client(
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s)
        )
        self._owns_http = http is None

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send_with_retries(
        self,
        send: Callable[[], httpx.Response],
        *,
        unreachable: Callable[[httpx.TransportError], RetryableHTTPError],
        error_from_response: Callable[[httpx.Response], RetryableHTTPError],
    ) -> httpx.Response:
        """The first 200 response of `send()`; other outcomes are retried or raised."""
        attempt = 0
        while True:
            try:
                resp = send()
            except httpx.TransportError as exc:
                error = unreachable(exc)
                wait = self._backoff(attempt)
            else:
                if resp.status_code == 200:
                    return resp
                error = error_from_response(resp)
                retry_after = parse_retry_after(resp.headers.get("retry-after"))
                wait = retry_after if retry_after is not None else self._backoff(attempt)
            if not error.retryable or attempt >= self.max_retries or wait > self.max_wait_s:
                raise error
            self._sleep(wait)
            attempt += 1

    def _backoff(self, attempt: int) -> float:
        # Jitter spreads retries of many workers hitting the same limit.
        return float(self.backoff_base_s * (2**attempt) * (0.75 + random.random() / 2))
