"""Mounts Cliply Studio on the FastAPI app: page routers, built assets, browser middleware."""

from __future__ import annotations

import importlib

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from cliply.web.deps import PageRoute
from cliply.web.middleware import BrowserMiddleware
from cliply.web.templating import HERE

# One module per area; each exposes `router = APIRouter(route_class=PageRoute)`.
# H8's pages (editor, publishing) are added to this list.
PAGE_MODULES: list[str] = [
    "cliply.web.pages.auth",
    "cliply.web.pages.team",
    "cliply.web.pages.projects",
    "cliply.web.pages.gallery",
    "cliply.web.pages.events",
    "cliply.web.pages.billing",
    "cliply.web.pages.jobs",
    "cliply.web.pages.editor",
    "cliply.web.pages.publishing",
    "cliply.web.pages.analytics",
]


def page_router() -> APIRouter:
    router = APIRouter(include_in_schema=False, route_class=PageRoute)
    for module in PAGE_MODULES:
        router.include_router(importlib.import_module(module).router)
    return router


def install(app: FastAPI) -> None:
    app.include_router(page_router())
    app.mount(
        "/static", StaticFiles(directory=str(HERE / "static"), check_dir=False), name="static"
    )
    # Added before the API's middleware, so it runs innermost: after the request id and
    # body cap, right before routing.
    app.add_middleware(BrowserMiddleware)
