"""API shapes for workspaces, members and invitations."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from cliply.schemas import Omittable, Strict


class WorkspaceIn(Strict):
    name: str = Field(min_length=1, max_length=200)


class WorkspacePatch(Strict):
    name: Omittable[str] = Field(None, min_length=1, max_length=200)


class WorkspaceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    plan: str
    role: str | None = None
    created_at: datetime


class MemberOut(BaseModel):
    user_id: uuid.UUID
    email: str
    name: str
    role: str
    joined_at: datetime


class RolePatch(Strict):
    role: Literal["owner", "admin", "editor", "viewer"]


class InvitationIn(Strict):
    email: EmailStr
    role: Literal["admin", "editor", "viewer"] = "editor"


class InvitationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    workspace_id: uuid.UUID
    email: str
    role: str
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime


class InvitationCreated(InvitationOut):
    token: str = Field(description="Single-use token for the invitee; shown only once.")
    accept_url: str


class AcceptIn(Strict):
    token: str = Field(min_length=10, max_length=200)
