"""Roles and the one permission table every check reads."""

from __future__ import annotations

from typing import Literal

Role = Literal["owner", "admin", "editor", "viewer"]
RANK: dict[str, int] = {"viewer": 1, "editor": 2, "admin": 3, "owner": 4}

# permission -> lowest role that has it
PERMISSIONS: dict[str, Role] = {
    "workspace.read": "viewer",
    "workspace.update": "admin",
    "workspace.delete": "owner",
    "members.read": "viewer",
    "members.manage": "admin",
    "invitations.manage": "admin",
    "billing.read": "viewer",
    "billing.manage": "admin",
    "projects.read": "viewer",
    "projects.write": "editor",
    "clips.read": "viewer",
    "clips.write": "editor",
    "jobs.read": "viewer",
    "jobs.manage": "editor",
    "accounts.read": "viewer",
    "accounts.manage": "admin",
    "schedules.read": "viewer",
    "schedules.write": "editor",
    "posts.read": "viewer",
    "experiments.write": "editor",
    "products.write": "editor",
    "brand.read": "viewer",
    "brand.write": "editor",
}


def has_permission(role: str, permission: str) -> bool:
    needed = PERMISSIONS[permission]
    return RANK.get(role, 0) >= RANK[needed]


def can_assign(actor_role: str, target_role: str) -> bool:
    """Admins manage editors and viewers; only owners grant or take admin and owner."""
    if actor_role == "owner":
        return True
    return actor_role == "admin" and RANK[target_role] < RANK["admin"]
