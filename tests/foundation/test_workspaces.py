"""Workspaces, roles, invitations; other workspaces' ids answer 404; viewers cannot administer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from cliply.db.engine import get_engine
from tests.foundation.helpers import add_member, make_workspace, signup_login

# Every test here needs the database (or a server process): integration tier.
pytestmark = pytest.mark.integration


def test_other_workspace_is_404_not_403(client):
    a, b = signup_login(client), signup_login(client)
    wa = make_workspace(client, a)
    for method, path in (
        ("get", ""),
        ("get", "/members"),
        ("patch", ""),
        ("delete", ""),
        ("get", "/invitations"),
    ):
        r = client.request(
            method.upper(),
            f"/api/v1/workspaces/{wa['id']}{path}",
            headers=b.h,
            json={"name": "x"} if method == "patch" else None,
        )
        assert r.status_code == 404, (method, path, r.text)
    r = client.get(f"/api/v1/workspaces/{uuid.uuid4()}", headers=a.h)
    assert r.status_code == 404


def test_viewer_cannot_administer(client):
    owner = signup_login(client)
    ws = make_workspace(client, owner)
    viewer = add_member(client, owner, ws["id"], "viewer")
    r = client.patch(f"/api/v1/workspaces/{ws['id']}", json={"name": "mine"}, headers=viewer.h)
    assert r.status_code == 403
    assert r.json()["type"].endswith("/insufficient-role")
    r = client.post(
        f"/api/v1/workspaces/{ws['id']}/invitations",
        json={"email": "x@example.com", "role": "viewer"},
        headers=viewer.h,
    )
    assert r.status_code == 403
    r = client.patch(
        f"/api/v1/workspaces/{ws['id']}/members/{viewer.user_id}",
        json={"role": "owner"},
        headers=viewer.h,
    )
    assert r.status_code == 403
    # Nothing changed.
    assert client.get(f"/api/v1/workspaces/{ws['id']}", headers=owner.h).json()["name"] == "Team"


def test_admin_cannot_grant_owner_but_owner_can(client):
    owner = signup_login(client)
    ws = make_workspace(client, owner)
    admin = add_member(client, owner, ws["id"], "admin")
    editor = add_member(client, owner, ws["id"], "editor")
    url = f"/api/v1/workspaces/{ws['id']}/members/{editor.user_id}"
    assert client.patch(url, json={"role": "owner"}, headers=admin.h).status_code == 403
    assert client.patch(url, json={"role": "viewer"}, headers=admin.h).status_code == 200
    assert client.patch(url, json={"role": "admin"}, headers=owner.h).json()["role"] == "admin"


def test_last_owner_cannot_leave(client):
    owner = signup_login(client)
    ws = make_workspace(client, owner)
    r = client.delete(f"/api/v1/workspaces/{ws['id']}/members/{owner.user_id}", headers=owner.h)
    assert r.status_code == 409
    assert r.json()["type"].endswith("/last-owner")


def test_invitation_single_use_expiry_and_email_match(client):
    owner = signup_login(client)
    ws = make_workspace(client, owner)
    invitee, stranger = signup_login(client), signup_login(client)
    inv = client.post(
        f"/api/v1/workspaces/{ws['id']}/invitations",
        json={"email": invitee.email, "role": "editor"},
        headers=owner.h,
    ).json()
    r = client.post("/api/v1/invitations/accept", json={"token": inv["token"]}, headers=stranger.h)
    assert r.status_code == 403
    r = client.post("/api/v1/invitations/accept", json={"token": inv["token"]}, headers=invitee.h)
    assert r.status_code == 200 and r.json()["role"] == "editor"
    r = client.post("/api/v1/invitations/accept", json={"token": inv["token"]}, headers=invitee.h)
    assert r.status_code == 410
    assert r.json()["type"].endswith("/invitation-used")
    # Expired invitation.
    third = signup_login(client)
    inv2 = client.post(
        f"/api/v1/workspaces/{ws['id']}/invitations",
        json={"email": third.email, "role": "viewer"},
        headers=owner.h,
    ).json()
    with get_engine().begin() as conn:
        conn.execute(
            text("UPDATE invitations SET expires_at = :t WHERE id = :i"),
            {"t": datetime.now(UTC) - timedelta(seconds=1), "i": inv2["id"]},
        )
    r = client.post("/api/v1/invitations/accept", json={"token": inv2["token"]}, headers=third.h)
    assert r.status_code == 410
    assert r.json()["type"].endswith("/invitation-expired")
    # Forged token.
    r = client.post(
        "/api/v1/invitations/accept", json={"token": "cli_" + "x" * 40}, headers=third.h
    )
    assert r.status_code == 404


def test_audit_log_records_changes(client):
    owner = signup_login(client)
    ws = make_workspace(client, owner)
    client.patch(f"/api/v1/workspaces/{ws['id']}", json={"name": "Renamed"}, headers=owner.h)
    with get_engine().connect() as conn:
        actions = conn.execute(text("SELECT action FROM audit_log ORDER BY id")).scalars().all()
    assert actions == ["workspace.create", "workspace.update"]
