"""Mounts Cliply Studio on the FastAPI app: page routers, built assets, browser middleware."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from cliply.web.deps import PageRoute
from cliply.web.middleware import BrowserMiddleware
from cliply.web.pages import (
    analytics,
    auth,
    billing,
    brand,
    editor,
    events,
    experiments,
    gallery,
    jobs,
    products,
    projects,
    publishing,
    team,
)
from cliply.web.templating import HERE

# One module per area, each with `router = APIRouter(route_class=PageRoute)`. Imported
# explicitly (not by name) so a page's import error shows here and mypy sees every router.
# Order matters only where paths overlap: earlier routers win.
PAGE_ROUTERS: tuple[APIRouter, ...] = (
    auth.router,
    team.router,
    projects.router,
    gallery.router,
    events.router,
    billing.router,
    jobs.router,
    editor.router,
    publishing.router,
    analytics.router,
    experiments.router,
    products.router,
    brand.router,
)


def page_router() -> APIRouter:
    router = APIRouter(include_in_schema=False, route_class=PageRoute)
    for routes in PAGE_ROUTERS:
        router.include_router(routes)
    return router


def install(app: FastAPI) -> None:
    app.include_router(page_router())
    app.mount(
        "/static", StaticFiles(directory=str(HERE / "static"), check_dir=False), name="static"
    )
    # Added before the API's middleware, so it runs innermost: after the request id and
    # body cap, right before routing.
    app.add_middleware(BrowserMiddleware)
