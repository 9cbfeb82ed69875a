"""RFC 9457 problem+json for every error, validation errors included.

The one mapping from `CliplyError` to an HTTP answer: status from the error, `type` from its
code, `detail` from its message, `extra` as members. The OpenAPI description lists every
code (`cliply.error_codes`)."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
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
        return problem(
            exc.status_code,
            code,
            detail or code.replace("-", " ").capitalize(),
            detail,
            instance=request.url.path,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error", path=request.url.path)
        return problem(
            500,
            "internal-error",
            "Internal server error",
            "Something went wrong on our side; the request id identifies it.",
            instance=request.url.path,
        )
