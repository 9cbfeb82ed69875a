"""A 2xx means committed: the request's transaction ends before its response is sent."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import text

from cliply.db.engine import get_engine
from tests.foundation.helpers import PASSWORD

# Every test here needs the database (or a server process): integration tier.
pytestmark = pytest.mark.integration

ROUNDS = 40


def _login(base: str) -> dict[str, str]:
    email = f"u{uuid.uuid4().hex[:10]}@example.com"
    with httpx.Client(base_url=base, timeout=30) as c:
        r = c.post("/api/v1/auth/signup", json={"email": email, "password": PASSWORD})
        assert r.status_code == 201, r.text
        r = c.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_write_then_read_through_another_connection(live: str) -> None:
    """Create a key → use it at once; revoke it → the next request with it is refused.

    The writer and the reader are two clients (two connections, so two server tasks); each
    read starts the moment the write's response arrives.
    """
    jwt = _login(live)
    stale: list[str] = []
    with (
        httpx.Client(base_url=live, timeout=30) as writer,
        httpx.Client(base_url=live, timeout=30) as reader,
    ):
        for i in range(ROUNDS):
            r = writer.post("/api/v1/api-keys", json={"name": f"k{i}"}, headers=jwt)
            assert r.status_code == 201, r.text
            key, key_id = r.json()["key"], r.json()["id"]
            used = reader.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {key}"})
            if used.status_code != 200:
                stale.append(f"round {i}: new key answered {used.status_code}")
            r = writer.delete(f"/api/v1/api-keys/{key_id}", headers=jwt)
            assert r.status_code == 204, r.text
            used = reader.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {key}"})
            if used.status_code != 401:
                stale.append(f"round {i}: revoked key answered {used.status_code}")
    assert not stale, stale


def test_a_failed_commit_is_answered_with_an_error(live: str) -> None:
    """A commit that fails must not have been announced as a success.

    A deferred constraint trigger makes the COMMIT of any new API key fail (it runs at commit
    time, after the route returned): the client must get an error, and no key exists.
    """
    jwt = _login(live)
    ddl_up = [
        "CREATE OR REPLACE FUNCTION cliply_test_refuse_commit() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$",
        "CREATE CONSTRAINT TRIGGER cliply_test_refuse_commit AFTER INSERT ON api_keys "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION cliply_test_refuse_commit()",
    ]
    ddl_down = [
        "DROP TRIGGER IF EXISTS cliply_test_refuse_commit ON api_keys",
        "DROP FUNCTION IF EXISTS cliply_test_refuse_commit()",
    ]
    with get_engine().begin() as conn:
        for stmt in ddl_up:
            conn.execute(text(stmt))
    try:
        with httpx.Client(base_url=live, timeout=30) as c:
            r = c.post("/api/v1/api-keys", json={"name": "doomed"}, headers=jwt)
            listed = c.get("/api/v1/api-keys", headers=jwt)
    finally:
        with get_engine().begin() as conn:
            for stmt in ddl_down:
                conn.execute(text(stmt))
    assert r.status_code >= 500, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/problem+json")
    assert listed.status_code == 200 and listed.json()["items"] == []
