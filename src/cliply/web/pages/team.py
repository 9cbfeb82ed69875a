"""Studio pages: team (members, roles, invitations, leave) and accepting an invitation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from cliply.api.deps import DB
from cliply.auth import service as auth_service
from cliply.auth.permissions import can_assign
from cliply.config import get_settings
from cliply.db.engine import owner_session
from cliply.errors import CliplyError
from cliply.web import session as web_session
from cliply.web.deps import PageRoute, SignedIn, StudioPage, redirect
from cliply.web.mailer import get_mailer
from cliply.web.templating import render
from cliply.workspaces import service as ws_service
from cliply.workspaces.schemas import InvitationIn

router = APIRouter(route_class=PageRoute)
ROLES = ["viewer", "editor", "admin", "owner"]
ROLE_HELP = {
    "viewer": "sees projects, clips and the schedule",
    "editor": "uploads videos, edits and schedules clips",
    "admin": "also manages members, accounts and billing",
    "owner": "everything, including deleting the workspace",
}


def _team(studio: StudioPage, **extra: Any) -> HTMLResponse:
    studio.require("members.read")
    members = ws_service.list_members(studio.db, studio.workspace_id)
    invitations = []
    if studio.can("invitations.manage"):
        now = datetime.now(UTC)
        invitations = [
            i
            for i in ws_service.list_invitations(studio.db, studio.workspace_id)
            if i.accepted_at is None and i.revoked_at is None and i.expires_at > now
        ]
    assignable = [r for r in ROLES if can_assign(studio.role, r)]
    return studio.render(
        "team/index.html",
        members=members,
        invitations=invitations,
        assignable=assignable,
        invite_roles=[r for r in assignable if r != "owner"],
        role_help=ROLE_HELP,
        can_assign=can_assign,
        **extra,
    )


@router.get("/team", response_class=HTMLResponse)
def team(studio: StudioPage) -> HTMLResponse:
    return _team(studio, errors={})


@router.post("/team/invitations", response_class=HTMLResponse)
def invite(
    studio: StudioPage,
    email: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "editor",
) -> HTMLResponse:
    """Invite by email: the invitee gets a mail with the accept link, and the inviter sees
    the link too (to send it another way)."""
    studio.require("invitations.manage")
    try:
        body = InvitationIn.model_validate({"email": email, "role": role})
        inv, token = ws_service.invite(
            studio.db, studio.workspace_id, studio.user_id, studio.role, body.email, body.role
        )
    except ValidationError:
        return _team(studio, errors={"email": "Enter a valid email address."}, email=email)
    except CliplyError as exc:
        return _team(studio, errors={"email": exc.detail}, email=email)
    link = f"{get_settings().public_base_url.rstrip('/')}/invitations/accept?token={token}"
    inviter = studio.session.name or studio.session.email
    get_mailer().send(
        inv.email,
        f"{inviter} invited you to {studio.workspace.name} on Cliply",
        f"{inviter} invited you to join the workspace {studio.workspace.name} on Cliply as "
        f"{inv.role}.\n\nAccept the invitation here (it works once and expires in "
        f"{get_settings().invitation_ttl_s // 86400} days):\n\n{link}\n",
    )
    return _team(studio, errors={}, invited=inv, invite_link=link)


@router.get("/invitations/accept", response_class=HTMLResponse)
def accept_page(request: Request, token: str = "") -> Response:
    with owner_session() as db:
        found = ws_service.peek_invitation(db, token) if token else None
        ctx = {"token": token, "found": found, "now": datetime.now(UTC)}
        return render(request, "team/accept.html", ctx)


@router.post("/invitations/accept")
def accept(request: Request, bs: SignedIn, db: DB, token: Annotated[str, Form()] = "") -> Response:
    user = auth_service.get_user(db, bs.user_id)
    try:
        member = ws_service.accept_invitation(db, token, user)
    except CliplyError as exc:
        with owner_session() as odb:
            found = ws_service.peek_invitation(odb, token)
            ctx = {"token": token, "found": found, "now": datetime.now(UTC), "error": exc.detail}
            return render(request, "team/accept.html", ctx)
    web_session.set_workspace(db, bs.id, member.workspace_id)
    return redirect(request, "/projects?joined=1")


@router.post("/team/leave")
def leave(studio: StudioPage) -> Response:
    ws_service.remove_member(
        studio.db, studio.workspace_id, studio.user_id, studio.role, studio.user_id
    )
    web_session.set_workspace(studio.db, studio.session.id, None)
    return redirect(studio.request, "/projects?left=1")
