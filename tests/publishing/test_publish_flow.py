"""End to end against the fake platforms: connect, schedule a rendered clip on TikTok and
YouTube, the scan fires, and exactly one post appears on each platform, through expired
tokens, dropped chunks, 5xx, and crashes after the platform accepted the upload."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from tests.publishing.helpers import (
    World,
    account_row,
    connect,
    cron_scan,
    job_statuses,
    make_due,
    posts_in_db,
    reclaim_dead_jobs,
    run_due_jobs,
    schedule,
    schedule_row,
)

from cliply.integrations.youtube import post_marker
from cliply.publishing import hooks
from cliply.schedules.tasks import scan_schedules

REPO = Path(__file__).resolve().parents[2]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _one_post_each(world: World) -> dict[str, Any]:
    """Exactly one post per platform, with our rows showing their ids and URLs."""
    tt, g = world.fakes.tiktok, world.fakes.google
    assert len(tt.published_posts) == 1, tt.published_posts
    assert len(g.videos) == 1, g.videos
    sha = _sha(world.video)
    tt_post, video = tt.published_posts[0], g.videos[0]
    assert tt_post["sha256"] == sha
    assert g.video_bytes[video["id"]] == sha
    rows = {p.platform: p for p in posts_in_db(world.workspace_id)}
    assert set(rows) == {"tiktok", "youtube"} and len(posts_in_db(world.workspace_id)) == 2
    assert rows["tiktok"].status == "published"
    assert rows["tiktok"].platform_post_id == tt_post["post_id"]
    assert rows["tiktok"].url == (
        f"https://www.tiktok.com/@{tt.config.username}/video/{tt_post['post_id']}"
    )
    assert rows["youtube"].status == "published"
    assert rows["youtube"].platform_post_id == video["id"]
    assert rows["youtube"].url == f"https://www.youtube.com/shorts/{video['id']}"
    return {"tiktok": tt_post, "youtube": video, "rows": rows}


def test_scheduled_clip_is_published_once_on_each_platform(world: World) -> None:
    connect(world, "tiktok")
    connect(world, "youtube")
    a = schedule(world, "tiktok", privacy="private")
    b = schedule(world, "youtube", privacy="unlisted", title="Our first short")
    assert run_due_jobs() == []  # nothing is due yet

    make_due(a["id"])
    assert cron_scan(world.api)["schedule_ids"] == [a["id"]]
    make_due(b["id"])
    assert scan_schedules() == 1
    ran = run_due_jobs()
    assert sorted(r.kind for r in ran) == ["PUBLISH_TIKTOK", "PUBLISH_YOUTUBE"]
    assert all(r.status == "succeeded" for r in ran), ran

    got = _one_post_each(world)
    tt_post, video = got["tiktok"], got["youtube"]
    assert tt_post["title"] == "Made with Cliply #cliply #demo"
    assert tt_post["privacy_level"] == "SELF_ONLY"
    assert video["snippet"]["title"] == "Our first short"
    assert video["status"]["privacyStatus"] == "unlisted"
    assert post_marker(got["rows"]["youtube"].id) in video["snippet"]["tags"]
    assert "#Shorts" in video["snippet"]["description"]
    assert "#demo" in video["snippet"]["description"]

    for sid in (a["id"], b["id"]):
        s = world.api.get(f"/api/v1/schedules/{sid}", headers=world.h).json()
        assert s["status"] == "published" and s["post"]["url"]
    posts = world.api.get("/api/v1/posts", headers=world.h).json()["items"]
    assert {p["platform"] for p in posts} == {"tiktok", "youtube"}
    assert all(p["status"] == "published" and p["url"] for p in posts)
    assert all("upload_ref" not in p for p in posts)
    only = world.api.get(
        "/api/v1/posts", params={"account_id": world.accounts["youtube"]["id"]}, headers=world.h
    ).json()["items"]
    assert [p["platform"] for p in only] == ["youtube"]
    by_clip = world.api.get(
        "/api/v1/posts",
        params={"clip_id": str(world.clip_id), "status": "published"},
        headers=world.h,
    ).json()["items"]
    assert len(by_clip) == 2
    assert (
        world.api.get("/api/v1/posts", params={"status": "failed"}, headers=world.h).json()["items"]
        == []
    )

    # Scanning and running again changes nothing; so does running the same job again.
    assert cron_scan(world.api)["claimed"] == 0
    assert run_due_jobs() == []
    from cliply.db.engine import owner_session
    from cliply.jobs.queue import enqueue

    with owner_session() as db:
        enqueue(db, "PUBLISH_TIKTOK", {"schedule_id": a["id"]}, workspace_id=world.workspace_id)
    assert [r.status for r in run_due_jobs()] == ["succeeded"]
    _one_post_each(world)


def test_expired_tokens_dropped_chunks_and_server_errors(world: World) -> None:
    connect(world, "tiktok")
    connect(world, "youtube")
    tt, g = world.fakes.tiktok, world.fakes.google
    tokens_before = (len(tt.access_tokens), len(g.access_tokens))
    # The platforms' clocks move on: the access tokens we hold are now rejected (401).
    tt.advance(2 * 86400)
    g.advance(2 * 3600)
    tt_faults, g_faults = world.fakes.tiktok_server.faults, world.fakes.google_server.faults
    tt_faults.fail_next("POST", "/v2/post/publish/video/init/", status=500)  # job retry
    tt_faults.drop_next("PUT", "/video/", after_body_bytes=1000)
    tt_faults.fail_next("PUT", "/video/", status=503)
    tt_faults.fail_next("POST", "/v2/post/publish/status/fetch/", status=502, count=2)
    g_faults.fail_next("POST", "/upload/youtube/v3/videos", status=503)
    g_faults.drop_next("PUT", "/upload/youtube/v3/videos", after_body_bytes=5000)
    g_faults.fail_next("PUT", "/upload/youtube/v3/videos", status=500)
    g_faults.drop_response_next("PUT", "/upload/youtube/v3/videos")

    a = schedule(world, "tiktok")
    b = schedule(world, "youtube")
    make_due(a["id"])
    make_due(b["id"])
    assert cron_scan(world.api)["claimed"] == 2
    ran = run_due_jobs()
    outcomes = sorted((r.kind, r.status) for r in ran)
    # TikTok's init answered 500 once: that attempt is retried by the queue.
    assert outcomes == [
        ("PUBLISH_TIKTOK", "queued"),
        ("PUBLISH_TIKTOK", "succeeded"),
        ("PUBLISH_YOUTUBE", "succeeded"),
    ], ran
    got = _one_post_each(world)
    assert got["rows"]["tiktok"].attempts == 2
    assert got["rows"]["youtube"].attempts == 1
    assert len(tt.publishes) == 1  # the failed init never reached TikTok
    assert len(g.sessions) == 1
    kinds = {kind for kind, _, _ in tt_faults.injected} | {k for k, _, _ in g_faults.injected}
    assert kinds == {"fail", "drop"}
    assert len(tt_faults.injected) == 5 and len(g_faults.injected) == 4
    # Both accounts were refreshed after the 401s and stay active.
    assert len(tt.access_tokens) > tokens_before[0] and len(g.access_tokens) > tokens_before[1]
    for platform in ("tiktok", "youtube"):
        assert account_row(world.accounts[platform]["id"]).status == "active"


def test_youtube_crash_after_upload_accepted_resumes_session(world: World) -> None:
    connect(world, "youtube")
    s = schedule(world, "youtube", scheduled_at=None)  # publish now

    def crash(platform: str, post_id: Any, ref: str) -> None:
        raise SystemExit("worker killed after YouTube accepted the upload")

    hooks.after_upload.append(crash)
    try:
        with pytest.raises(SystemExit):
            run_due_jobs()
    finally:
        hooks.after_upload.remove(crash)
    g = world.fakes.google
    assert len(g.videos) == 1
    (post,) = posts_in_db(world.workspace_id)
    assert post.upload_ref and post.platform_post_id is None  # our commit never happened
    puts = g.upload_puts

    assert reclaim_dead_jobs() == 1
    ran = run_due_jobs()
    assert [r.status for r in ran] == ["succeeded"]
    assert len(g.videos) == 1
    (post,) = posts_in_db(world.workspace_id)
    assert post.platform_post_id == g.videos[0]["id"] and post.attempts == 2
    assert g.upload_puts == puts + 1  # one status query, no bytes sent again
    assert schedule_row(s["id"]).status == "published"


def test_youtube_crash_then_session_expired_finds_video_by_marker(world: World) -> None:
    connect(world, "youtube")
    schedule(world, "youtube", scheduled_at=None)

    def crash(platform: str, post_id: Any, ref: str) -> None:
        raise SystemExit("killed")

    hooks.after_upload.append(crash)
    try:
        with pytest.raises(SystemExit):
            run_due_jobs()
    finally:
        hooks.after_upload.remove(crash)
    g = world.fakes.google
    g.expire_sessions()
    reclaim_dead_jobs()
    assert [r.status for r in run_due_jobs()] == ["succeeded"]
    assert len(g.videos) == 1 and len(g.sessions) == 1  # no second session was opened
    (post,) = posts_in_db(world.workspace_id)
    assert post.platform_post_id == g.videos[0]["id"]


def test_tiktok_incomplete_upload_is_started_again(world: World) -> None:
    connect(world, "tiktok")
    s = schedule(world, "tiktok", scheduled_at=None)
    # Every try of the only chunk is cut off: the attempt gives up with the upload incomplete.
    world.fakes.tiktok_server.faults.drop_next("PUT", "/video/", after_body_bytes=100, count=6)
    first = run_due_jobs()
    assert [r.status for r in first][:1] == ["queued"]
    tt = world.fakes.tiktok
    assert len(tt.publishes) == 2 and len(tt.published_posts) == 1
    incomplete = [p for p in tt.publishes.values() if not p.complete]
    assert len(incomplete) == 1 and not incomplete[0].received
    (post,) = posts_in_db(world.workspace_id)
    assert post.status == "published" and post.upload_ref != incomplete[0].publish_id
    assert schedule_row(s["id"]).status == "published"


def test_killed_worker_process_does_not_post_twice(world: World, tmp_path: Path) -> None:
    """A real `cliply worker` is SIGKILLed once TikTok holds the whole upload (TikTok keeps
    the post processing meanwhile); the job is reclaimed and run again."""
    connect(world, "tiktok")
    tt = world.fakes.tiktok
    tt.config.processing_polls = 10**9  # keep it processing until the worker is dead
    s = schedule(world, "tiktok", scheduled_at=None)
    log = tmp_path / "worker.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cliply",
            "worker",
            "--kinds",
            "PUBLISH_TIKTOK",
            "--slots",
            "1",
            "--no-scheduler",
        ],
        cwd=REPO,
        env=os.environ.copy(),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while not any(p.complete for p in tt.publishes.values()):
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.02)
        time.sleep(0.2)  # it is now polling the status
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert [st for _, st, _ in job_statuses()] == ["running"]
    (post,) = posts_in_db(world.workspace_id)
    assert post.upload_ref in tt.publishes and post.platform_post_id is None
    puts = tt.upload_puts

    tt.config.processing_polls = 0
    assert reclaim_dead_jobs() == 1
    assert [r.status for r in run_due_jobs()] == ["succeeded"]
    assert tt.upload_puts == puts  # nothing uploaded again
    assert len(tt.publishes) == 1 and len(tt.published_posts) == 1
    (post,) = posts_in_db(world.workspace_id)
    assert post.platform_post_id == tt.published_posts[0]["post_id"]
    assert schedule_row(s["id"]).status == "published"
