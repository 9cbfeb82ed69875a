"""Caption effects and jump cuts through the API: a clip takes its project's options, the
editor changes them (bad input is a 422 problem), and the render reports the seconds cut."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cliply.db.engine import owner_session
from cliply.media import parse_ass, probe
from cliply.projects.models import Project
from tests.clips.test_editor import _download, _real_project
from tests.pipeline.jobrunner import run_jobs
from tests.projects.helpers import owner_ws

pytestmark = pytest.mark.integration


@pytest.mark.usefixtures("fast_render")
def test_clip_fx_from_project_options_edit_and_seconds_removed(
    client: TestClient, talk_video: tuple[Path, list[tuple[float, float, str]]], tmp_path: Path
) -> None:
    video, timeline = talk_video
    _, h = owner_ws(client)
    ws = uuid.UUID(h["X-Workspace-ID"])
    pid = _real_project(ws, video, timeline)
    with owner_session() as db:
        project = db.get(Project, pid)
        assert project is not None
        project.options = {"caption_style": "bold", "max_silence_s": 0.4, "mask_profanity": True}

    # Two sentences and the 0.6 s pause between them.
    s0, e1 = timeline[0][0], timeline[1][1]
    clip = client.post(
        f"/api/v1/projects/{pid}/clips", headers=h, json={"start": s0, "end": e1}
    ).json()
    url = f"/api/v1/clips/{clip['id']}"
    assert clip["caption_fx"]["max_silence_s"] == 0.4 and clip["caption_fx"]["mask_profanity"]
    assert clip["seconds_removed"] is None

    assert [r.status for r in run_jobs(["CLIP_RENDER"])] == ["succeeded"]
    done = client.get(url, headers=h).json()
    # The transcript's words fill 80 % of each word slot (see _real_project): the pause runs
    # from the first sentence's last word to the second's first; 0.12 s is kept either side,
    # and only its quiet part is cut (the audio between the sentences is 0.6 s of silence).
    start, end, sentence = timeline[0]
    step = (end - start) / len(sentence.split())
    pause = timeline[1][0] - (end - 0.2 * step)
    assert 0.6 - 2 * 0.12 - 0.05 <= done["seconds_removed"] <= pause - 2 * 0.12 + 0.002
    rendered = probe(_download(client, h, clip["id"], tmp_path, "cut.mp4")).duration
    assert rendered == pytest.approx(done["duration"] - done["seconds_removed"], abs=0.1)
    ass = tmp_path / "cut.ass"
    ass.write_text(client.get(f"{url}/captions.ass", headers=h).text, encoding="utf-8")
    assert max(e.end for e in parse_ass(ass).events) <= rendered + 0.02

    # Bad fx is refused as a problem, and the clip is unchanged.
    for bad in (
        {"bleep": True, "mask_profanity": False},
        {"max_silence_s": 0.01},
        {"emoji": "yes please"},
        {"jump": True},
    ):
        r = client.patch(url, headers=h, json={"caption_fx": bad})
        assert r.status_code == 422, (bad, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    assert client.get(url, headers=h).json()["render_version"] == 1

    # Fields left out stay; null keeps every pause; the change re-renders.
    r = client.patch(url, headers=h, json={"caption_fx": {"max_silence_s": None, "bleep": True}})
    assert r.status_code == 200, r.text
    fx = r.json()["caption_fx"]
    assert (fx["max_silence_s"], fx["bleep"], fx["mask_profanity"]) == (None, True, True)
    assert r.json()["render_version"] == 2
    assert [x.status for x in run_jobs(["CLIP_RENDER"])] == ["succeeded"]
    assert client.get(url, headers=h).json()["seconds_removed"] == 0.0
