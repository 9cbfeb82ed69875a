"""The clip editor's backend: trims by words or seconds (reaching past the original cut),
caption word fixes and the title overlay that the render burns in, previews on a real frame
that match the render, and the render's live status on the clip."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cliply.db.engine import owner_session
from cliply.jobs.models import Job
from cliply.media import parse_ass, probe
from cliply.projects.models import Project, Transcript
from cliply.storage import app_storage
from cliply.storage.keys import source_video_key, transcript_key
from cliply.transcribe.formats import to_json
from cliply.transcribe.models import Segment, Word
from cliply.transcribe.models import Transcript as TranscriptDoc
from tests.clips.test_clip_api import _project
from tests.pipeline.jobrunner import run_jobs
from tests.projects.helpers import owner_ws

# Every test here needs the database (or a server process): integration tier.
pytestmark = pytest.mark.integration


def _ws(h: dict[str, str]) -> uuid.UUID:
    return uuid.UUID(h["X-Workspace-ID"])


def test_trim_by_words_caption_fixes_and_overlay_rerender(client: TestClient) -> None:
    _, h = owner_ws(client)
    pid = _project(_ws(h))
    clip = client.post(
        f"/api/v1/projects/{pid}/clips", headers=h, json={"start": 10, "end": 20}
    ).json()
    url = f"/api/v1/clips/{clip['id']}"
    assert clip["render_job"]["status"] == "queued" and clip["render_job"]["progress"] == 0

    words = client.get(f"{url}/words", headers=h).json()
    assert words["duration"] == 60.0 and len(words["words"]) == 60
    assert [w["index"] for w in words["words"] if w["in_clip"]] == list(range(10, 20))

    # Trim by words, reaching before the original cut (words 5..24): snapped to their edges.
    r = client.patch(url, headers=h, json={"start_word": 5, "end_word": 24})
    assert r.status_code == 200, r.text
    assert (r.json()["start"], r.json()["end"], r.json()["render_version"]) == (5.0, 24.6, 2)
    assert r.json()["text"].split()[0] == "w5." and r.json()["text"].split()[-1] == "w24."

    # Fix a misheard word, hide another: the text follows and the clip re-renders.
    r = client.patch(url, headers=h, json={"caption_edits": {"7": "Kubernetes", "8": ""}})
    body = r.json()
    assert body["caption_edits"] == {"7": "Kubernetes", "8": ""} and body["render_version"] == 3
    assert "w6. Kubernetes w9." in body["text"]
    shown = client.get(f"{url}/words", headers=h).json()["words"]
    assert (shown[7]["text"], shown[7]["original"]) == ("Kubernetes", "w7.")

    # Null drops a fix; a fix back to what was said is no fix.
    r = client.patch(url, headers=h, json={"caption_edits": {"8": None, "7": "w7."}})
    assert r.json()["caption_edits"] == {} and r.json()["render_version"] == 4

    # The title re-renders only while it is drawn.
    r = client.patch(url, headers=h, json={"title": "Hook"})
    assert r.json()["render_version"] == 4
    r = client.patch(url, headers=h, json={"title_overlay": True})
    assert r.json()["title_overlay"] is True and r.json()["render_version"] == 5
    r = client.patch(url, headers=h, json={"title": "Better hook"})
    assert r.json()["render_version"] == 6
    r = client.patch(url, headers=h, json={"description": "d", "hashtags": ["a"]})
    assert r.json()["render_version"] == 6

    # Trim by seconds reaches anywhere in the source; out of range and bad input are 422.
    r = client.patch(url, headers=h, json={"start": 40.3, "end": 59.9})
    assert (r.json()["start"], r.json()["end"]) == (40.0, 59.6)
    bad = [
        {"start_word": 5},
        {"start_word": 9, "end_word": 3},
        {"start_word": 1, "end_word": 2, "start": 1.0},
        {"start_word": 50, "end_word": 60},
        {"caption_edits": {"60": "x"}},
        {"caption_edits": {"1": "x" * 101}},
    ]
    for patch in bad:
        r = client.patch(url, headers=h, json=patch)
        assert r.status_code == 422, (patch, r.text)
    with owner_session() as db:
        versions = sorted(
            j.payload["render_version"]
            for j in db.scalars(select(Job).where(Job.kind == "CLIP_RENDER"))
        )
    assert versions == [1, 2, 3, 4, 5, 6, 7]


# --- real media: preview and render ------------------------------------------------------------


def _real_project(
    ws: uuid.UUID, video: Path, timeline: list[tuple[float, float, str]]
) -> uuid.UUID:
    """A ready project whose transcript has each sentence's words spread over its time."""
    pid = uuid.uuid4()
    words: list[Word] = []
    for start, end, sentence in timeline:
        parts = sentence.split()
        step = (end - start) / len(parts)
        words += [
            Word(text=p, start=round(start + i * step, 3), end=round(start + (i + 0.8) * step, 3))
            for i, p in enumerate(parts)
        ]
    duration = probe(video).duration
    doc = TranscriptDoc(
        duration=duration,
        engine="local",
        segments=[Segment(start=0, end=duration, text="talk", words=words)],
    )
    storage = app_storage()
    storage.put_bytes(transcript_key(ws, pid, "json"), to_json(doc).encode())
    storage.put_file(source_video_key(ws, pid, "mp4"), video, content_type="video/mp4")
    with owner_session() as db:
        db.add(
            Project(
                id=pid,
                workspace_id=ws,
                name="talk",
                source_type="upload",
                status="ready",
                progress=1.0,
                duration_s=duration,
                source_key=source_video_key(ws, pid, "mp4"),
                options={"caption_style": "bold"},
            )
        )
        db.flush()
        db.add(
            Transcript(
                workspace_id=ws,
                project_id=pid,
                engine="local",
                duration_s=duration,
                word_count=len(words),
                json_key=transcript_key(ws, pid, "json"),
                srt_key=transcript_key(ws, pid, "srt"),
                vtt_key=transcript_key(ws, pid, "vtt"),
            )
        )
    return pid


def _download(client: TestClient, h: dict[str, str], cid: str, tmp: Path, name: str) -> Path:
    link = client.get(f"/api/v1/clips/{cid}/download?redirect=false", headers=h).json()["url"]
    r = client.get(link.split("://", 1)[1].split("/", 1)[1].join(["/", ""]))
    assert r.status_code == 200
    out = tmp / name
    out.write_bytes(r.content)
    return out


@pytest.mark.usefixtures("fast_render")
def test_fixed_word_is_burned_in_and_preview_is_what_renders(
    client: TestClient, talk_video: tuple[Path, list[tuple[float, float, str]]], tmp_path: Path
) -> None:
    video, timeline = talk_video
    _, h = owner_ws(client)
    pid = _real_project(_ws(h), video, timeline)
    s0, e0, _ = timeline[1]
    clip = client.post(
        f"/api/v1/projects/{pid}/clips", headers=h, json={"start": s0, "end": e0}
    ).json()
    cid, url = clip["id"], f"/api/v1/clips/{clip['id']}"
    assert [r.status for r in run_jobs(["CLIP_RENDER"])] == ["succeeded"]
    first = probe(_download(client, h, cid, tmp_path, "v1.mp4"))
    before = client.get(f"{url}/captions.ass", headers=h)
    assert before.status_code == 200 and "Yeast" in before.text.replace("YEAST", "Yeast")

    # The timeline's waveform reaches past the clip: louder while speaking than in the pauses.
    gap_at = (timeline[0][1] + timeline[1][0]) / 2
    wave = client.get(f"{url}/waveform?start=0&end={e0 + 5}", headers=h).json()
    assert wave["start"] == 0 and abs(len(wave["peaks"]) - round((e0 + 5) * 50)) <= 1
    speech = wave["peaks"][round((s0 + 0.5) * 50) : round((e0 - 0.5) * 50)]
    assert max(wave["peaks"]) == 1.0 and max(speech) > 0.3
    assert wave["peaks"][round(gap_at * 50)] < 0.05
    assert client.get(f"{url}/waveform?start=5&end=2", headers=h).status_code == 422
    src = client.get(f"{url}/source", headers=h, follow_redirects=False)
    assert src.status_code == 307 and "/api/v1/files/videos/" in src.headers["location"]

    # The editor's draft: the first two sentences, "Yeast" misheard → fixed, the hook on.
    words = client.get(f"{url}/words", headers=h).json()["words"]
    first_word = next(w["index"] for w in words if w["start"] >= timeline[0][0] - 1e-3)
    last_word = max(w["index"] for w in words if w["end"] <= timeline[1][1] + 1e-3)
    yeast = next(w["index"] for w in words if w["text"] == "Yeast")
    draft = {
        "start_word": first_word,
        "end_word": last_word,
        "caption_edits": {str(yeast): "Saccharomyces"},
        "title_overlay": True,
        "title": "Why bread rises",
        "caption_style": "boxed",
    }
    pv = client.post(f"{url}/preview", headers=h, json=draft)
    assert pv.status_code == 200, pv.text
    preview = pv.json()
    styles = [i["caption_style"] for i in preview["items"]]
    assert styles[0] == "boxed" and sorted(styles) == ["bold", "boxed", "karaoke", "minimal"]
    assert preview["items"][0]["look"] == preview["look"]
    assert len({i["look"] for i in preview["items"]}) == 4
    # Each still is a real JPEG frame; the styles draw differently.
    stills = []
    for item in preview["items"]:
        r = client.get(item["url"].split("://", 1)[1].split("/", 1)[1].join(["/", ""]))
        assert r.status_code == 200 and r.content[:2] == b"\xff\xd8"
        stills.append(r.content)
    assert len(set(stills)) == 4
    # Cached: asking again draws nothing new (same keys, same bytes).
    again = client.post(f"{url}/preview", headers=h, json=draft).json()
    assert [i["url"].split("?")[0] for i in again["items"]] == [
        i["url"].split("?")[0] for i in preview["items"]
    ]
    # A preview changes nothing on the clip.
    assert client.get(url, headers=h).json()["render_version"] == 1

    saved = client.patch(url, headers=h, json={k: v for k, v in draft.items()}).json()
    assert saved["render_version"] == 2 and saved["render_job"]["status"] == "queued"
    ran = run_jobs(["CLIP_RENDER"])
    assert [r.status for r in ran] == ["succeeded"]
    with owner_session() as db:
        job = db.get(Job, ran[0].job_id)
        assert job is not None and job.result is not None
        rendered_look = job.result["look"]
    assert rendered_look == preview["look"]  # the approved preview is what rendered

    done = client.get(url, headers=h).json()
    assert done["status"] == "ready" and done["render_job"]["status"] == "succeeded"
    assert done["render_job"]["progress"] == 1.0
    second = probe(_download(client, h, cid, tmp_path, "v2.mp4"))
    expected = saved["end"] - saved["start"]
    assert abs(second.duration - expected) < 0.15 and second.duration > first.duration + 1.0

    ass_text = client.get(f"{url}/captions.ass", headers=h).text
    path = tmp_path / "burned.ass"
    path.write_text(ass_text, encoding="utf-8")
    doc = parse_ass(path)
    shown = " ".join(e.plain for e in doc.events)
    assert "Saccharomyces" in shown and "Yeast" not in shown
    titles = [e for e in doc.events if e.style == "Title"]
    assert len(titles) == 1 and titles[0].plain == "Why bread rises" and titles[0].start == 0


def test_preview_and_captions_errors(client: TestClient) -> None:
    _, h = owner_ws(client)
    pid = _project(_ws(h))
    cid = client.post(
        f"/api/v1/projects/{pid}/clips", headers=h, json={"start": 1, "end": 9}
    ).json()["id"]
    r = client.get(f"/api/v1/clips/{cid}/captions.ass", headers=h)
    assert r.status_code == 409 and r.json()["type"].endswith("/clip-not-rendered")
    r = client.post(f"/api/v1/clips/{cid}/preview", headers=h, json={"styles": ["neon"]})
    assert r.status_code == 422
    _, other = owner_ws(client)
    assert client.post(f"/api/v1/clips/{cid}/preview", headers=other, json={}).status_code == 404
    assert client.get(f"/api/v1/clips/{cid}/words", headers=other).status_code == 404
