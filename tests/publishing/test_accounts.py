"""Connecting TikTok and YouTube accounts through the OAuth flows of the fakes; state
checks, denied consent, plan limit, disconnect, token refresh (periodic and permanent
failure), tokens encrypted at rest."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import update
from tests.publishing.helpers import (
    World,
    account_row,
    connect,
    consent,
    set_plan,
    start_connect,
)

from cliply.accounts.models import ConnectedAccount
from cliply.accounts.tasks import refresh_tokens
from cliply.accounts.tokens import ACCESS, account_aad, keyring
from cliply.crypto import sign_state
from cliply.db.engine import owner_session
from cliply.keys import app_secret

# Every test here needs the database (or a server process): integration tier.
pytestmark = pytest.mark.integration


def test_connect_tiktok_and_youtube(world: World) -> None:
    tiktok = connect(world, "tiktok")
    youtube = connect(world, "youtube")
    fakes = world.fakes

    assert tiktok["platform"] == "tiktok" and tiktok["status"] == "active"
    assert tiktok["external_id"] == fakes.tiktok.config.open_id
    assert tiktok["display_name"] == "Cliply Creator"
    assert tiktok["info"]["username"] == fakes.tiktok.config.username
    assert "video.publish" in tiktok["scopes"]
    assert youtube["external_id"] == fakes.google.config.channel_id
    assert any(s.endswith("youtube.upload") for s in youtube["scopes"])

    # The consent requests carried PKCE and Google's offline access.
    tt_req = fakes.tiktok.authorize_requests[-1]
    assert tt_req["code_challenge_method"] == "S256" and len(tt_req["code_challenge"]) == 64
    g_req = fakes.google.authorize_requests[-1]
    assert g_req["access_type"] == "offline" and g_req["code_challenge_method"] == "S256"
    assert g_req["redirect_uri"].endswith("/api/v1/accounts/youtube/callback")

    listed = world.api.get("/api/v1/accounts", headers=world.h)
    assert listed.status_code == 200
    body = listed.text
    assert {a["platform"] for a in listed.json()["items"]} == {"tiktok", "youtube"}
    assert "token" not in body.replace("token_expires", "")  # no token field, no token value

    # At rest: ciphertexts under the current key, bound to the row, decryptable.
    ring = keyring()
    for account in (tiktok, youtube):
        row = account_row(account["id"])
        assert row.access_token_enc.startswith(f"v1:{ring.current}:")
        assert row.refresh_token_enc.startswith(f"v1:{ring.current}:")
        token = ring.decrypt_text(
            row.access_token_enc, account_aad(row.workspace_id, row.id, ACCESS)
        )
        assert token not in row.access_token_enc
    tt_row = account_row(tiktok["id"])
    tt_token = ring.decrypt_text(
        tt_row.access_token_enc, account_aad(tt_row.workspace_id, tt_row.id, ACCESS)
    )
    assert tt_token in fakes.tiktok.access_tokens


def test_reconnecting_the_same_account_updates_it(world: World) -> None:
    first = connect(world, "tiktok")
    again = connect(world, "tiktok")
    assert again["id"] == first["id"]
    listed = world.api.get("/api/v1/accounts", headers=world.h).json()["items"]
    assert len(listed) == 1


def test_forged_state_is_refused(world: World) -> None:
    callback = consent(start_connect(world, "tiktok"))
    parsed = urlparse(callback)
    q = {k: v[0] for k, v in parse_qs(parsed.query).items()}
    body, _, mac = q["state"].partition(".")
    forged = f"{body}.{mac[:-2]}AA"
    r = world.api.get(parsed.path, params={"code": q["code"], "state": forged})
    assert r.status_code == 400
    assert r.json()["type"].endswith("/oauth-state-invalid")
    # Signed with someone else's secret, naming our workspace.
    other = sign_state({"w": str(world.workspace_id), "p": "tiktok"}, "x" * 32, 600)
    r = world.api.get(parsed.path, params={"code": q["code"], "state": other})
    assert r.status_code == 400 and r.json()["type"].endswith("/oauth-state-invalid")
    # Signed by us but never issued (no nonce row): refused as well.
    unissued = sign_state({"w": str(world.workspace_id), "p": "tiktok"}, app_secret(), 600)
    r = world.api.get(parsed.path, params={"code": q["code"], "state": unissued})
    assert r.status_code == 400
    assert world.api.get("/api/v1/accounts", headers=world.h).json()["items"] == []


def test_replayed_state_is_refused(world: World) -> None:
    callback = consent(start_connect(world, "youtube"))
    assert world.api.get(callback).status_code == 200
    r = world.api.get(callback)
    assert r.status_code == 400
    assert r.json()["type"].endswith("/oauth-state-replayed")


def test_expired_state_is_refused(world: World) -> None:
    callback = consent(start_connect(world, "tiktok"))
    parsed = urlparse(callback)
    q = {k: v[0] for k, v in parse_qs(parsed.query).items()}
    old = sign_state(
        {"w": str(world.workspace_id), "p": "tiktok"}, app_secret(), 60, now=time.time() - 3600
    )
    r = world.api.get(parsed.path, params={"code": q["code"], "state": old})
    assert r.status_code == 400
    assert r.json()["type"].endswith("/oauth-state-expired")


def test_state_for_another_platform_is_refused(world: World) -> None:
    callback = consent(start_connect(world, "tiktok"))
    r = world.api.get(callback.replace("/accounts/tiktok/", "/accounts/youtube/"))
    assert r.status_code == 400
    assert r.json()["type"].endswith("/oauth-state-invalid")


def test_denied_consent_is_a_clear_error(world: World) -> None:
    url = start_connect(world, "tiktok")
    state = parse_qs(urlparse(url).query)["state"][0]
    r = world.api.get(
        "/api/v1/accounts/tiktok/callback",
        params={"error": "access_denied", "error_description": "User cancelled", "state": state},
    )
    assert r.status_code == 400
    problem = r.json()
    assert problem["type"].endswith("/oauth-access-denied")
    assert "User cancelled" in problem["detail"]
    assert world.api.get("/api/v1/accounts", headers=world.h).json()["items"] == []
    # The state was consumed: it cannot be used afterwards either.
    r = world.api.get("/api/v1/accounts/tiktok/callback", params={"code": "x", "state": state})
    assert r.status_code == 400 and r.json()["type"].endswith("/oauth-state-replayed")


def test_connect_needs_permission_and_plan_room(world: World) -> None:
    set_plan(world.workspace_id, "basic")  # one connected account
    connect(world, "tiktok")
    r = world.api.post("/api/v1/accounts/youtube/connect", headers=world.h)
    assert r.status_code == 402
    assert r.json()["type"].endswith("/plan-limit-exceeded")
    # A name no adapter is registered under never takes another platform's path.
    r = world.api.post("/api/v1/accounts/myspace/connect", headers=world.h)
    assert r.status_code == 404
    assert r.json()["type"].endswith("/unknown-platform")
    r = world.api.get("/api/v1/accounts/myspace/callback?code=x&state=y")
    assert r.status_code == 404


def test_disconnect_revokes_and_wipes_tokens(world: World) -> None:
    account = connect(world, "tiktok")
    yt = connect(world, "youtube")
    row = account_row(account["id"])
    token = keyring().decrypt_text(
        row.access_token_enc, account_aad(row.workspace_id, row.id, ACCESS)
    )
    r = world.api.delete(f"/api/v1/accounts/{account['id']}", headers=world.h)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "disconnected"
    assert world.fakes.tiktok.access_tokens[token].grant.revoked
    row = account_row(account["id"])
    assert row.access_token_enc is None and row.refresh_token_enc is None
    r = world.api.delete(f"/api/v1/accounts/{yt['id']}", headers=world.h)
    assert r.status_code == 200
    assert all(g.revoked for g in world.fakes.google.refresh_tokens.values())
    listed = {
        a["id"]: a for a in world.api.get("/api/v1/accounts", headers=world.h).json()["items"]
    }
    assert listed[account["id"]]["status"] == "disconnected"
    # Another workspace cannot see or touch it.
    r = world.api.delete(f"/api/v1/accounts/{uuid.uuid4()}", headers=world.h)
    assert r.status_code == 404


def _expire_in_db(account_id: str) -> None:
    with owner_session() as db:
        db.execute(
            update(ConnectedAccount)
            .where(ConnectedAccount.id == uuid.UUID(account_id))
            .values(access_expires_at=datetime.now(UTC) + timedelta(seconds=30))
        )


def test_periodic_refresh_renews_expiring_tokens(world: World) -> None:
    tiktok = connect(world, "tiktok")
    youtube = connect(world, "youtube")
    before = {a["id"]: account_row(a["id"]).access_token_enc for a in (tiktok, youtube)}
    _expire_in_db(tiktok["id"])
    _expire_in_db(youtube["id"])
    assert refresh_tokens() == 2
    for account_id, old in before.items():
        row = account_row(account_id)
        assert row.access_token_enc != old
        assert row.status == "active"
        assert row.access_expires_at > datetime.now(UTC) + timedelta(minutes=30)
    # Nothing is due any more.
    assert refresh_tokens() == 0


def test_permanent_refresh_failure_asks_for_reconnect(world: World) -> None:
    tiktok = connect(world, "tiktok")
    world.fakes.tiktok.refresh_tokens.clear()  # the grant is gone at TikTok
    _expire_in_db(tiktok["id"])
    refresh_tokens()
    listed = world.api.get("/api/v1/accounts", headers=world.h).json()["items"]
    assert listed[0]["status"] == "needs_reconnect"
    assert "refresh" in listed[0]["status_reason"].lower()
    # Reconnecting makes it active again.
    again = connect(world, "tiktok")
    assert again["id"] == tiktok["id"] and again["status"] == "active"
    assert again["status_reason"] is None


def test_reconnect_is_allowed_at_the_plan_limit(world: World) -> None:
    set_plan(world.workspace_id, "basic")  # one connected account
    tiktok = connect(world, "tiktok")
    world.fakes.tiktok.refresh_tokens.clear()
    _expire_in_db(tiktok["id"])
    refresh_tokens()
    assert account_row(tiktok["id"]).status == "needs_reconnect"
    again = connect(world, "tiktok")  # still one account: allowed
    assert again["id"] == tiktok["id"] and again["status"] == "active"
    r = world.api.post("/api/v1/accounts/tiktok/connect", headers=world.h)
    assert r.status_code == 402


def test_callback_redirects_to_the_given_path(world: World) -> None:
    r = world.api.post(
        "/api/v1/accounts/youtube/connect",
        json={"redirect_after": "/settings/accounts"},
        headers=world.h,
    )
    assert r.status_code == 200
    callback = consent(r.json()["authorize_url"])
    r = world.api.get(callback, follow_redirects=False)
    assert r.status_code == 303
    location = r.headers["location"]
    assert location.startswith("/settings/accounts?connected=youtube&account_id=")
    r = world.api.post(
        "/api/v1/accounts/youtube/connect",
        json={"redirect_after": "https://evil.example/"},
        headers=world.h,
    )
    assert r.status_code == 400 and r.json()["type"].endswith("/invalid-redirect-after")


def test_unconfigured_platform_is_503(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import reset_caches

    monkeypatch.setenv("TIKTOK_CLIENT_KEY", "")
    reset_caches()
    r = world.api.post("/api/v1/accounts/tiktok/connect", headers=world.h)
    assert r.status_code == 503 and r.json()["type"].endswith("/platform-not-configured")
