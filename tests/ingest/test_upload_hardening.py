"""Uploads never answer 500 for what a client sends, never leave a project in `uploading`,
survive a writer that vanished, and answer 507 on a full disk (a real small filesystem)."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from cliply.billing import gate
from cliply.db.engine import owner_session
from cliply.pipeline.options import ClipOptions
from cliply.projects import service
from cliply.projects.models import Project
from tests.conftest import reset_caches
from tests.projects.helpers import owner_ws

TUS = {"Tus-Resumable": "1.0.0"}
PATCH = {**TUS, "Content-Type": "application/offset+octet-stream"}


def _projects_used(h: dict[str, str]) -> float:
    with owner_session() as db:
        return gate.current_usage(db, uuid.UUID(h["X-Workspace-ID"]), "projects")


def _multipart(filename: bytes, data: bytes, name: bytes = b"talk") -> tuple[bytes, str]:
    """A hand-built body: httpx would percent-encode a NUL in the filename."""
    boundary = "cliplyboundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\n'.encode()
        + name
        + f"\r\n--{boundary}\r\n".encode()
        + b'Content-Disposition: form-data; name="file"; filename="'
        + filename
        + b'"\r\nContent-Type: video/mp4\r\n\r\n'
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize(
    "filename, name, code",
    [(b"a\x00b.mp4", b"talk", "invalid-filename"), (b"a.mp4", b"t\x00lk", "invalid-form-field")],
)
def test_nul_in_multipart_is_refused_and_nothing_is_left(
    client: TestClient, filename: bytes, name: bytes, code: str
) -> None:
    _, h = owner_ws(client)
    body, ctype = _multipart(filename, os.urandom(2048), name)
    r = client.post("/api/v1/projects", headers={**h, "Content-Type": ctype}, content=body)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"].endswith("/" + code)
    assert client.get("/api/v1/projects", headers=h).json()["items"] == []
    assert _projects_used(h) == 0


def test_a_stalled_direct_upload_fails_and_gives_its_quota_back(client: TestClient) -> None:
    # A multipart request whose process died leaves `uploading`; the cleanup task ends it.
    _, h = owner_ws(client)
    ws = uuid.UUID(h["X-Workspace-ID"])
    with owner_session() as db:
        p = service.create_project(
            db, ws, None, name="x", source_type="upload", options=ClipOptions(), status="uploading"
        )
        pid = p.id
        db.execute(
            update(Project)
            .where(Project.id == pid)
            .values(created_at=datetime.now(UTC) - timedelta(hours=7))
        )
    assert _projects_used(h) == 1
    with owner_session() as db:
        assert service.fail_stalled_uploads(db, datetime.now(UTC)) == 1
    got = client.get(f"/api/v1/projects/{pid}", headers=h).json()
    assert got["status"] == "failed" and got["error_code"] == "upload-interrupted"
    assert _projects_used(h) == 0


def _b64(s: bytes) -> str:
    return base64.b64encode(s).decode()


def test_tus_headers_refuse_nul_and_unicode_digits(client: TestClient) -> None:
    _, h = owner_ws(client)
    nul_name = "filename " + _b64(b"a\x00.mp4")
    bad_meta = client.post(
        "/api/v1/uploads",
        headers={**h, **TUS, "Upload-Length": "10", "Upload-Metadata": nul_name},
    )
    assert bad_meta.status_code == 400 and bad_meta.json()["type"].endswith(
        "/invalid-upload-metadata"
    )
    # b"\xb2" is "²" once decoded as latin-1, as servers do; str.isdigit() accepts it.
    for raw in (b"\xb2", b"\xb9\xb2", b"1\xb3"):
        r = client.post("/api/v1/uploads", headers={**h, **TUS, "Upload-Length": raw})
        assert r.status_code == 400, r.text
        assert r.json()["type"].endswith("/invalid-upload-header")
    assert client.get("/api/v1/projects", headers=h).json()["items"] == []
    ok = client.post("/api/v1/uploads", headers={**h, **TUS, "Upload-Length": "10"})
    assert ok.status_code == 201
    r = client.patch(
        ok.headers["Location"], headers={**h, **PATCH, "Upload-Offset": b"\xb2"}, content=b"x"
    )
    assert r.status_code == 400 and r.json()["type"].endswith("/invalid-upload-header")


def _stall(live: str, location: str, h: dict[str, str], length: int, sent: bytes) -> socket.socket:
    """A PATCH that sends part of its body, then nothing: no FIN, no RST, socket kept open."""
    port = int(live.rsplit(":", 1)[1])
    s = socket.create_connection(("127.0.0.1", port))
    head = (
        f"PATCH {location} HTTP/1.1\r\nHost: test\r\n"
        f"Authorization: {h['Authorization']}\r\nX-Workspace-ID: {h['X-Workspace-ID']}\r\n"
        "Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n"
        f"Upload-Offset: 0\r\nContent-Length: {length}\r\n\r\n"
    )
    s.sendall(head.encode() + sent)
    return s


def _offset(c: httpx.Client, location: str, h: dict[str, str], want: int) -> int:
    got = -1
    for _ in range(100):
        got = int(c.head(location, headers={**h, **TUS}).headers["Upload-Offset"])
        if got == want:
            break
        time.sleep(0.05)
    return got


def test_a_silent_writer_is_taken_over(live: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUS_LOCK_TAKEOVER_S", "1")
    monkeypatch.setenv("TUS_PATCH_IDLE_TIMEOUT_S", "600")
    reset_caches()
    data = os.urandom(300_000)
    with httpx.Client(base_url=live, timeout=30) as c:
        _, h = owner_ws(c)  # type: ignore[arg-type]
        r = c.post("/api/v1/uploads", headers={**h, **TUS, "Upload-Length": str(len(data))})
        location = r.headers["Location"]
        dead = _stall(live, location, h, len(data), data[:100_000])
        try:
            assert _offset(c, location, h, 100_000) == 100_000
            resume = {**h, **PATCH, "Upload-Offset": "100000"}
            # While the writer may still be alive, the upload is locked...
            assert c.patch(location, headers=resume, content=data[100_000:]).status_code == 423
            time.sleep(1.5)  # ...after TUS_LOCK_TAKEOVER_S without progress it is taken over.
            r = c.patch(location, headers=resume, content=data[100_000:])
            assert r.status_code == 204, r.text
            assert r.headers["Upload-Offset"] == str(len(data))
            # The vanished writer gets nothing more in: its late bytes are refused.
            dead.sendall(b"z" * 1000)
            dead.settimeout(30)
            assert dead.recv(4096).startswith(b"HTTP/1.1 409")
        finally:
            dead.close()
        up = c.get(location, headers=h).json()
        assert up["status"] == "complete" and up["offset"] == len(data)


def test_an_idle_patch_body_ends(live: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUS_PATCH_IDLE_TIMEOUT_S", "1")
    monkeypatch.setenv("TUS_LOCK_TAKEOVER_S", "600")
    reset_caches()
    data = os.urandom(200_000)
    with httpx.Client(base_url=live, timeout=30) as c:
        _, h = owner_ws(c)  # type: ignore[arg-type]
        r = c.post("/api/v1/uploads", headers={**h, **TUS, "Upload-Length": str(len(data))})
        location = r.headers["Location"]
        dead = _stall(live, location, h, len(data), data[:50_000])
        try:
            dead.settimeout(30)
            answer = dead.recv(4096)  # the server ends the idle PATCH itself
            assert answer.startswith(b"HTTP/1.1 408"), answer
        finally:
            dead.close()
        resume = {**h, **PATCH, "Upload-Offset": "50000"}
        r = c.patch(location, headers=resume, content=data[50_000:])
        assert r.status_code == 204 and r.headers["Upload-Offset"] == str(len(data))


@pytest.fixture
def full_disk(db_url: str) -> Iterator[Path]:
    """CLIPLY_DATA_DIR/uploads on a real 256 KiB tmpfs (needs mount privileges)."""
    uploads = Path(os.environ["CLIPLY_DATA_DIR"]) / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "cliply-full", str(uploads)],
        capture_output=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem: {mounted.stderr.decode().strip()}")
    try:
        yield uploads
    finally:
        subprocess.run(["umount", str(uploads)], check=True)


def test_full_disk_answers_507_and_keeps_nothing_half_written(
    client: TestClient, full_disk: Path
) -> None:
    _, h = owner_ws(client)
    body, ctype = _multipart(b"talk.mp4", os.urandom(600_000))
    r = client.post("/api/v1/projects", headers={**h, "Content-Type": ctype}, content=body)
    assert r.status_code == 507, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"].endswith("/insufficient-storage")
    assert client.get("/api/v1/projects", headers=h).json()["items"] == []
    assert _projects_used(h) == 0
    assert list(full_disk.iterdir()) == []

    data = os.urandom(600_000)
    r = client.post("/api/v1/uploads", headers={**h, **TUS, "Upload-Length": str(len(data))})
    location = r.headers["Location"]
    r = client.patch(location, headers={**h, **PATCH, "Upload-Offset": "0"}, content=data)
    assert r.status_code == 507, r.text
    assert r.json()["type"].endswith("/insufficient-storage")
    # What stayed is a whole prefix of what was sent: the client resumes from there.
    offset = int(client.head(location, headers={**h, **TUS}).headers["Upload-Offset"])
    staged = next(full_disk.glob("*.part")).read_bytes()
    assert len(staged) == offset < len(data) and staged == data[:offset]


def test_readyz_and_metrics_warn_when_space_is_low(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert client.get("/readyz").json().get("disk") == "ok"
    monkeypatch.setenv("DATA_DIR_MIN_FREE_BYTES", str(2**62))
    reset_caches()
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json()["disk"].startswith("low")
    metrics = client.get("/metrics").text
    assert "cliply_data_dir_low_space 1.0" in metrics
    assert "cliply_data_dir_free_bytes" in metrics
