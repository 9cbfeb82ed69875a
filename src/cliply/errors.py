"""Domain errors with stable problem types; the API renders them as RFC 9457 problem+json.

Services raise these (no HTTP imports there); `cliply.api.problems` maps them to responses.
"""

from __future__ import annotations

from typing import Any

PROBLEM_BASE = "https://cliply.dev/problems/"


class CliplyError(Exception):
    """Base: `code` is the stable problem type slug, `status` the HTTP status it maps to."""

    status: int = 400
    code: str = "bad-request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        if code:
            self.code = code
        if status:
            self.status = status
        self.extra = extra

    @property
    def type_uri(self) -> str:
        return PROBLEM_BASE + self.code


class BadRequest(CliplyError):
    status, code, title = 400, "bad-request", "Bad request"


class ValidationFailed(CliplyError):
    status, code, title = 422, "validation-error", "Request validation failed"


class Unauthorized(CliplyError):
    status, code, title = 401, "unauthorized", "Authentication required"


class Forbidden(CliplyError):
    status, code, title = 403, "forbidden", "Not allowed"


class NotFound(CliplyError):
    status, code, title = 404, "not-found", "Not found"


class Conflict(CliplyError):
    status, code, title = 409, "conflict", "Conflict"


class Gone(CliplyError):
    status, code, title = 410, "gone", "Gone"


class PayloadTooLarge(CliplyError):
    status, code, title = 413, "payload-too-large", "Payload too large"


class RateLimited(CliplyError):
    status, code, title = 429, "rate-limited", "Too many requests"

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        super().__init__(
            detail or f"Rate limit exceeded; retry after {retry_after} s", retry_after=retry_after
        )
        self.retry_after = retry_after


class PlanLimitExceeded(CliplyError):
    """402: the workspace's plan does not allow this; `extra` says limit, usage, upgrade plan."""

    status, code, title = 402, "plan-limit-exceeded", "Plan limit reached"


class ServiceUnavailable(CliplyError):
    status, code, title = 503, "service-unavailable", "Service unavailable"
