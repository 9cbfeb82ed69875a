"""Upload → INGEST → TRANSCRIBE → HIGHLIGHT_DETECT → CLIP_RENDER through the API and the real
queue, then edits, downloads, tenancy and metering on the result."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from cliply.billing import gate
from cliply.db.engine import owner_session
from cliply.jobs import registry
from cliply.jobs.queue import enqueue
from cliply.media import probe
from cliply.projects.models import Project
from tests.pipeline.jobrunner import run_jobs
from tests.projects.helpers import owner_ws, upload

# Every test here needs the database (or a server process): integration tier.
pytestmark = pytest.mark.integration

# Words tiny.en hears reliably in the talk.
PROBES = ("bread", "yeast", "dough", "money", "income", "interest")


def _norm(word: str) -> str:
    return "".join(c for c in word.lower() if c.isalpha())


def test_upload_to_rendered_clips(
    client: TestClient,
    talk_video: tuple[Path, list[tuple[float, float, str]]],
    fast_render: None,
    tmp_path: Path,
) -> None:
    video, timeline = talk_video
    _, h = owner_ws(client)
    project = upload(client, h, video, min_s="8", max_s="20", top_k="2", caption_style="boxed")
    pid = project["id"]
    assert project["status"] == "probing"
    assert project["options"]["top_k"] == 2

    ran = run_jobs()
    kinds = [r.kind for r in ran]
    assert kinds[:3] == ["INGEST", "TRANSCRIBE", "HIGHLIGHT_DETECT"], ran
    assert all(r.status == "succeeded" for r in ran), [(r.kind, r.error) for r in ran]

    p = client.get(f"/api/v1/projects/{pid}", headers=h).json()
    assert p["status"] == "ready" and p["progress"] == 1.0
    assert 30 < p["duration_s"] < 45 and (p["width"], p["height"]) == (640, 360)

    # The job timeline names the engine and the embedder.
    transcribed = next(r for r in ran if r.kind == "TRANSCRIBE")
    assert transcribed.events[0][2]["engine"] == "local"
    detected = next(r for r in ran if r.kind == "HIGHLIGHT_DETECT")
    assert detected.events[0][2]["embedder"] in (
        "lexical TF-IDF fallback",
        "sentence-transformers/all-MiniLM-L6-v2",
    )

    # Transcript in three formats, with the spoken words at about the right times.
    doc = client.get(f"/api/v1/projects/{pid}/transcript?format=json", headers=h)
    assert doc.status_code == 200 and doc.headers["content-type"].startswith("application/json")
    words = [w for s in doc.json()["segments"] for w in s["words"]]
    found = 0
    for probe_word in PROBES:
        said = [
            (t0, t1) for t0, t1, text in timeline if probe_word in {_norm(x) for x in text.split()}
        ]
        hits = [w for w in words if _norm(w["text"]) == probe_word]
        found += bool(hits)
        for w in hits:  # every time it was heard, it was said then
            assert any(t0 - 1.0 <= w["start"] <= t1 + 1.0 for t0, t1 in said), (w, said)
    assert found >= 4, [w["text"] for w in words]
    srt = client.get(f"/api/v1/projects/{pid}/transcript?format=srt", headers=h)
    assert srt.status_code == 200 and "-->" in srt.text and "," in srt.text.split("-->")[0]
    vtt = client.get(f"/api/v1/projects/{pid}/transcript?format=vtt", headers=h)
    assert vtt.text.startswith("WEBVTT") and "yeast" in vtt.text.lower()

    # Clips: ranked, with reasons, rendered at the plan's size (Basic: 720 px short side).
    clips = client.get(f"/api/v1/projects/{pid}/clips", headers=h).json()["items"]
    assert 1 <= len(clips) <= 2
    assert [c["rank"] for c in clips] == list(range(1, len(clips) + 1))
    for c in clips:
        assert 8 - 1 <= c["duration"] <= 20 + 1
        assert (
            c["title"] and c["reasons"] and all("name" in r and "points" in r for r in c["reasons"])
        )
        assert c["status"] == "ready" and (c["width"], c["height"]) == (720, 1280)
        assert c["caption_style"] == "boxed"
    first = clips[0]
    r = client.get(f"/api/v1/clips/{first['id']}/download", headers=h, follow_redirects=False)
    assert r.status_code == 307
    signed = urlsplit(r.headers["location"])
    got = client.get(f"{signed.path}?{signed.query}")
    assert got.status_code == 200 and got.headers["content-type"] == "video/mp4"
    mp4 = tmp_path / "clip.mp4"
    mp4.write_bytes(got.content)
    info = probe(mp4)
    assert (info.display_width, info.display_height) == (720, 1280) and info.has_audio
    assert client.get(f"{signed.path}?{signed.query.replace('sig=', 'sig=x')}").status_code == 403
    thumb = client.get(f"/api/v1/clips/{first['id']}/thumbnail?redirect=false", headers=h).json()
    assert (
        client.get(thumb["url"].split("://", 1)[1].split("/", 1)[1].join(["/", ""])).status_code
        == 200
    )

    # A trim lands on word boundaries and renders the clip again.
    all_words = [(w["start"], w["end"]) for w in words]
    patched = client.patch(
        f"/api/v1/clips/{first['id']}",
        headers=h,
        json={"start": first["start"] + 0.37, "end": first["end"] - 0.41},
    )
    assert patched.status_code == 200, patched.text
    pc = patched.json()
    assert pc["start"] in {round(s, 3) for s, _ in all_words}
    assert pc["end"] in {round(e, 3) for _, e in all_words}
    assert pc["render_version"] == 2 and pc["status"] == "queued"
    rerun = run_jobs()
    assert [x.kind for x in rerun] == ["CLIP_RENDER"] and rerun[0].status == "succeeded"
    again = client.get(f"/api/v1/clips/{first['id']}", headers=h).json()
    assert again["status"] == "ready" and again["render_version"] == 2

    # Another workspace sees nothing of it.
    _, other = owner_ws(client)
    assert client.get(f"/api/v1/projects/{pid}", headers=other).status_code == 404
    assert client.get(f"/api/v1/clips/{first['id']}", headers=other).status_code == 404
    assert client.get(f"/api/v1/projects/{pid}/clips", headers=other).status_code == 404
    assert client.get(f"/api/v1/projects/{pid}/transcript", headers=other).status_code == 404

    # A retried TRANSCRIBE counts the source minutes once.
    with owner_session() as db:
        proj = db.get(Project, uuid.UUID(pid))
        assert proj is not None
        ws, minutes = proj.workspace_id, (proj.duration_s or 0) / 60
        before = gate.current_usage(db, ws, "source_minutes")
        enqueue(
            db,
            registry.TRANSCRIBE,
            {"project_id": pid},
            workspace_id=ws,
            project_id=proj.id,
            dedupe_key=f"transcribe:{pid}",
        )
    assert before == pytest.approx(minutes, rel=1e-6)
    assert [x.status for x in run_jobs(kinds=["TRANSCRIBE"])] == ["succeeded"]
    with owner_session() as db:
        assert gate.current_usage(db, ws, "source_minutes") == pytest.approx(before)
    assert (
        json.loads(client.get(f"/api/v1/projects/{pid}/transcript", headers=h).content)["engine"]
        == "local"
    )
