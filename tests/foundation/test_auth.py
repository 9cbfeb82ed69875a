"""Sign-up, login, refresh rotation with reuse detection, API keys, token failures."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest

from tests.foundation.helpers import PASSWORD, make_workspace, signup_login

# Every test here needs the database (or a server process): integration tier.
pytestmark = pytest.mark.integration


def test_login_wrong_password_and_unknown_user(client):
    acct = signup_login(client)
    for email, pw in ((acct.email, "wrong-password!"), ("nobody@example.com", PASSWORD)):
        r = client.post("/api/v1/auth/login", json={"email": email, "password": pw})
        assert r.status_code == 401
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["type"].endswith("/invalid-credentials")


def test_duplicate_signup_is_conflict_case_insensitive(client):
    acct = signup_login(client)
    r = client.post("/api/v1/auth/signup", json={"email": acct.email.upper(), "password": PASSWORD})
    assert r.status_code == 409
    assert r.json()["type"].endswith("/email-taken")


def test_me_and_refresh_rotation(client):
    acct = signup_login(client)
    assert client.get("/api/v1/auth/me", headers=acct.h).json()["email"] == acct.email
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": acct.refresh})
    assert r.status_code == 200
    new = r.json()
    assert new["refresh_token"] != acct.refresh
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {new['access_token']}"})
    assert me.status_code == 200


def test_refresh_reuse_revokes_family(client):
    acct = signup_login(client)
    first = client.post("/api/v1/auth/refresh", json={"refresh_token": acct.refresh}).json()
    # The old token again: reuse → 401 and the whole family is revoked.
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": acct.refresh})
    assert r.status_code == 401
    assert r.json()["type"].endswith("/refresh-token-reused")
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 401


def test_logout_revokes_refresh(client):
    acct = signup_login(client)
    assert (
        client.post("/api/v1/auth/logout", json={"refresh_token": acct.refresh}).status_code == 204
    )
    assert (
        client.post("/api/v1/auth/refresh", json={"refresh_token": acct.refresh}).status_code == 401
    )


def test_bad_expired_forged_tokens(client):
    acct = signup_login(client)
    from cliply.keys import app_secret

    sub = acct.user_id
    forged = jwt.encode(
        {
            "sub": sub,
            "exp": int(time.time()) + 60,
            "aud": "cliply-api",
            "iss": "cliply",
            "typ": "access",
        },
        "not-the-secret",
        algorithm="HS256",
    )
    expired = jwt.encode(
        {
            "sub": sub,
            "exp": int(time.time()) - 5,
            "aud": "cliply-api",
            "iss": "cliply",
            "typ": "access",
        },
        app_secret(),
        algorithm="HS256",
    )
    none_alg = jwt.encode(
        {
            "sub": sub,
            "exp": int(time.time()) + 60,
            "aud": "cliply-api",
            "iss": "cliply",
            "typ": "access",
        },
        None,
        algorithm="none",
    )
    for token, code in (
        (forged, "invalid-token"),
        (expired, "token-expired"),
        (none_alg, "invalid-token"),
        ("garbage", "invalid-token"),
    ):
        r = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, token
        assert r.json()["type"].endswith(code)
    assert client.get("/api/v1/auth/me").status_code == 401
    # No debug header bypasses auth.
    r = client.get("/api/v1/auth/me", headers={"X-Debug": "1", "X-User-ID": sub})
    assert r.status_code == 401


def test_api_key_shown_once_hashed_and_revocable(client, db_url):
    acct = signup_login(client)
    r = client.post("/api/v1/api-keys", json={"name": "ci"}, headers=acct.h)
    assert r.status_code == 201
    key = r.json()["key"]
    assert key.startswith("clk_")
    listed = client.get("/api/v1/api-keys", headers=acct.h).json()["items"]
    assert "key" not in listed[0]
    from sqlalchemy import text

    from cliply.db.engine import get_engine

    with get_engine().connect() as conn:
        stored = conn.execute(text("SELECT key_hash FROM api_keys")).scalar_one()
    assert key not in stored and len(stored) == 64
    kh = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/auth/me", headers=kh).json()["id"] == acct.user_id
    make_workspace(client, acct)
    assert client.get("/api/v1/workspaces", headers=kh).status_code == 200
    assert client.delete(f"/api/v1/api-keys/{r.json()['id']}", headers=acct.h).status_code == 204
    assert client.get("/api/v1/auth/me", headers=kh).status_code == 401


def test_unknown_api_key_id_is_404(client):
    acct = signup_login(client)
    r = client.delete(f"/api/v1/api-keys/{uuid.uuid4()}", headers=acct.h)
    assert r.status_code == 404
