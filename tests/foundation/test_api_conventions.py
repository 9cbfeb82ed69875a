"""problem+json for bad input, request ids, OpenAPI, health, metrics, pagination."""

from __future__ import annotations

import pytest

from tests.foundation.helpers import make_workspace, signup_login

# Every test here needs the database (or a server process): integration tier.
pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"


def _is_problem(r, status, code):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["type"] == f"https://cliply.dev/problems/{code}"
    assert body["status"] == status and body["title"]
    return body


def test_malformed_json_wrong_types_unknown_fields(client):
    acct = signup_login(client)
    h = {**acct.h, "content-type": "application/json"}
    _is_problem(
        client.post("/api/v1/workspaces", content=b"{not json", headers=h), 422, "validation-error"
    )
    _is_problem(
        client.post("/api/v1/workspaces", json={"name": 12}, headers=acct.h),
        422,
        "validation-error",
    )
    body = _is_problem(
        client.post("/api/v1/workspaces", json={"name": "x", "plan": "premium"}, headers=acct.h),
        422,
        "validation-error",
    )
    assert any(e["loc"][-1] == "plan" for e in body["errors"])
    assert client.get("/api/v1/workspaces", headers=acct.h).json() == {
        "items": [],
        "next_cursor": None,
    }


def test_oversized_body_is_413(client):
    acct = signup_login(client)
    big = b'{"name": "' + b"x" * 2_000_000 + b'"}'
    _is_problem(
        client.post(
            "/api/v1/workspaces",
            content=big,
            headers={**acct.h, "content-type": "application/json"},
        ),
        413,
        "payload-too-large",
    )


def test_unknown_route_and_method(client):
    _is_problem(client.get("/api/v1/nope"), 404, "not-found")
    _is_problem(client.put("/api/v1/auth/login", json={}), 405, "method-not-allowed")


def test_request_id_header_is_kept_or_made(client):
    r = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    r = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert r.headers["x-request-id"] != "bad id with spaces"
    assert len(r.headers["x-request-id"]) == 32


def test_openapi_is_complete(client):
    doc = client.get("/api/openapi.json").json()
    assert "HTTPBearer" in doc["components"]["securitySchemes"]
    for path in (
        "/api/v1/auth/signup",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/auth/me",
        "/api/v1/api-keys",
        "/api/v1/workspaces",
        "/api/v1/workspaces/{workspace_id}/members",
        "/api/v1/workspaces/{workspace_id}/invitations",
        "/api/v1/invitations/accept",
    ):
        assert path in doc["paths"], path
    assert doc["paths"]["/api/v1/auth/me"]["get"].get("security")


def test_health_ready_metrics(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["database"] == "ok"
    client.get("/api/v1/auth/me")
    text = client.get("/metrics").text
    assert "cliply_http_requests_total" in text


def test_workspace_list_is_scoped_and_members_paginate(client):
    a = signup_login(client)
    for i in range(3):
        make_workspace(client, a, f"W{i}")
    b = signup_login(client)
    make_workspace(client, b, "other")
    names = [w["name"] for w in client.get("/api/v1/workspaces", headers=a.h).json()["items"]]
    assert names == ["W0", "W1", "W2"]
    # Cursor pages: oldest first, two at a time, stable and complete.
    first = client.get("/api/v1/workspaces?limit=2", headers=a.h).json()
    assert [w["name"] for w in first["items"]] == ["W0", "W1"] and first["next_cursor"]
    rest = client.get(
        "/api/v1/workspaces", params={"limit": 2, "cursor": first["next_cursor"]}, headers=a.h
    ).json()
    assert [w["name"] for w in rest["items"]] == ["W2"] and rest["next_cursor"] is None
    bad = client.get("/api/v1/workspaces", params={"cursor": "not-a-cursor"}, headers=a.h)
    assert bad.status_code == 400


def test_studio_page_and_assets(client):
    import re

    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    r = client.get("/login")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert (
        "script-src 'self'" in csp
        and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    )
    src = re.search(r'<script type="module" src="(/static/dist/app\.js\?v=\w+)">', r.text)
    assert src, "the page loads the bundled app module"
    js = client.get(src[1])
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert client.get("/static/dist/app.css").status_code == 200
