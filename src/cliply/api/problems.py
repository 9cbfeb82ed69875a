"""RFC 9457 problem+json for every error, validation errors and database failures included.

Database errors are sorted by cause, so that no input and no outage reads as a bug of ours:
- the database cannot be reached (stopped, restarting, network): 503 with Retry-After, and
  one log line when the outage starts and one when it ends, not a traceback per request;
- a value or reference the database refuses (DataError, IntegrityError): 4xx. The schemas
  refuse such input first (`cliply.schemas`); this is the safety net behind them;
- anything else: 500, logged with its traceback.

A `CliplyError` maps one way: status from the error, `type` from its code, `detail` from its
message, `extra` as members. The OpenAPI description lists every code (`cliply.error_codes`).
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import psycopg
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from cliply.error_codes import markdown_table
from cliply.errors import PROBLEM_BASE, CliplyError

log = structlog.get_logger()

MEDIA_TYPE = "application/problem+json"

_HTTP_CODES = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-error",
    429: "rate-limited",
}


def problem(
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    *,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {"type": PROBLEM_BASE + code, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


DB_RETRY_AFTER_S = 5


class _Outage:
    """Whether this process currently sees the database as down; logs edges, not requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.down_since: float | None = None

    def down(self, exc: BaseException) -> None:
        with self._lock:
            if self.down_since is not None:
                return
            self.down_since = time.monotonic()
        log.warning("database_unavailable", error=_short(exc))

    def up(self) -> None:
        if self.down_since is None:  # the common case: no lock, no log
            return
        with self._lock:
            since, self.down_since = self.down_since, None
        if since is not None:
            log.info("database_available", down_s=round(time.monotonic() - since, 1))


outage = _Outage()


def _short(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or exc
    return (
        f"{type(cause).__name__}: {str(cause).strip().splitlines()[0][:200] if str(cause) else ''}"
    )


def database_unreachable(exc: BaseException) -> bool:
    """The database could not be reached or went away: not the request's fault, retryable."""
    if isinstance(exc, sa_exc.TimeoutError):  # no pooled connection came free
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        exc = exc.orig if exc.orig is not None else exc
    if isinstance(exc, psycopg.errors.QueryCanceled):  # a statement timeout: the query's cost
        return False
    return isinstance(exc, psycopg.OperationalError)


def _unavailable(request: Request, exc: BaseException) -> JSONResponse:
    outage.down(exc)
    return problem(
        503,
        "database-unavailable",
        "Service unavailable",
        "The database is not reachable right now; retry shortly.",
        instance=request.url.path,
        headers={"Retry-After": str(DB_RETRY_AFTER_S)},
        retryable=True,
    )


def _database_error(request: Request, exc: sa_exc.SQLAlchemyError) -> JSONResponse:
    if database_unreachable(exc):
        return _unavailable(request, exc)
    orig = exc.orig if isinstance(exc, sa_exc.DBAPIError) else None
    sqlstate = getattr(orig, "sqlstate", None)
    if isinstance(exc, sa_exc.IntegrityError):
        log.warning("database_refused", path=request.url.path, sqlstate=sqlstate)
        if isinstance(orig, psycopg.errors.UniqueViolation):
            return problem(
                409,
                "conflict",
                "Conflict",
                "This conflicts with something that already exists.",
                instance=request.url.path,
            )
        return problem(
            422,
            "validation-error",
            "Request validation failed",
            "A value or reference in the request cannot be stored.",
            instance=request.url.path,
            errors=[],
        )
    if isinstance(exc, sa_exc.DataError):
        log.warning("database_refused", path=request.url.path, sqlstate=sqlstate)
        return problem(
            422,
            "validation-error",
            "Request validation failed",
            "A value in the request cannot be stored (out of range or malformed).",
            instance=request.url.path,
            errors=[],
        )
    return _internal(request, exc)


def _internal(request: Request, exc: BaseException) -> JSONResponse:
    log.exception("unhandled_error", path=request.url.path, exc_info=exc)
    return problem(
        500,
        "internal-error",
        "Internal server error",
        "Something went wrong on our side; the request id identifies it.",
        instance=request.url.path,
    )


def _allowed_methods(app: FastAPI, path: str) -> set[str]:
    """Every method the API documents for `path` (HEAD wherever GET is)."""
    templates = getattr(app.state, "path_methods", None)
    if templates is None:
        templates = []
        for template, item in app.openapi().get("paths", {}).items():
            parts = re.split(r"\{[^}]+\}", template)
            pattern = re.compile("^" + "[^/]+".join(re.escape(part) for part in parts) + "$")
            methods = {m.upper() for m in item if m.upper() in _METHODS}
            if "GET" in methods:
                methods.add("HEAD")
            templates.append((pattern, methods, "{" not in template))
        app.state.path_methods = templates
    # A literal path (/schedules/batch) names its own methods, not those of a template that
    # also matches it (/schedules/{schedule_id}): "batch" is not a schedule id.
    for literal in (True, False):
        out: set[str] = set()
        for pattern, methods, is_literal in templates:
            if is_literal == literal and pattern.match(path):
                out |= methods
        if out:
            return out
    return set()


_METHODS = {"GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS"}


def install(app: FastAPI) -> None:
    app.description = (
        f"{app.description}\n\n## Error codes\n\nA problem's `type` is `{PROBLEM_BASE}<code>`;"
        " failed jobs and projects carry the same codes as `error_code`.\n\n" + markdown_table()
    ).strip()

    @app.exception_handler(CliplyError)
    async def _domain(request: Request, exc: CliplyError) -> JSONResponse:
        headers = {}
        retry_after = exc.extra.get("retry_after")
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        return problem(
            exc.status,
            exc.code,
            exc.title,
            exc.message,
            instance=request.url.path,
            headers=headers,
            **exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return problem(
            422,
            "validation-error",
            "Request validation failed",
            "The request body or parameters are not valid.",
            instance=request.url.path,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http-error")
        detail = exc.detail if isinstance(exc.detail, str) else None
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            # The router names only the first route matching the path; the document knows
            # every method of the path (pages outside it keep the router's answer).
            allowed = _allowed_methods(app, request.url.path)
            if allowed:
                headers["Allow"] = ", ".join(sorted(allowed))
        return problem(
            exc.status_code,
            code,
            detail or code.replace("-", " ").capitalize(),
            detail,
            instance=request.url.path,
            headers=headers or None,
        )

    @app.exception_handler(sa_exc.SQLAlchemyError)
    async def _database(request: Request, exc: sa_exc.SQLAlchemyError) -> JSONResponse:
        return _database_error(request, exc)

    @app.exception_handler(psycopg.Error)
    async def _psycopg(request: Request, exc: psycopg.Error) -> JSONResponse:
        if database_unreachable(exc):
            return _unavailable(request, exc)
        return _internal(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Reached from the middleware too (idempotency keys, rate limits touch the database).
        if database_unreachable(exc):
            return _unavailable(request, exc)
        return _internal(request, exc)
