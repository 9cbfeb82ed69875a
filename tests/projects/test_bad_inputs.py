"""Each unusable source fails its project at INGEST, and the API says why."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cliply.storage import app_storage
from tests.conftest import reset_caches
from tests.pipeline.jobrunner import run_jobs
from tests.projects.helpers import owner_ws, upload

# Every test here needs the database (or a server process): integration tier.
pytestmark = pytest.mark.integration


@pytest.mark.parametrize("code", ["not-a-video", "no-audio-stream", "zero-length", "truncated"])
def test_bad_source_fails_with_reason(
    client: TestClient, bad_inputs: dict[str, Path], code: str
) -> None:
    _, h = owner_ws(client)
    pid = upload(client, h, bad_inputs[code])["id"]
    ran = run_jobs()
    assert [(r.kind, r.status) for r in ran] == [("INGEST", "failed")]
    p = client.get(f"/api/v1/projects/{pid}", headers=h).json()
    assert p["status"] == "failed" and p["error_code"] == code, p
    assert p["error_message"]
    # A failed project can be deleted, its source with it.
    assert client.delete(f"/api/v1/projects/{pid}", headers=h).status_code == 204
    assert client.get(f"/api/v1/projects/{pid}", headers=h).status_code == 404
    assert app_storage().list(f"videos/{h['X-Workspace-ID']}/") == []


def test_absurd_dimensions_fail(
    client: TestClient, bad_inputs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_VIDEO_WIDTH", "200")
    monkeypatch.setenv("MAX_VIDEO_HEIGHT", "200")
    reset_caches()
    _, h = owner_ws(client)
    pid = upload(client, h, bad_inputs["ok"])["id"]
    run_jobs(kinds=["INGEST"])
    p = client.get(f"/api/v1/projects/{pid}", headers=h).json()
    assert (p["status"], p["error_code"]) == ("failed", "bad-dimensions")
    assert "320x240" in p["error_message"]
