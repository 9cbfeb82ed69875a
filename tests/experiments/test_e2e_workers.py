"""An experiment from creation to a declared winner with real worker processes and the fake
platforms, no step by hand after creation: the variants render (CLIP_RENDER, one with another
hook and a chosen thumbnail frame), post to TikTok and YouTube on schedule, METRICS_COLLECT
reads their views (variant B truly has four times the views), EXPERIMENT_EVALUATE declares B."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from cliply.analytics.models import PostMetric
from cliply.clips.models import Clip
from cliply.db.engine import owner_session
from cliply.experiments.models import Experiment, VariantPost
from cliply.media import probe
from cliply.storage import app_storage
from tests.clips.test_editor import _real_project
from tests.conftest import reset_caches
from tests.experiments.helpers import jobs_of
from tests.publishing.helpers import World, connect

REPO = Path(__file__).resolve().parents[2]
WINNING = "Wait for it"
VIEWS = {True: 6000, False: 1500}  # views of B's posts, of A's


def _worker(kinds: str, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "cliply", "worker", "--kinds", kinds, "--slots", "2"],
        cwd=REPO,
        env=os.environ.copy(),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _audience_views(world: World) -> None:
    """What the platforms' audiences do: B's posts get four times A's views."""
    tt, g = world.fakes.tiktok, world.fakes.google
    with tt._lock:
        for post in tt.published_posts:
            post["view_count"] = VIEWS[WINNING in str(post.get("title") or "")]
    with g._lock:
        for video in g.videos:
            winning = WINNING in str((video.get("snippet") or {}).get("title") or "")
            g.stats[video["id"]] = {"viewCount": VIEWS[winning], "likeCount": 40}


def _experiment(exp_id: str) -> Experiment:
    with owner_session() as db:
        row = db.get(Experiment, uuid.UUID(exp_id))
        assert row is not None
        return row


# Its own wait for the winner is 420 s (worker start-up dominates on a loaded 2-core box);
# pytest's 300 s default would cut it first.
@pytest.mark.timeout(600)
@pytest.mark.usefixtures("fast_render")
def test_experiment_runs_to_a_winner_with_workers(
    world: World,
    talk_video: tuple[Path, list[tuple[float, float, str]]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in {
        "EXPERIMENT_EVALUATE_INTERVAL_S": "2",
        "EXPERIMENT_ACCOUNT_WINDOW_S": "5",
        "METRICS_SCAN_INTERVAL_S": "10",
        "METRICS_HOURLY_EVERY_S": "1",
        "JOB_POLL_S": "0.5",
    }.items():
        monkeypatch.setenv(name, value)
    reset_caches()
    video, timeline = talk_video
    pid = _real_project(world.workspace_id, video, timeline)
    with owner_session() as db:
        base = Clip(
            workspace_id=world.workspace_id,
            project_id=pid,
            start_s=timeline[0][0],
            end_s=timeline[1][1],
            title="Why bread rises",
            description="Bread, explained.",
            hashtags=["#bread"],
            status="ready",
            render_version=1,
        )
        db.add(base)
        db.flush()
        base_id = base.id
    tt, yt = connect(world, "tiktok"), connect(world, "youtube")
    r = world.api.post(
        "/api/v1/experiments",
        json={
            "clip_id": str(base_id),
            "name": "Question or answer first?",
            "variants": [
                {"label": "A"},
                {
                    "label": "B",
                    "hook_sentence": 1,
                    "title": WINNING,
                    "caption": f"{WINNING}: the yeast does it",
                    "thumbnail_at": 1.0,
                },
            ],
            "schedule": {"account_ids": [tt["id"], yt["id"]], "mode": "all"},
        },
        headers=world.h,
    )
    assert r.status_code == 201, r.text
    exp = r.json()
    a, b = exp["variants"]
    assert b["changes"]["hook"]["sentence"] == 1
    assert b["changes"]["hook"]["text"].startswith("Yeast eats the sugar")

    logs = [tmp_path / "cpu.log", tmp_path / "publish.log"]
    procs = [_worker("cpu", logs[0]), _worker("publish", logs[1])]

    def tails() -> str:
        return "\n".join(p.read_text()[-3000:] for p in logs)

    try:
        deadline = time.monotonic() + 420
        while _experiment(exp["id"]).status != "ended":
            for proc in procs:
                assert proc.poll() is None, tails()
            assert time.monotonic() < deadline, tails()
            _audience_views(world)
            time.sleep(0.5)
    finally:
        for proc in procs:
            _stop(proc)

    done = _experiment(exp["id"])
    assert done.stop_reason == "threshold", done.stats
    assert str(done.winner_variant_id) == b["id"]
    # Every step ran in the workers: both renders, the posts, the metrics, the evaluation.
    assert {j.status for j in jobs_of("CLIP_RENDER")} == {"succeeded"}
    assert any(j.status == "succeeded" for j in jobs_of("METRICS_COLLECT"))
    assert any(j.status == "succeeded" for j in jobs_of("EXPERIMENT_EVALUATE"))
    with owner_session() as db:
        clips = {str(c.id): c for c in db.scalars(select(Clip).where(Clip.origin == "variant"))}
        links = db.execute(select(VariantPost.variant_id, VariantPost.post_id)).tuples().all()
        measured = db.scalar(select(func.count()).select_from(PostMetric))
    assert {str(v) for v, _ in links} == {a["id"], b["id"]} and measured
    ca, cb = clips[a["clip_id"]], clips[b["clip_id"]]
    assert ca.status == cb.status == "ready" and ca.render_key and cb.render_key
    # B starts at the second sentence: its render is shorter by the first one.
    assert abs(cb.start_s - timeline[1][0]) < 0.3
    storage = app_storage()
    durations = []
    for clip in (ca, cb):
        assert clip.render_key is not None
        path = tmp_path / f"{clip.id}.mp4"
        path.write_bytes(storage.read_bytes(clip.render_key))
        durations.append(probe(path).duration)
    assert durations[0] - durations[1] > (timeline[0][1] - timeline[0][0]) * 0.8
    # The winner's numbers, live from the API.
    got: dict[str, Any] = world.api.get(f"/api/v1/experiments/{exp['id']}", headers=world.h).json()
    sa, sb = (v["stats"] for v in got["variants"])
    assert sb["p_best"] > 0.95 > sa["p_best"] and sb["mean"] > sa["mean"]
    assert got["ready"] and got["winner_variant_id"] == b["id"]
