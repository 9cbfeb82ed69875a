"""The FastAPI application: /api/v1 routers, problem+json errors, middleware, health."""

from __future__ import annotations

import importlib

from fastapi import FastAPI

from cliply import __version__
from cliply.api import health, problems
from cliply.api.idempotency import IdempotencyMiddleware
from cliply.api.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from cliply.api.routers import ROUTER_MODULES
from cliply.config import get_settings
from cliply.logging import configure, init_sentry

API_PREFIX = "/api/v1"
# Streaming endpoints with their own size limits.
UPLOAD_PREFIXES = ("/api/v1/uploads", "/api/v1/projects")


def create_app() -> FastAPI:
    settings = get_settings()
    configure(settings.log_level, settings.log_json)
    init_sentry(
        settings.sentry_dsn.get_secret_value() if settings.sentry_dsn else None, settings.cliply_env
    )
    app = FastAPI(
        title="Cliply API",
        version=__version__,
        description="Long videos in, short vertical clips out. Errors are RFC 9457 "
        "problem+json with a stable `type`.",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    problems.install(app)
    for module in ROUTER_MODULES:
        app.include_router(importlib.import_module(module).router, prefix=API_PREFIX)
    app.include_router(health.router)
    _mount_web(app)
    # Outermost last: request id → body cap → idempotency → app.
    app.add_middleware(IdempotencyMiddleware, exempt_prefixes=("/api/v1/webhooks",))
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_request_body_bytes,
        exempt_prefixes=UPLOAD_PREFIXES,
    )
    app.add_middleware(RequestContextMiddleware)
    return app


def _mount_web(app: FastAPI) -> None:
    from cliply.web.app import install

    install(app)
