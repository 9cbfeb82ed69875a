"""Direct multipart uploads and tus resumable uploads (with a connection cut mid-PATCH)."""

from __future__ import annotations

import os
import socket
import time
import uuid
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from cliply.billing import gate
from cliply.db.engine import owner_session
from cliply.projects.models import Project
from cliply.storage import app_storage
from tests.conftest import reset_caches
from tests.projects.helpers import owner_ws, upload

# Every test here needs the database (or a server process): integration tier.
pytestmark = pytest.mark.integration

TUS = {"Tus-Resumable": "1.0.0"}


def _create(c: httpx.Client | TestClient, h: dict[str, str], length: int) -> tuple[str, str]:
    r = c.post(
        "/api/v1/uploads",
        headers={
            **h,
            **TUS,
            "Upload-Length": str(length),
            "Upload-Metadata": "filename dGFsay5tcDQ=,min_s MTA=",
        },
    )
    assert r.status_code == 201, r.text
    assert r.headers["Tus-Resumable"] == "1.0.0"
    return r.headers["Location"], r.json()["project_id"]


def test_tus_upload_survives_a_dropped_connection(live: str) -> None:
    data = os.urandom(3 * 1024 * 1024 + 123)
    with httpx.Client(base_url=live, timeout=30) as c:
        _, h = owner_ws(c)  # type: ignore[arg-type]
        opts = c.options("/api/v1/uploads")
        assert opts.status_code == 204 and opts.headers["Tus-Version"] == "1.0.0"
        assert "creation" in opts.headers["Tus-Extension"]
        location, project_id = _create(c, h, len(data))
        assert c.get(f"/api/v1/projects/{project_id}", headers=h).json()["status"] == "uploading"

        # Send the headers for the whole body, then only part of it, and hang up.
        sent = 1024 * 1024 + 7
        head = (
            f"PATCH {location} HTTP/1.1\r\nHost: test\r\n"
            f"Authorization: {h['Authorization']}\r\nX-Workspace-ID: {h['X-Workspace-ID']}\r\n"
            "Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n"
            f"Upload-Offset: 0\r\nContent-Length: {len(data)}\r\n\r\n"
        )
        port = int(live.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(head.encode() + data[:sent])
            time.sleep(0.3)
        offset = -1
        for _ in range(100):  # the server notices the hang-up and keeps what arrived
            r = c.head(location, headers={**h, **TUS})
            offset = int(r.headers["Upload-Offset"])
            if offset == sent:
                break
            time.sleep(0.1)
        assert offset == sent
        assert r.headers["Upload-Length"] == str(len(data))
        assert r.headers["Cache-Control"] == "no-store"

        patch_h = {**h, **TUS, "Content-Type": "application/offset+octet-stream"}
        wrong = c.patch(location, headers={**patch_h, "Upload-Offset": "0"}, content=data[:10])
        assert wrong.status_code == 409
        assert wrong.json()["type"].endswith("/offset-mismatch")
        bad_type = c.patch(
            location,
            headers={**patch_h, "Content-Type": "application/json", "Upload-Offset": str(offset)},
            content=b"{}",
        )
        assert bad_type.status_code == 415

        # Resume in two more PATCHes.
        mid = offset + 1024 * 1024
        r = c.patch(
            location, headers={**patch_h, "Upload-Offset": str(offset)}, content=data[offset:mid]
        )
        assert r.status_code == 204 and r.headers["Upload-Offset"] == str(mid)
        r = c.patch(location, headers={**patch_h, "Upload-Offset": str(mid)}, content=data[mid:])
        assert r.status_code == 204 and r.headers["Upload-Offset"] == str(len(data))

        project = c.get(f"/api/v1/projects/{project_id}", headers=h).json()
        assert project["status"] == "probing" and project["size_bytes"] == len(data)
        assert project["options"]["min_s"] == 10
    with owner_session() as db:
        p = db.get(Project, uuid.UUID(project_id))
        assert p is not None and p.source_key is not None
        key = p.source_key
    assert app_storage().read_bytes(key) == data
    staging = Path(os.environ["CLIPLY_DATA_DIR"]) / "uploads"
    upload_id = location.rstrip("/").rsplit("/", 1)[-1]
    assert not list(staging.glob(f"{upload_id}*"))  # other tests' uploads may still be staged


def test_tus_refusals(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    _, h = owner_ws(client)
    r = client.post("/api/v1/uploads", headers={**h, "Upload-Length": "10"})
    assert r.status_code == 412
    monkeypatch.setenv("MAX_UPLOAD_BYTES", "1000")
    reset_caches()
    r = client.post("/api/v1/uploads", headers={**h, **TUS, "Upload-Length": "1001"})
    assert r.status_code == 413 and r.json()["type"].endswith("/upload-too-large")
    location, project_id = _create(client, h, 100)
    r = client.patch(
        location,
        headers={
            **h,
            **TUS,
            "Content-Type": "application/offset+octet-stream",
            "Upload-Offset": "0",
        },
        content=b"x" * 101,
    )
    assert r.status_code == 400
    _, other = owner_ws(client)
    assert client.head(location, headers={**other, **TUS}).status_code == 404
    assert client.delete(location, headers={**h, **TUS}).status_code == 204
    assert client.get(f"/api/v1/projects/{project_id}", headers=h).status_code == 404


def test_direct_upload_limits_are_checked_before_bytes(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, bad_inputs: dict[str, Path]
) -> None:
    _, h = owner_ws(client)
    monkeypatch.setenv("DIRECT_UPLOAD_MAX_BYTES", "100000")
    reset_caches()
    big = bad_inputs["ok"]
    assert big.stat().st_size > 100000
    with big.open("rb") as fh:
        r = client.post("/api/v1/projects", headers=h, files={"file": ("a.mp4", fh, "video/mp4")})
    assert r.status_code == 413 and r.json()["type"].endswith("/upload-too-large")
    assert client.get("/api/v1/projects", headers=h).json()["items"] == []

    # A month's project quota used up: refused with 402 before the upload is read.
    monkeypatch.setenv("DIRECT_UPLOAD_MAX_BYTES", str(50 * 1024 * 1024))
    reset_caches()
    ws = uuid.UUID(h["X-Workspace-ID"])
    with owner_session() as db:
        for i in range(10):
            gate.consume(db, ws, "projects", 1, event_key=f"test:{i}")
    with big.open("rb") as fh:
        r = client.post("/api/v1/projects", headers=h, files={"file": ("a.mp4", fh, "video/mp4")})
    assert r.status_code == 402 and r.json()["limit"] == "projects_per_month"
    assert client.get("/api/v1/projects", headers=h).json()["items"] == []


def test_direct_upload_streams_to_storage(client: TestClient, bad_inputs: dict[str, Path]) -> None:
    _, h = owner_ws(client)
    src = bad_inputs["ok"]
    p = upload(client, h, src, name="My talk", aspect="1:1")
    assert p["name"] == "My talk" and p["options"]["aspect"] == "1:1"
    assert p["original_filename"] == src.name and p["size_bytes"] == src.stat().st_size
    with owner_session() as db:
        row = db.get(Project, uuid.UUID(p["id"]))
        assert row is not None and row.source_key is not None
        assert app_storage().read_bytes(row.source_key) == src.read_bytes()
    with src.open("rb") as fh:
        r = client.post(
            "/api/v1/projects",
            headers=h,
            data={"aspect": "4:3"},
            files={"file": ("a.mp4", fh, "video/mp4")},
        )
    assert r.status_code == 422


def test_language_option_is_checked_and_normalised(
    client: TestClient, bad_inputs: dict[str, Path]
) -> None:
    """A project may force the spoken language; an unknown code is a 422 naming the field,
    for uploads and URL projects alike, and regional codes are stored as Whisper's."""
    _, h = owner_ws(client)
    p = upload(client, h, bad_inputs["ok"], language="es-MX")
    assert p["options"]["language"] == "es"
    with bad_inputs["ok"].open("rb") as fh:
        r = client.post(
            "/api/v1/projects",
            headers=h,
            data={"language": "klingon"},
            files={"file": ("a.mp4", fh, "video/mp4")},
        )
    assert r.status_code == 422 and "unknown language" in r.text
    r = client.post(
        "/api/v1/projects",
        headers=h,
        json={"url": "https://example.com/v.mp4", "options": {"language": "xx"}},
    )
    assert r.status_code == 422 and "language" in r.text
