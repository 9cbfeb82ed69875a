"""The clip download route for editors: OTIO and FCPXML timelines of the source with the
clip's in/out points and crop keyframes, and SRT, written by the render job."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
import pytest
from fastapi.testclient import TestClient

from tests.clips.test_editor import _real_project, _ws
from tests.pipeline.jobrunner import run_jobs
from tests.projects.helpers import owner_ws

pytestmark = pytest.mark.integration


def _seconds(value: str | None) -> float:
    assert value is not None and value.endswith("s")
    return float(Fraction(value[:-1]))


@pytest.mark.usefixtures("fast_render")
def test_clip_exports_for_editors(
    client: TestClient, talk_video: tuple[Path, list[tuple[float, float, str]]]
) -> None:
    video, timeline = talk_video
    _, h = owner_ws(client)
    pid = _real_project(_ws(h), video, timeline)
    s0, e0, _ = timeline[1]
    clip = client.post(
        f"/api/v1/projects/{pid}/clips", headers=h, json={"start": s0, "end": e0}
    ).json()
    url = f"/api/v1/clips/{clip['id']}/export"
    early = client.get(f"{url}/otio", headers=h)
    assert early.status_code == 409 and early.json()["type"].endswith("/clip-not-rendered")
    assert [r.status for r in run_jobs(["CLIP_RENDER"])] == ["succeeded"]
    saved = client.get(f"/api/v1/clips/{clip['id']}", headers=h).json()

    r = client.get(f"{url}/otio", headers=h)
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    tl = otio.adapters.read_from_string(r.text, "otio_json")
    (cut,) = tl.video_tracks()[0].find_clips()
    assert cut.source_range.start_time.to_seconds() == pytest.approx(saved["start"], abs=0.05)
    assert cut.source_range.duration.to_seconds() == pytest.approx(
        saved["end"] - saved["start"], abs=0.05
    )
    crop = cut.metadata["cliply"]["crop"]
    assert crop["keyframes"] and list(crop["output_size"]) == [saved["width"], saved["height"]]

    r = client.get(f"{url}/fcpxml", headers=h)
    assert r.status_code == 200
    root = ET.fromstring(r.content)
    asset_clip = root.find(".//spine/asset-clip")
    assert asset_clip is not None
    assert _seconds(asset_clip.get("start")) == pytest.approx(saved["start"], abs=0.05)
    assert _seconds(asset_clip.get("duration")) == pytest.approx(
        saved["end"] - saved["start"], abs=0.05
    )
    assert asset_clip.find("adjust-crop/trim-rect") is not None

    srt = client.get(f"{url}/srt", headers=h)
    assert srt.status_code == 200 and srt.text.startswith("1\n00:00:00")

    bad = client.get(f"{url}/edl", headers=h)
    assert bad.status_code == 422 and bad.json()["type"].endswith("/invalid-export-format")
    other = client.get(f"/api/v1/clips/{uuid.uuid4()}/export/otio", headers=h)
    assert other.status_code == 404
