"""A workspace that adopted learnt score weights gets its clips scored with them by the real
HIGHLIGHT_DETECT job (queue → handler → clips), and each reason shows the workspace's points
next to the defaults'; a workspace without learnt weights is scored exactly as before."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from cliply.analytics import service
from cliply.db.engine import owner_session
from cliply.highlights.scoring import DEFAULT_WEIGHTS
from cliply.jobs import registry
from cliply.jobs.queue import enqueue
from cliply.projects.models import Project
from cliply.storage import app_storage
from cliply.storage.keys import source_video_key, transcript_key
from cliply.transcribe.formats import to_json
from tests.foundation.helpers import make_workspace
from tests.highlights.builders import build_transcript
from tests.mediagen import H264_FAST, TOPIC_SENTENCES, ffmpeg_lavfi
from tests.pipeline.jobrunner import run_jobs
from tests.publishing.helpers import World

# Every test here needs the database and the fakes: integration tier.
pytestmark = pytest.mark.integration

# An audience that rewards pace and information density only.
LEARNT = {n: 0.0 for n in DEFAULT_WEIGHTS} | {"pace": 0.5, "density": 0.5}


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("learnt") / "talk.mp4"
    return ffmpeg_lavfi(
        out,
        ["color=c=gray:s=160x90:r=5:d=90", "sine=f=220:sample_rate=16000:d=90"],
        *H264_FAST,
        "-c:a",
        "aac",
        "-shortest",
    )


def _project(workspace_id: uuid.UUID, video: Path) -> uuid.UUID:
    """A transcribed project (source video and transcript stored), HIGHLIGHT_DETECT queued."""
    sentences = [s for topic in TOPIC_SENTENCES for s in topic]
    transcript = build_transcript(sentences, words_per_s=2.0, gap_s=0.8)
    storage = app_storage()
    with owner_session() as db:
        p = Project(
            workspace_id=workspace_id, name="Talk", source_type="upload", status="detecting"
        )
        db.add(p)
        db.flush()
        p.source_key = source_video_key(workspace_id, p.id, "mp4")
        storage.put_file(p.source_key, video, content_type="video/mp4")
        storage.put_bytes(transcript_key(workspace_id, p.id, "json"), to_json(transcript).encode())
        enqueue(
            db,
            registry.HIGHLIGHT_DETECT,
            {"project_id": str(p.id)},
            workspace_id=workspace_id,
            project_id=p.id,
        )
        return p.id


def _clips(world: World, headers: dict[str, str], pid: uuid.UUID) -> list[dict[str, Any]]:
    r = world.api.get(f"/api/v1/projects/{pid}/clips", headers=headers)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    assert items
    return items


def test_adopted_weights_score_new_clips_and_reasons_show_the_workspace_points(
    world: World, source: Path
) -> None:
    other = make_workspace(world.api, world.owner)
    other_id, other_h = uuid.UUID(other["id"]), world.owner.ws(other["id"])
    with owner_session() as db:
        service.store_weights(db, world.workspace_id, LEARNT, 60, 0.7, 0.2)

    mine, theirs = _project(world.workspace_id, source), _project(other_id, source)
    ran = run_jobs([registry.HIGHLIGHT_DETECT])
    assert [r.status for r in ran] == ["succeeded", "succeeded"], ran
    assert {r.events[0][2]["learnt_weights"] for r in ran} == {True, False}

    learnt, default = _clips(world, world.h, mine), _clips(world, other_h, theirs)
    # Without learnt weights nothing changes: default weights, no comparison in the reasons.
    for c in default:
        for r in c["reasons"]:
            assert r["default_points"] is None and "your audience" not in r["reason"]
            if r["available"]:
                assert r["weight"] > 0
        assert abs(sum(r["points"] for r in c["reasons"]) - c["score"]) < 0.05
    # With them: only pace and density carry points, the others say what the default gave.
    default_scores = {(c["start"], c["end"]): c["score"] for c in default}
    notes = []
    for c in learnt:
        by = {r["name"]: r for r in c["reasons"]}
        assert by["hook"]["points"] == 0.0 and by["hook"]["weight"] == 0.0
        assert by["pace"]["weight"] > 0 and by["density"]["weight"] > 0
        assert abs(sum(r["points"] for r in c["reasons"]) - c["score"]) < 0.05
        assert all(r["default_points"] is not None for r in c["reasons"] if r["available"])
        notes += [r["reason"] for r in c["reasons"] if "your audience" in r["reason"]]
        window = (c["start"], c["end"])
        if window in default_scores:  # the same moment: the defaults' points are its old score
            old = sum(r["default_points"] or 0.0 for r in c["reasons"])
            assert abs(old - default_scores[window]) < 0.1
            assert abs(c["score"] - default_scores[window]) > 0.5
    assert any(
        f"cares less about strong hooks: +0 instead of +{round(r['default_points'])}" in r["reason"]
        for c in learnt
        for r in c["reasons"]
        if r["name"] == "hook" and r["default_points"] >= 0.5
    ), notes
    assert any("your audience rewards" in n for n in notes), notes
    assert {(c["start"], c["end"], c["score"]) for c in learnt} != {
        (c["start"], c["end"], c["score"]) for c in default
    }
