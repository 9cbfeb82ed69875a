"""FastAPI dependencies: the caller inside one workspace (`Tenant`).

Identity and membership are read first, as the owner role (the caller's workspace is not
known yet); then the request's transaction switches to the restricted role with
`app.workspace_id` set, so row-level security backs every later query.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

import structlog
from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from cliply.api.deps import DB
from cliply.auth.deps import CurrentPrincipal
from cliply.auth.permissions import has_permission
from cliply.auth.service import Principal
from cliply.config import get_settings
from cliply.db.tenancy import enter_tenant
from cliply.errors import BadRequest, Forbidden, NotFound
from cliply.workspaces import service as ws_service


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


# Async (like `current_principal`) so the workspace_id bound to the log context lives in the
# request's task; the database work runs in the threadpool.
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
