"""The one error base. Every domain error subclasses `CliplyError`.

An error carries a stable kebab-case `code`, a human `message`, whether trying again later may
succeed (`retryable`) and the HTTP `status` it maps to. Two mappings read these and nothing
else: `cliply.api.problems` (problem+json, `type` = PROBLEM_BASE + code) and the job worker
(retryable: retry with backoff; otherwise the job fails permanently with code and message).
Errors are raised once where the problem is seen and pass through the stages unchanged.
Every code is listed in `cliply.error_codes.CODES` (and thus in the API docs).
"""

from __future__ import annotations

import re
from typing import Any

PROBLEM_BASE = "https://cliply.dev/problems/"

KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def kebab(code: str) -> str:
    """`not_a_video`, `quotaExceeded`, `openai.timeout` -> `not-a-video`, `quota-exceeded`, ...

    Codes reported by other services (a platform's `reason`) pass through this too, so every
    code Cliply shows has the one format."""
    code = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", code.strip())
    return re.sub(r"[^a-z0-9]+", "-", code.lower()).strip("-") or "error"


class CliplyError(Exception):
    """Base of every Cliply error: `code`, `message`, `retryable`, HTTP `status`.

    Subclasses set class defaults; a raise site may override `code`, `status` and
    `retryable`. `extra` holds machine-readable details shown in problem+json."""

    status: int = 400
    code: str = "bad-request"
    title: str = "Bad request"
    retryable: bool = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not KEBAB.match(cls.code):
            raise TypeError(f"{cls.__name__}.code {cls.code!r} is not kebab-case")

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
        retryable: bool | None = None,
        **extra: Any,
    ) -> None:
        self.message: str = message or self.title
        super().__init__(self.message)
        if code is not None:
            self.code = kebab(code)
        if status is not None:
            self.status = status
        if retryable is not None:
            self.retryable = retryable
        self.extra: dict[str, Any] = extra

    @property
    def detail(self) -> str:
        """The problem+json name for `message`."""
        return self.message

    @property
    def type_uri(self) -> str:
        return PROBLEM_BASE + self.code

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, retryable={self.retryable})"


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
    """A client of ours sent too many requests (429). Services we call that rate-limit us
    raise `integrations.oauth_common.UpstreamRateLimited` instead."""

    status, code, title = 429, "rate-limited", "Too many requests"
    retryable = True

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(
            message or f"Rate limit exceeded; retry after {retry_after} s", retry_after=retry_after
        )
        self.retry_after = retry_after


class PlanLimitExceeded(CliplyError):
    """402: the workspace's plan does not allow this; `extra` says limit, usage, upgrade plan."""

    status, code, title = 402, "plan-limit-exceeded", "Plan limit reached"


class ServiceUnavailable(CliplyError):
    status, code, title = 503, "service-unavailable", "Service unavailable"
    retryable = True


class PermanentError(CliplyError):
    """A job step that cannot succeed by retrying (bad input, missing object)."""

    status, code, title = 422, "permanent-failure", "Cannot be processed"


class RetryableError(CliplyError):
    """A passing failure (network, 5xx, storage blip): retry with backoff."""

    status, code, title = 503, "temporary-failure", "Temporarily unavailable"
    retryable = True
