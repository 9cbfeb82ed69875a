"""What a Studio page depends on: the signed-in user and their current workspace.

    @router.get("/things")
    def things(studio: StudioPage) -> HTMLResponse:
        studio.require("projects.read")              # 403 page for a role without it
        rows = things_service.list(studio.db, studio.workspace_id)
        return studio.render("things.html", rows=rows)

`StudioPage` resolves the browser session (redirecting to /login when there is none), the
workspace (the one chosen in the switcher, else the first; /workspaces/new when the user
has none) and enters that workspace's row-level security on the request's DB session, the
same way an API request does. `SignedIn` is the user without a workspace (team pages).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from cliply.api.deps import DB
from cliply.auth.permissions import has_permission
from cliply.auth.service import Principal
from cliply.config import get_settings
from cliply.db.tenancy import enter_tenant
from cliply.errors import CliplyError, Forbidden
from cliply.web.session import BrowserSession
from cliply.web.templating import browser_session, render
from cliply.workspaces import service as ws_service
from cliply.workspaces.deps import Tenant
from cliply.workspaces.models import Workspace


class LoginRequired(Exception):
    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


class NoWorkspace(Exception):
    pass


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def redirect(request: Request, url: str) -> Response:
    """303 for a normal request; HX-Redirect for htmx (which would swap a redirect in place)."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def signed_in(request: Request) -> BrowserSession:
    bs = browser_session(request)
    if bs is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    return bs


SignedIn = Annotated[BrowserSession, Depends(signed_in)]


@dataclass
class Studio:
    """A page request inside a workspace: the DB session is already tenant-scoped."""

    request: Request
    db: Session
    session: BrowserSession
    tenant: Tenant
    workspace: Workspace
    workspaces: list[tuple[Workspace, str]] = field(default_factory=list)

    @property
    def workspace_id(self) -> uuid.UUID:
        return self.tenant.workspace_id

    @property
    def user_id(self) -> uuid.UUID:
        return self.session.user_id

    @property
    def role(self) -> str:
        return self.tenant.role

    def can(self, permission: str) -> bool:
        return has_permission(self.role, permission)

    def require(self, permission: str) -> None:
        self.tenant.require(permission)

    def render(self, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        return render(
            self.request,
            name,
            {"studio": self, "workspace": self.workspace, "role": self.role, **context},
            status_code=status_code,
        )


def enter_workspace(
    db: Session, bs: BrowserSession
) -> tuple[Tenant, Workspace, list[tuple[Workspace, str]]]:
    mine = ws_service.list_for_user(db, bs.user_id)
    if not mine:
        raise NoWorkspace()
    ws, role = next(((w, r) for w, r in mine if w.id == bs.current_workspace_id), mine[0])
    enter_tenant(db, role=get_settings().database_app_role, workspace_id=ws.id, user_id=bs.user_id)
    tenant = Tenant(principal=Principal(user_id=bs.user_id), workspace_id=ws.id, role=role)
    return tenant, ws, mine


async def studio_page(request: Request, db: DB, bs: SignedIn) -> Studio:
    tenant, ws, mine = await run_in_threadpool(enter_workspace, db, bs)
    request.state.workspace_id = ws.id
    return Studio(request=request, db=db, session=bs, tenant=tenant, workspace=ws, workspaces=mine)


StudioPage = Annotated[Studio, Depends(studio_page)]


class PageRoute(APIRoute):
    """Turns the page exceptions into what a browser expects: a redirect to log in, the
    onboarding page, or an HTML error page (htmx requests get problem+json, which the
    front end shows next to the element that sent them)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except LoginRequired as exc:
                return redirect(request, f"/login?next={quote(exc.next_url, safe='/')}")
            except NoWorkspace:
                return redirect(request, "/workspaces/new")
            except CliplyError as exc:
                if is_htmx(request) or request.url.path.startswith("/api/"):
                    raise
                return render(
                    request,
                    "error.html",
                    {"error": exc, "forbidden": isinstance(exc, Forbidden)},
                    status_code=exc.status,
                )

        return handler
