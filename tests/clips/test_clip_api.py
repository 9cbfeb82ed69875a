"""Clip editing API on a project with a known transcript (no media work needed)."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cliply.db.engine import owner_session
from cliply.jobs.models import Job
from cliply.projects.models import Project, Transcript
from cliply.storage import app_storage
from cliply.storage.keys import transcript_key
from cliply.transcribe.formats import to_json
from cliply.transcribe.models import Segment, Word
from cliply.transcribe.models import Transcript as TranscriptDoc
from tests.projects.helpers import owner_ws

# Every test here needs the database (or a server process): integration tier.
pytestmark = pytest.mark.integration

WORDS = [Word(text=f"w{i}.", start=i * 1.0, end=i * 1.0 + 0.6) for i in range(60)]


def _project(ws: uuid.UUID) -> uuid.UUID:
    pid = uuid.uuid4()
    doc = TranscriptDoc(
        duration=60.0, engine="local", segments=[Segment(start=0, end=60, text="x", words=WORDS)]
    )
    app_storage().put_bytes(transcript_key(ws, pid, "json"), to_json(doc).encode())
    with owner_session() as db:
        db.add(
            Project(
                id=pid,
                workspace_id=ws,
                name="p",
                source_type="upload",
                status="ready",
                progress=1.0,
                duration_s=60.0,
                source_key=f"videos/{ws}/{pid}/source.mp4",
                options={"caption_style": "minimal"},
            )
        )
        db.flush()
        db.add(
            Transcript(
                workspace_id=ws,
                project_id=pid,
                engine="local",
                duration_s=60.0,
                word_count=60,
                json_key=transcript_key(ws, pid, "json"),
                srt_key=transcript_key(ws, pid, "srt"),
                vtt_key=transcript_key(ws, pid, "vtt"),
            )
        )
    return pid


def _render_jobs(clip_id: str) -> list[int]:
    with owner_session() as db:
        jobs = db.scalars(select(Job).where(Job.kind == "CLIP_RENDER")).all()
        return sorted(j.payload["render_version"] for j in jobs if j.payload["clip_id"] == clip_id)


def test_manual_clip_snaps_and_edits_rerender(client: TestClient) -> None:
    _, h = owner_ws(client)
    pid = _project(uuid.UUID(h["X-Workspace-ID"]))
    r = client.post(f"/api/v1/projects/{pid}/clips", headers=h, json={"start": 10.2, "end": 19.9})
    assert r.status_code == 201, r.text
    clip = r.json()
    assert (clip["start"], clip["end"]) == (10.0, 19.6)  # word start / word end
    assert clip["origin"] == "manual" and clip["status"] == "queued"
    assert clip["caption_style"] == "minimal" and clip["text"].startswith("w10.")
    assert _render_jobs(clip["id"]) == [1]

    r = client.get(f"/api/v1/clips/{clip['id']}/download", headers=h, follow_redirects=False)
    assert r.status_code == 409 and r.json()["type"].endswith("/clip-not-rendered")

    # A title change does not re-render; a trim (snapped) and a style change do.
    r = client.patch(f"/api/v1/clips/{clip['id']}", headers=h, json={"title": "Hello"})
    assert r.json()["render_version"] == 1 and r.json()["title"] == "Hello"
    r = client.patch(f"/api/v1/clips/{clip['id']}", headers=h, json={"start": 12.45, "end": 15.1})
    assert (r.json()["start"], r.json()["end"], r.json()["render_version"]) == (12.0, 14.6, 2)
    r = client.patch(f"/api/v1/clips/{clip['id']}", headers=h, json={"caption_style": "karaoke"})
    assert r.json()["render_version"] == 3
    assert _render_jobs(clip["id"]) == [1, 2, 3]

    bad = client.patch(f"/api/v1/clips/{clip['id']}", headers=h, json={"aspect": "4:3"})
    assert bad.status_code == 422
    short = client.patch(
        f"/api/v1/clips/{clip['id']}", headers=h, json={"start": 14.0, "end": 14.3}
    )
    assert short.status_code == 422 and short.json()["type"].endswith("/clip-too-short")
    past = client.post(f"/api/v1/projects/{pid}/clips", headers=h, json={"start": 70, "end": 80})
    assert past.status_code == 422

    listed = client.get(f"/api/v1/projects/{pid}/clips", headers=h).json()["items"]
    assert [c["id"] for c in listed] == [clip["id"]]

    _, other = owner_ws(client)
    assert client.get(f"/api/v1/clips/{clip['id']}", headers=other).status_code == 404
    assert (
        client.patch(f"/api/v1/clips/{clip['id']}", headers=other, json={"title": "x"}).status_code
        == 404
    )
    assert client.delete(f"/api/v1/clips/{clip['id']}", headers=other).status_code == 404
    assert (
        client.post(
            f"/api/v1/projects/{pid}/clips", headers=other, json={"start": 1, "end": 5}
        ).status_code
        == 404
    )

    assert client.delete(f"/api/v1/clips/{clip['id']}", headers=h).status_code == 204
    assert client.get(f"/api/v1/clips/{clip['id']}", headers=h).status_code == 404
