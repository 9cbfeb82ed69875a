"""Small API helpers for tests: sign up, log in, make a workspace."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"


@dataclass
class Account:
    email: str
    user_id: str
    access: str
    refresh: str

    @property
    def h(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}"}

    def ws(self, workspace_id: str) -> dict[str, str]:
        return {**self.h, "X-Workspace-ID": workspace_id}


def signup_login(client: TestClient, email: str | None = None) -> Account:
    email = email or f"u{uuid.uuid4().hex[:10]}@example.com"
    r = client.post("/api/v1/auth/signup", json={"email": email, "password": PASSWORD})
    assert r.status_code == 201, r.text
    uid = r.json()["id"]
    r = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    t = r.json()
    return Account(email, uid, t["access_token"], t["refresh_token"])


def make_workspace(client: TestClient, acct: Account, name: str = "Team") -> dict[str, Any]:
    r = client.post("/api/v1/workspaces", json={"name": name}, headers=acct.h)
    assert r.status_code == 201, r.text
    return r.json()


def add_member(client: TestClient, owner: Account, ws_id: str, role: str = "editor") -> Account:
    member = signup_login(client)
    r = client.post(
        f"/api/v1/workspaces/{ws_id}/invitations",
        json={"email": member.email, "role": role},
        headers=owner.h,
    )
    assert r.status_code == 201, r.text
    r = client.post(
        "/api/v1/invitations/accept", json={"token": r.json()["token"]}, headers=member.h
    )
    assert r.status_code == 200, r.text
    return member
