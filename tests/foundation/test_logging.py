"""Logs are JSON with request context, and never carry passwords or tokens."""

from __future__ import annotations

import json

import pytest
import structlog

from tests.foundation.helpers import PASSWORD, make_workspace, signup_login

# Every test here needs the database (or a server process): integration tier.
pytestmark = pytest.mark.integration


def _lines(err: str) -> list[dict]:
    out = []
    for line in err.splitlines():
        line = line.strip()
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def test_request_logs_have_context_and_no_secrets(client, capsys):
    acct = signup_login(client)
    ws = make_workspace(client, acct)
    r = client.post("/api/v1/api-keys", json={"name": "k"}, headers=acct.h)
    key = r.json()["key"]
    client.get("/api/v1/workspaces", headers={"Authorization": f"Bearer {key}"})
    client.post("/api/v1/auth/refresh", json={"refresh_token": acct.refresh})
    # A careless log call somewhere must still not leak.
    structlog.get_logger().info(
        "debugging",
        authorization=f"Bearer {acct.access}",
        note=f"token was {acct.access} and key {key}",
        payload={"password": PASSWORD, "refresh_token": acct.refresh},
    )
    err = capsys.readouterr().err
    for secret in (PASSWORD, acct.access, acct.refresh, key):
        assert secret not in err
    lines = _lines(err)
    reqs = [entry for entry in lines if entry.get("event") == "request"]
    assert reqs and all(entry.get("request_id") for entry in reqs)
    assert any(entry.get("user_id") == acct.user_id for entry in reqs)
    assert ws["id"]
