"""/api/v1/jobs: list with filters and cursor, detail with timeline, cancel, retry, tenancy."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from cliply.db.engine import get_engine, owner_session
from cliply.jobs import queue
from tests.foundation.helpers import add_member, make_workspace, signup_login

# Every test here needs the database (or a server process): integration tier.
pytestmark = pytest.mark.integration


def _project(ws: str) -> uuid.UUID:
    with get_engine().begin() as conn:
        return conn.execute(
            text(
                "INSERT INTO projects (workspace_id, name, source_type) VALUES (:ws, 'p', 'upload') "
                "RETURNING id"
            ),
            {"ws": ws},
        ).scalar_one()


def _enqueue(ws: str, kind: str = "T_NOOP", **kw: object) -> str:
    with owner_session() as db:
        job = queue.enqueue(
            db,
            kind,
            kw.pop("payload", {"a": 1}),  # type: ignore[arg-type]
            workspace_id=uuid.UUID(ws),
            **kw,
        )  # type: ignore[arg-type]
        return str(job.id)


def _claim_and_fail(job_id: str) -> None:
    with get_engine().begin() as conn:
        [job] = queue.claim(conn, "w-test", ["T_FAIL"], 1).jobs
        assert str(job.id) == job_id
        queue.fail(
            conn,
            job.id,
            "w-test",
            job.attempt,
            "upstream said no",
            code="upstream-503",
            permanent=True,
        )


def test_list_filter_paginate_and_detail(client):
    owner = signup_login(client)
    ws = make_workspace(client, owner)["id"]
    project = _project(ws)
    in_project = [_enqueue(ws, project_id=project) for _ in range(3)]
    other_kind = _enqueue(ws, kind="T_FAIL")
    h = owner.ws(ws)

    r = client.get("/api/v1/jobs", headers=h, params={"limit": 2})
    assert r.status_code == 200, r.text
    page1 = r.json()
    assert len(page1["items"]) == 2 and page1["next_cursor"]
    r = client.get("/api/v1/jobs", headers=h, params={"limit": 2, "cursor": page1["next_cursor"]})
    page2 = r.json()
    seen = [j["id"] for j in page1["items"] + page2["items"]]
    assert sorted(seen) == sorted([*in_project, other_kind]) and page2["next_cursor"] is None

    r = client.get("/api/v1/jobs", headers=h, params={"project_id": str(project)})
    assert sorted(j["id"] for j in r.json()["items"]) == sorted(in_project)
    r = client.get("/api/v1/jobs", headers=h, params={"kind": "T_FAIL"})
    assert [j["id"] for j in r.json()["items"]] == [other_kind]
    r = client.get("/api/v1/jobs", headers=h, params={"status": "failed"})
    assert r.json()["items"] == []
    r = client.get("/api/v1/jobs", headers=h, params={"status": "exploded"})
    assert r.status_code == 422
    r = client.get("/api/v1/jobs", headers=h, params={"cursor": "not-a-cursor"})
    assert r.status_code == 400 and r.json()["type"].endswith("/invalid-cursor")

    _claim_and_fail(other_kind)
    r = client.get(f"/api/v1/jobs/{other_kind}", headers=h)
    assert r.status_code == 200
    d = r.json()
    assert (d["status"], d["error_code"], d["attempts"]) == ("failed", "upstream-503", 1)
    assert d["payload"] == {"a": 1}
    assert [e["event"] for e in d["events"]] == ["enqueued", "started", "failed"]
    assert d["events"][1]["worker_id"] == "w-test" and d["events"][2]["attempt"] == 1


def test_cancel_and_retry(client):
    owner = signup_login(client)
    ws = make_workspace(client, owner)["id"]
    h = owner.ws(ws)
    queued = _enqueue(ws)
    r = client.post(f"/api/v1/jobs/{queued}/cancel", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled"
    assert [e["event"] for e in r.json()["events"]] == ["enqueued", "cancelled"]

    failed = _enqueue(ws, kind="T_FAIL")
    _claim_and_fail(failed)
    r = client.post(f"/api/v1/jobs/{failed}/cancel", headers=h)
    assert r.status_code == 409 and r.json()["type"].endswith("/job-not-cancellable")
    r = client.post(f"/api/v1/jobs/{failed}/retry", headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["attempts"]) == ("queued", 0)
    assert body["events"][-1]["event"] == "retried"
    r = client.post(f"/api/v1/jobs/{failed}/retry", headers=h)
    assert r.status_code == 409 and r.json()["type"].endswith("/job-not-retryable")

    viewer = add_member(client, owner, ws, role="viewer")
    assert client.get(f"/api/v1/jobs/{failed}", headers=viewer.ws(ws)).status_code == 200
    r = client.post(f"/api/v1/jobs/{failed}/cancel", headers=viewer.ws(ws))
    assert r.status_code == 403


def test_another_workspaces_job_is_404(client):
    alice, bob = signup_login(client), signup_login(client)
    ws_a = make_workspace(client, alice, "A")["id"]
    ws_b = make_workspace(client, bob, "B")["id"]
    job_b = _enqueue(ws_b)
    ha = alice.ws(ws_a)
    for method, path in (
        ("get", f"/api/v1/jobs/{job_b}"),
        ("post", f"/api/v1/jobs/{job_b}/cancel"),
        ("post", f"/api/v1/jobs/{job_b}/retry"),
    ):
        r = client.request(method.upper(), path, headers=ha)
        assert r.status_code == 404, (path, r.text)
    assert client.get("/api/v1/jobs", headers=ha).json()["items"] == []
    # Naming bob's workspace in the header does not help either.
    assert client.get(f"/api/v1/jobs/{job_b}", headers=alice.ws(ws_b)).status_code == 404
    with get_engine().begin() as conn:
        assert (
            conn.execute(text("SELECT status FROM jobs WHERE id = :id"), {"id": job_b}).scalar_one()
            == "queued"
        )


def test_queue_depth_metrics(client):
    owner = signup_login(client)
    ws = make_workspace(client, owner)["id"]
    for _ in range(3):
        _enqueue(ws, kind="T_METRIC")
    r = client.get("/metrics")
    assert r.status_code == 200
    assert 'cliply_jobs{kind="T_METRIC",status="queued"} 3.0' in r.text
