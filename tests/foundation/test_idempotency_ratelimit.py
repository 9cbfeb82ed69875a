"""Idempotency-Key replays and conflicts; PostgreSQL token buckets answer 429 with Retry-After."""

from __future__ import annotations

import concurrent.futures as cf

import httpx
import pytest
from sqlalchemy import text

from cliply.db.engine import get_engine
from tests.conftest import reset_caches
from tests.foundation.helpers import signup_login

# Every test here needs the database (or a server process): integration tier.
pytestmark = pytest.mark.integration


def _count_workspaces() -> int:
    with get_engine().connect() as conn:
        return conn.execute(text("SELECT count(*) FROM workspaces")).scalar_one()


def test_same_key_same_body_replays(client):
    acct = signup_login(client)
    h = {**acct.h, "Idempotency-Key": "create-1"}
    r1 = client.post("/api/v1/workspaces", json={"name": "Once"}, headers=h)
    r2 = client.post("/api/v1/workspaces", json={"name": "Once"}, headers=h)
    assert r1.status_code == r2.status_code == 201
    assert r1.json() == r2.json()
    assert r2.headers.get("idempotent-replayed") == "true"
    assert _count_workspaces() == 1


def test_same_key_different_body_is_422(client):
    acct = signup_login(client)
    h = {**acct.h, "Idempotency-Key": "create-2"}
    client.post("/api/v1/workspaces", json={"name": "A"}, headers=h)
    r = client.post("/api/v1/workspaces", json={"name": "B"}, headers=h)
    assert r.status_code == 422
    assert r.json()["type"].endswith("/idempotency-key-reused")
    assert _count_workspaces() == 1


def test_keys_are_per_principal(client):
    a, b = signup_login(client), signup_login(client)
    for acct in (a, b):
        r = client.post(
            "/api/v1/workspaces", json={"name": "Same"}, headers={**acct.h, "Idempotency-Key": "k"}
        )
        assert r.status_code == 201
    assert _count_workspaces() == 2


@pytest.fixture
def live_api(db_url):
    """The app under a real uvicorn server, for concurrent requests."""
    import socket
    import threading
    import time

    import uvicorn

    from cliply.app import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    deadline = time.time() + 20
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    t.join(10)


def test_concurrent_requests_same_key_create_one(live_api):
    with httpx.Client(base_url=live_api, timeout=30) as c:
        from fastapi.testclient import TestClient  # noqa: F401  (signup via real HTTP below)

        email = "conc@example.com"
        c.post("/api/v1/auth/signup", json={"email": email, "password": "correct horse battery"})
        tok = c.post(
            "/api/v1/auth/login", json={"email": email, "password": "correct horse battery"}
        ).json()
        h = {"Authorization": f"Bearer {tok['access_token']}", "Idempotency-Key": "race"}

    def go(_):
        with httpx.Client(base_url=live_api, timeout=30) as c:
            return c.post("/api/v1/workspaces", json={"name": "Race"}, headers=h)

    with cf.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(go, range(8)))
    assert {r.status_code for r in results} == {201}
    assert len({r.json()["id"] for r in results}) == 1
    assert _count_workspaces() == 1


def test_rate_limit_429_with_retry_after(client, monkeypatch):
    monkeypatch.setenv("RATE_LIMIT_PER_MINUTE", "5")
    reset_caches()
    acct = signup_login(client)
    statuses = [client.get("/api/v1/auth/me", headers=acct.h) for _ in range(8)]
    codes = [r.status_code for r in statuses]
    assert codes[:5] == [200] * 5
    assert codes[5:] == [429] * 3
    assert int(statuses[-1].headers["retry-after"]) >= 1
    assert statuses[-1].json()["type"].endswith("/rate-limited")


def test_auth_endpoints_limited_per_ip(client, monkeypatch):
    monkeypatch.setenv("AUTH_RATE_LIMIT_PER_MINUTE", "3")
    reset_caches()
    codes = [
        client.post(
            "/api/v1/auth/login", json={"email": "x@example.com", "password": "whatever12"}
        ).status_code
        for _ in range(5)
    ]
    assert codes == [401, 401, 401, 429, 429]


def test_bucket_is_atomic_under_concurrency(db_url):
    from cliply.api.ratelimit import take

    with cf.ThreadPoolExecutor(8) as pool:
        left = list(pool.map(lambda _: take("conc-bucket", 10), range(40)))
    assert sum(1 for x in left if x >= 0) == 10
