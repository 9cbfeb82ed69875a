"""Workspaces, membership, roles and invitations. Every query is scoped to one workspace."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cliply.audit.service import record
from cliply.auth import security
from cliply.auth.models import User
from cliply.auth.permissions import can_assign
from cliply.config import get_settings
from cliply.errors import Conflict, Forbidden, Gone, NotFound
from cliply.workspaces.models import Invitation, Workspace, WorkspaceMember


def _now() -> datetime:
    return datetime.now(UTC)


def create_workspace(db: Session, user_id: uuid.UUID, name: str) -> Workspace:
    ws = Workspace(name=name, created_by=user_id, plan=get_settings().default_plan)
    db.add(ws)
    db.flush()
    db.add(WorkspaceMember(workspace_id=ws.id, user_id=user_id, role="owner"))
    record(
        db,
        "workspace.create",
        workspace_id=ws.id,
        user_id=user_id,
        target_type="workspace",
        target_id=ws.id,
    )
    db.flush()
    return ws


def membership(db: Session, workspace_id: uuid.UUID, user_id: uuid.UUID) -> str | None:
    return db.scalar(
        select(WorkspaceMember.role).where(
            WorkspaceMember.workspace_id == workspace_id, WorkspaceMember.user_id == user_id
        )
    )


def list_for_user(db: Session, user_id: uuid.UUID) -> list[tuple[Workspace, str]]:
    rows = db.execute(
        select(Workspace, WorkspaceMember.role)
        .join(WorkspaceMember, WorkspaceMember.workspace_id == Workspace.id)
        .where(WorkspaceMember.user_id == user_id)
        .order_by(Workspace.created_at)
    ).all()
    return [(w, r) for w, r in rows]


def get(db: Session, workspace_id: uuid.UUID) -> Workspace:
    ws = db.get(Workspace, workspace_id)
    if ws is None:
        raise NotFound("No such workspace.")
    return ws


def set_plan(db: Session, workspace_id: uuid.UUID, plan: str) -> str | None:
    """Record the plan billing resolved (shown on the workspace); returns the plan it replaced
    when it changed, else None."""
    ws = db.get(Workspace, workspace_id)
    if ws is None or ws.plan == plan:
        return None
    before, ws.plan = ws.plan, plan
    db.flush()
    return before


def link_stripe_customer(db: Session, workspace_id: uuid.UUID, customer: str | None) -> None:
    """Remember the workspace's Stripe customer, once, unless another workspace has it."""
    ws = db.get(Workspace, workspace_id)
    if ws is None or not customer or ws.stripe_customer_id:
        return
    taken = db.scalar(select(Workspace.id).where(Workspace.stripe_customer_id == customer))
    if taken is None:
        ws.stripe_customer_id = customer
        db.flush()


def rename(db: Session, workspace_id: uuid.UUID, user_id: uuid.UUID, name: str) -> Workspace:
    ws = get(db, workspace_id)
    ws.name = name
    record(
        db,
        "workspace.update",
        workspace_id=ws.id,
        user_id=user_id,
        target_type="workspace",
        target_id=ws.id,
        data={"name": name},
    )
    db.flush()
    return ws


def delete(db: Session, workspace_id: uuid.UUID) -> None:
    db.delete(get(db, workspace_id))
    db.flush()


def list_members(db: Session, workspace_id: uuid.UUID) -> list[tuple[WorkspaceMember, User]]:
    rows = db.execute(
        select(WorkspaceMember, User)
        .join(User, User.id == WorkspaceMember.user_id)
        .where(WorkspaceMember.workspace_id == workspace_id)
        .order_by(WorkspaceMember.created_at)
    ).all()
    return [(m, u) for m, u in rows]


def _member(db: Session, workspace_id: uuid.UUID, user_id: uuid.UUID) -> WorkspaceMember:
    m = db.scalar(
        select(WorkspaceMember)
        .where(WorkspaceMember.workspace_id == workspace_id, WorkspaceMember.user_id == user_id)
        .with_for_update()
    )
    if m is None:
        raise NotFound("No such member.")
    return m


def _owner_count(db: Session, workspace_id: uuid.UUID) -> int:
    return (
        db.scalar(
            select(func.count())
            .select_from(WorkspaceMember)
            .where(WorkspaceMember.workspace_id == workspace_id, WorkspaceMember.role == "owner")
        )
        or 0
    )


def change_role(
    db: Session,
    workspace_id: uuid.UUID,
    actor_id: uuid.UUID,
    actor_role: str,
    user_id: uuid.UUID,
    role: str,
) -> WorkspaceMember:
    m = _member(db, workspace_id, user_id)
    if not (can_assign(actor_role, m.role) and can_assign(actor_role, role)):
        raise Forbidden("Your role cannot grant or change this role.", code="role-not-allowed")
    if m.role == "owner" and role != "owner" and _owner_count(db, workspace_id) <= 1:
        raise Conflict("A workspace needs at least one owner.", code="last-owner")
    old, m.role = m.role, role
    record(
        db,
        "member.role",
        workspace_id=workspace_id,
        user_id=actor_id,
        target_type="user",
        target_id=user_id,
        data={"from": old, "to": role},
    )
    db.flush()
    return m


def remove_member(
    db: Session, workspace_id: uuid.UUID, actor_id: uuid.UUID, actor_role: str, user_id: uuid.UUID
) -> None:
    m = _member(db, workspace_id, user_id)
    if user_id != actor_id and not can_assign(actor_role, m.role):
        raise Forbidden("Your role cannot remove this member.", code="role-not-allowed")
    if m.role == "owner" and _owner_count(db, workspace_id) <= 1:
        raise Conflict("A workspace needs at least one owner.", code="last-owner")
    db.delete(m)
    record(
        db,
        "member.remove",
        workspace_id=workspace_id,
        user_id=actor_id,
        target_type="user",
        target_id=user_id,
    )
    db.flush()


def invite(
    db: Session,
    workspace_id: uuid.UUID,
    actor_id: uuid.UUID,
    actor_role: str,
    email: str,
    role: str,
) -> tuple[Invitation, str]:
    if not can_assign(actor_role, role):
        raise Forbidden("Your role cannot invite with this role.", code="role-not-allowed")
    already = db.scalar(
        select(User.id)
        .join(WorkspaceMember, WorkspaceMember.user_id == User.id)
        .where(
            WorkspaceMember.workspace_id == workspace_id, func.lower(User.email) == email.lower()
        )
    )
    if already:
        raise Conflict("This person is already a member.", code="already-member")
    token = security.new_token(security.INVITE_PREFIX)
    inv = Invitation(
        workspace_id=workspace_id,
        email=email,
        role=role,
        invited_by=actor_id,
        token_hash=security.token_hash(token),
        expires_at=_now() + timedelta(seconds=get_settings().invitation_ttl_s),
    )
    db.add(inv)
    db.flush()
    record(
        db,
        "invitation.create",
        workspace_id=workspace_id,
        user_id=actor_id,
        target_type="invitation",
        target_id=inv.id,
        data={"email": email, "role": role},
    )
    return inv, token


def list_invitations(db: Session, workspace_id: uuid.UUID) -> list[Invitation]:
    return list(
        db.scalars(
            select(Invitation)
            .where(Invitation.workspace_id == workspace_id)
            .order_by(Invitation.created_at.desc())
        )
    )


def revoke_invitation(db: Session, workspace_id: uuid.UUID, invitation_id: uuid.UUID) -> None:
    inv = db.scalar(
        select(Invitation).where(
            Invitation.id == invitation_id, Invitation.workspace_id == workspace_id
        )
    )
    if inv is None:
        raise NotFound("No such invitation.")
    if inv.accepted_at is None and inv.revoked_at is None:
        inv.revoked_at = _now()


def accept_invitation(db: Session, token: str, user: User) -> WorkspaceMember:
    """Single use: the row lock and `accepted_at` make a second acceptance fail.

    Runs as the owner role: the invitee is not yet a member of the workspace.
    """
    inv = db.scalar(
        select(Invitation)
        .where(Invitation.token_hash == security.token_hash(token))
        .with_for_update()
    )
    if inv is None or inv.revoked_at is not None:
        raise NotFound("No such invitation.", code="invitation-invalid")
    if inv.accepted_at is not None:
        raise Gone("This invitation has already been used.", code="invitation-used")
    if inv.expires_at <= _now():
        raise Gone("This invitation has expired.", code="invitation-expired")
    if inv.email.lower() != user.email.lower():
        raise Forbidden(
            "This invitation was sent to another email address.", code="invitation-email-mismatch"
        )
    inv.accepted_at, inv.accepted_by = _now(), user.id
    existing = db.scalar(
        select(WorkspaceMember).where(
            WorkspaceMember.workspace_id == inv.workspace_id, WorkspaceMember.user_id == user.id
        )
    )
    if existing is not None:
        return existing
    m = WorkspaceMember(workspace_id=inv.workspace_id, user_id=user.id, role=inv.role)
    db.add(m)
    record(
        db,
        "invitation.accept",
        workspace_id=inv.workspace_id,
        user_id=user.id,
        target_type="invitation",
        target_id=inv.id,
    )
    db.flush()
    return m


def peek_invitation(db: Session, token: str) -> tuple[Invitation, Workspace] | None:
    """The invitation behind a token and its workspace, to show before accepting (owner role:
    the visitor is not a member yet). None when unknown or revoked."""
    row = db.execute(
        select(Invitation, Workspace)
        .join(Workspace, Workspace.id == Invitation.workspace_id)
        .where(Invitation.token_hash == security.token_hash(token))
    ).first()
    if row is None or row[0].revoked_at is not None:
        return None
    return row[0], row[1]
