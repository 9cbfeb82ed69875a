"""Studio pages: the project list, new project (upload / URL), project page, clip gallery."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from cliply.web.deps import PageRoute, StudioPage

router = APIRouter(route_class=PageRoute)


@router.get("/projects", response_class=HTMLResponse)
def projects(studio: StudioPage) -> HTMLResponse:
    studio.require("projects.read")
    return studio.render("projects/list.html", projects=[])
