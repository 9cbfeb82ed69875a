"""/api/v1/workspaces: CRUD, members, roles and invitations (thin over workspaces.service)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from cliply.api.deps import DB
from cliply.api.paging import Cursor, Limit
from cliply.auth import service as auth_service
from cliply.auth.deps import CurrentPrincipal
from cliply.config import get_settings
from cliply.db.pagination import Page
from cliply.workspaces import service
from cliply.workspaces.deps import PathTenant
from cliply.workspaces.schemas import (
    AcceptIn,
    InvitationCreated,
    InvitationIn,
    InvitationOut,
    MemberOut,
    RolePatch,
    WorkspaceIn,
    WorkspaceOut,
    WorkspacePatch,
)

router = APIRouter(tags=["workspaces"])


@router.post("/workspaces", status_code=status.HTTP_201_CREATED, response_model=WorkspaceOut)
def create_workspace(body: WorkspaceIn, principal: CurrentPrincipal, db: DB) -> WorkspaceOut:
    ws = service.create_workspace(db, principal.user_id, body.name)
    return WorkspaceOut(
        id=ws.id, name=ws.name, plan=ws.plan, role="owner", created_at=ws.created_at
    )


@router.get("/workspaces", response_model=Page[WorkspaceOut])
def list_workspaces(
    principal: CurrentPrincipal, db: DB, cursor: Cursor = None, limit: Limit = 50
) -> Page[WorkspaceOut]:
    rows, nxt = service.page_for_user(db, principal.user_id, cursor=cursor, limit=limit)
    items = [
        WorkspaceOut(id=w.id, name=w.name, plan=w.plan, role=r, created_at=w.created_at)
        for w, r in rows
    ]
    return Page[WorkspaceOut](items=items, next_cursor=nxt)


@router.get("/workspaces/{workspace_id}", response_model=WorkspaceOut)
def get_workspace(tenant: PathTenant, db: DB) -> WorkspaceOut:
    tenant.require("workspace.read")
    ws = service.get(db, tenant.workspace_id)
    return WorkspaceOut(
        id=ws.id, name=ws.name, plan=ws.plan, role=tenant.role, created_at=ws.created_at
    )


@router.patch("/workspaces/{workspace_id}", response_model=WorkspaceOut)
def update_workspace(body: WorkspacePatch, tenant: PathTenant, db: DB) -> WorkspaceOut:
    tenant.require("workspace.update")
    ws = service.get(db, tenant.workspace_id)
    if body.name is not None:
        ws = service.rename(db, tenant.workspace_id, tenant.user_id, body.name)
    return WorkspaceOut(
        id=ws.id, name=ws.name, plan=ws.plan, role=tenant.role, created_at=ws.created_at
    )


@router.delete("/workspaces/{workspace_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_workspace(tenant: PathTenant, db: DB) -> Response:
    tenant.require("workspace.delete")
    service.delete(db, tenant.workspace_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/workspaces/{workspace_id}/members", response_model=Page[MemberOut])
def list_members(
    tenant: PathTenant, db: DB, cursor: Cursor = None, limit: Limit = 50
) -> Page[MemberOut]:
    tenant.require("members.read")
    rows, nxt = service.list_members(db, tenant.workspace_id, cursor=cursor, limit=limit)
    items = [
        MemberOut(user_id=u.id, email=u.email, name=u.name, role=m.role, joined_at=m.created_at)
        for m, u in rows
    ]
    return Page[MemberOut](items=items, next_cursor=nxt)


@router.patch("/workspaces/{workspace_id}/members/{user_id}", response_model=MemberOut)
def change_role(user_id: uuid.UUID, body: RolePatch, tenant: PathTenant, db: DB) -> MemberOut:
    tenant.require("members.manage")
    m = service.change_role(
        db, tenant.workspace_id, tenant.user_id, tenant.role, user_id, body.role
    )
    u = auth_service.get_user(db, user_id)
    return MemberOut(user_id=u.id, email=u.email, name=u.name, role=m.role, joined_at=m.created_at)


@router.delete(
    "/workspaces/{workspace_id}/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT
)
def remove_member(user_id: uuid.UUID, tenant: PathTenant, db: DB) -> Response:
    if user_id != tenant.user_id:
        tenant.require("members.manage")
    service.remove_member(db, tenant.workspace_id, tenant.user_id, tenant.role, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/workspaces/{workspace_id}/invitations",
    status_code=status.HTTP_201_CREATED,
    response_model=InvitationCreated,
)
def invite(body: InvitationIn, tenant: PathTenant, db: DB) -> InvitationCreated:
    tenant.require("invitations.manage")
    inv, token = service.invite(
        db, tenant.workspace_id, tenant.user_id, tenant.role, body.email, body.role
    )
    url = f"{get_settings().public_base_url.rstrip('/')}/invitations/accept?token={token}"
    return InvitationCreated(
        **InvitationOut.model_validate(inv).model_dump(), token=token, accept_url=url
    )


@router.get("/workspaces/{workspace_id}/invitations", response_model=Page[InvitationOut])
def list_invitations(
    tenant: PathTenant, db: DB, cursor: Cursor = None, limit: Limit = 50
) -> Page[InvitationOut]:
    tenant.require("invitations.manage")
    rows, nxt = service.list_invitations(db, tenant.workspace_id, cursor=cursor, limit=limit)
    items = [InvitationOut.model_validate(i) for i in rows]
    return Page[InvitationOut](items=items, next_cursor=nxt)


@router.delete(
    "/workspaces/{workspace_id}/invitations/{invitation_id}", status_code=status.HTTP_204_NO_CONTENT
)
def revoke_invitation(invitation_id: uuid.UUID, tenant: PathTenant, db: DB) -> Response:
    tenant.require("invitations.manage")
    service.revoke_invitation(db, tenant.workspace_id, invitation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/invitations/accept", response_model=WorkspaceOut)
def accept_invitation(body: AcceptIn, principal: CurrentPrincipal, db: DB) -> WorkspaceOut:
    user = auth_service.get_user(db, principal.user_id)
    m = service.accept_invitation(db, body.token, user)
    ws = service.get(db, m.workspace_id)
    return WorkspaceOut(id=ws.id, name=ws.name, plan=ws.plan, role=m.role, created_at=ws.created_at)
