"""FastAPI dependencies: the request's transaction, who is calling, and in which workspace.

A request runs in one transaction. Identity and membership are read first (as the owner
role: the caller's workspace is not known yet); then the transaction switches to the
restricted role with `app.workspace_id` set, so row-level security backs every later query.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

import structlog
from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from cliply.api.problems import outage
from cliply.api.ratelimit import enforce as enforce_rate_limit
from cliply.auth import service as auth_service
from cliply.auth.permissions import has_permission
from cliply.auth.service import Principal
from cliply.config import get_settings
from cliply.db.engine import get_sessionmaker
from cliply.db.tenancy import enter_tenant
from cliply.errors import BadRequest, Forbidden, NotFound, Unauthorized
from cliply.workspaces import service as ws_service

bearer = HTTPBearer(auto_error=False, description="JWT access token or personal API key (clk_…)")


def get_db() -> Iterator[Session]:
    with get_sessionmaker()() as session, session.begin():
        yield session
    outage.up()  # committed: the database is back if it was down


# scope="function": the transaction ends (commit, or rollback on an error) once the route has
# returned and its response is built, but BEFORE that response is sent. A 2xx therefore means
# committed, and a commit that fails is answered as an error (FastAPI's default scope would
# commit after the response had gone out).
DB = Annotated[Session, Depends(get_db, scope="function")]


# The identity dependencies are async so that the context they bind (user_id, workspace_id)
# lives in the request's task and reaches every log line, including the route's (run in a
# thread with a copy of that context); their database work still runs in the threadpool.


async def current_principal(
    request: Request,
    db: DB,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if creds is None or creds.scheme.lower() != "bearer" or not creds.credentials:
        raise Unauthorized("Send `Authorization: Bearer <token>`.", code="unauthorized")
    principal = await run_in_threadpool(auth_service.resolve_bearer, db, creds.credentials)
    structlog.contextvars.bind_contextvars(user_id=str(principal.user_id))
    request.state.principal = principal
    await run_in_threadpool(
        enforce_rate_limit, f"p:{principal.key}", get_settings().rate_limit_per_minute
    )
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


@dataclass(frozen=True)
class Tenant:
    """The caller inside one workspace, with their role there."""

    principal: Principal
    workspace_id: uuid.UUID
    role: str

    @property
    def user_id(self) -> uuid.UUID:
        return self.principal.user_id

    def require(self, permission: str) -> None:
        if not has_permission(self.role, permission):
            raise Forbidden(
                f"Your role ({self.role}) does not allow this ({permission}).",
                code="insufficient-role",
                permission=permission,
            )


def _enter_sync(db: Session, principal: Principal, workspace_id: uuid.UUID) -> Tenant:
    role = ws_service.membership(db, workspace_id, principal.user_id)
    if role is None:
        # Not 403: another workspace's ids must not be confirmed to exist.
        raise NotFound("No such workspace.")
    enter_tenant(
        db,
        role=get_settings().database_app_role,
        workspace_id=workspace_id,
        user_id=principal.user_id,
    )
    return Tenant(principal=principal, workspace_id=workspace_id, role=role)


async def _enter(
    db: Session, principal: Principal, workspace_id: uuid.UUID, request: Request | None = None
) -> Tenant:
    tenant = await run_in_threadpool(_enter_sync, db, principal, workspace_id)
    structlog.contextvars.bind_contextvars(workspace_id=str(workspace_id))
    if request is not None:
        request.state.workspace_id = workspace_id
    return tenant


async def path_tenant(
    workspace_id: uuid.UUID, request: Request, db: DB, principal: CurrentPrincipal
) -> Tenant:
    """For routes under /workspaces/{workspace_id}/…"""
    return await _enter(db, principal, workspace_id, request)


async def header_tenant(
    request: Request,
    db: DB,
    principal: CurrentPrincipal,
    x_workspace_id: Annotated[
        str | None,
        Header(description="Workspace to act in; optional when the caller belongs to exactly one."),
    ] = None,
) -> Tenant:
    """For workspace-scoped routes such as /projects: the workspace comes from X-Workspace-ID."""
    if x_workspace_id:
        try:
            ws = uuid.UUID(x_workspace_id)
        except ValueError:
            raise BadRequest(
                "X-Workspace-ID must be a workspace id (UUID).", code="invalid-workspace-header"
            ) from None
        return await _enter(db, principal, ws, request)
    mine = await run_in_threadpool(ws_service.list_for_user, db, principal.user_id)
    if len(mine) != 1:
        raise BadRequest(
            "Say which workspace with the X-Workspace-ID header.", code="workspace-required"
        )
    return await _enter(db, principal, mine[0][0].id, request)


PathTenant = Annotated[Tenant, Depends(path_tenant)]
HeaderTenant = Annotated[Tenant, Depends(header_tenant)]


def requires(permission: str) -> Callable[[Tenant], Tenant]:
    def _check(tenant: HeaderTenant) -> Tenant:
        tenant.require(permission)
        return tenant

    return _check


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def auth_rate_limit(request: Request) -> None:
    await run_in_threadpool(
        enforce_rate_limit,
        f"ip:{client_ip(request)}:{request.url.path}",
        get_settings().auth_rate_limit_per_minute,
    )
