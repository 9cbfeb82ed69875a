"""The top floor: the ASGI app and the worker's handlers, assembled with explicit imports.

Every router, every job-handler module and every process-wide hook is named here, so reading
the import graph top-down shows no arrow running back up: nothing below `cliply.app` (and
`cliply.cli`) imports it, and no lower module finds a domain by a module name in a string.
"""

from __future__ import annotations

from types import ModuleType

from fastapi import APIRouter, FastAPI

from cliply import __version__
from cliply.accounts import routes as accounts_routes
from cliply.accounts import service as accounts_service
from cliply.accounts import tasks as accounts_tasks
from cliply.analytics import product_routes as analytics_product_routes
from cliply.analytics import routes as analytics_routes
from cliply.analytics import service as analytics_service
from cliply.analytics import tasks as analytics_tasks
from cliply.api import health, openapi, problems
from cliply.api.idempotency import IdempotencyMiddleware
from cliply.api.middleware import (
    BodySizeLimitMiddleware,
    InputTextMiddleware,
    RequestContextMiddleware,
)
from cliply.auth import routes as auth_routes
from cliply.auth import service as auth_service
from cliply.billing import gate
from cliply.billing import routes as billing_routes
from cliply.billing import service as billing_service
from cliply.billing import tasks as billing_tasks
from cliply.brand import routes as brand_routes
from cliply.clips import routes as clips_routes
from cliply.clips import tasks as clips_tasks
from cliply.clips import weights as clip_weights
from cliply.config import get_settings
from cliply.experiments import routes as experiments_routes
from cliply.experiments import tasks as experiments_tasks
from cliply.jobs import limits as job_limits
from cliply.jobs import routes as jobs_routes
from cliply.jobs import tasks as jobs_tasks
from cliply.jobs.metrics import refresh_queue_depth
from cliply.logging import configure, init_sentry
from cliply.products import flows as products_flows
from cliply.products import routes as products_routes
from cliply.products import tasks as products_tasks
from cliply.projects import routes as projects_routes
from cliply.projects import tasks as projects_tasks
from cliply.publishing import routes as publishing_routes
from cliply.schedules import hooks as schedules_hooks
from cliply.schedules import routes as schedules_routes
from cliply.schedules import tasks as schedules_tasks
from cliply.web.app import install as install_studio
from cliply.workspaces import routes as workspaces_routes

API_PREFIX = "/api/v1"
# Streaming endpoints with their own size limits.
UPLOAD_PREFIXES = ("/api/v1/uploads", "/api/v1/projects", "/api/v1/brand")

# Every domain router mounted under /api/v1, in the order the OpenAPI document lists them.
API_ROUTERS: tuple[APIRouter, ...] = (
    auth_routes.router,
    workspaces_routes.router,
    billing_routes.router,
    projects_routes.router,
    clips_routes.router,
    jobs_routes.router,
    accounts_routes.router,
    schedules_routes.router,
    publishing_routes.router,
    experiments_routes.router,
    products_routes.router,
    analytics_routes.router,
    analytics_product_routes.router,
    brand_routes.router,
)

# The modules whose `@registry.handler` / `@registry.periodic` functions the worker runs
# (importing them above registered them; naming them here keeps the import from looking unused
# and makes the list of job handlers readable in one place).
HANDLER_MODULES: tuple[ModuleType, ...] = (
    jobs_tasks,
    projects_tasks,
    clips_tasks,
    billing_tasks,
    accounts_tasks,
    schedules_tasks,
    analytics_tasks,
    experiments_tasks,
    products_tasks,
)


def install_hooks() -> None:
    """Wire the callbacks through which lower floors reach higher ones (idempotent).

    - /metrics refreshes the queue-depth gauges before a scrape;
    - the job queue caps a workspace's running jobs at its plan's `concurrent_jobs`
      (jobs sits below billing, so billing's resolver is handed down here);
    - the billing gate counts a workspace's connected accounts for GET /billing/usage
      (accounts checks its limit through the gate, so the gate cannot import accounts);
    - highlight detection (clips) scores with a workspace's adopted learnt weights
      (analytics reads clips' features, so clips cannot import analytics);
    - a new schedule's caption gets the tracked links of its clip's products, and starts
      paused while one of them is out of stock (products depends on schedules, so schedules
      is handed the hooks).
    """
    if refresh_queue_depth not in health.SCRAPE_HOOKS:
        health.SCRAPE_HOOKS.append(refresh_queue_depth)
    job_limits.set_cap_resolver(billing_service.workspace_job_caps)
    gate.set_current_counter("connected_accounts", accounts_service.counted_accounts)
    clip_weights.set_weights_resolver(analytics_service.adopted_weights)
    schedules_hooks.add_caption_hook(products_flows.caption_links)
    schedules_hooks.add_pause_hook(products_flows.held_back)


def create_app() -> FastAPI:
    settings = get_settings()
    configure(settings.log_level, settings.log_json)
    init_sentry(
        settings.sentry_dsn.get_secret_value() if settings.sentry_dsn else None, settings.cliply_env
    )
    install_hooks()
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
    for router in API_ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(health.router)
    app.include_router(products_routes.public_router)  # /r/{code}: tracked links, no auth
    install_studio(app)  # Cliply Studio: pages, built assets, browser middleware
    openapi.install(app)  # errors documented as problem+json on every operation
    # Outermost last: request id → NUL guard → body cap → idempotency → app.
    app.add_middleware(
        IdempotencyMiddleware,
        principal_of=auth_service.token_principal_key,
        exempt_prefixes=("/api/v1/webhooks",),
    )
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_request_body_bytes,
        exempt_prefixes=UPLOAD_PREFIXES,
    )
    app.add_middleware(InputTextMiddleware)
    app.add_middleware(RequestContextMiddleware)
    return app
