"""Metrics collection: from the fake platforms into post_metrics through a real worker
process; a time series with no row when nothing changed; gone posts; the cadence; YouTube's
daily quota; 429 / 401 / failed refresh; nothing lost or doubled across retries and runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cliply.analytics import flows, service
from cliply.analytics.models import PlatformQuotaUsage
from cliply.db.engine import owner_session
from tests.analytics.helpers import add_posts, make_all_due, snapshot_count, snapshots, state
from tests.conftest import reset_caches
from tests.publishing.helpers import (
    World,
    account_row,
    connect,
    job_statuses,
    posts_in_db,
    run_due_jobs,
    schedule,
)

REPO = Path(__file__).resolve().parents[2]
KINDS = [flows.METRICS_COLLECT]


def _worker(log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "cliply", "worker", "--kinds", ",".join(KINDS)),
            *("--slots", "2", "--no-scheduler"),
        ],
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


def test_metrics_flow_into_post_metrics_through_a_worker_process(
    world: World, tmp_path: Path
) -> None:
    tt, g = world.fakes.tiktok, world.fakes.google
    connect(world, "tiktok")
    connect(world, "youtube")
    schedule(world, "tiktok", scheduled_at=None, privacy="private")
    schedule(world, "youtube", scheduled_at=None, privacy="unlisted")
    assert [r.status for r in run_due_jobs()] == ["succeeded", "succeeded"]
    rows = {p.platform: p for p in posts_in_db(world.workspace_id)}

    assert flows.scan() == 2  # both accounts have a post never measured
    assert flows.scan() == 2  # queued once per account (dedupe), however often it scans
    log = tmp_path / "worker.log"
    proc = _worker(log)
    try:
        deadline = time.monotonic() + 120
        while [s for k, s, _ in job_statuses() if k in KINDS] != ["succeeded", "succeeded"]:
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.1)
    finally:
        _stop(proc)
    tiktok_id, youtube_id = rows["tiktok"].id, rows["youtube"].id
    assert snapshots(tiktok_id) == [{"views": 1500, "likes": 90, "comments": 12, "shares": 5}]
    assert snapshots(youtube_id) == [{"views": 800, "likes": 40, "comments": 3, "shares": 0}]
    # ... and out through the analytics API: totals, each post's series with YouTube
    # Analytics' figures (the account granted yt-analytics.readonly at connect).
    api, h = world.api, world.h
    overview = api.get("/api/v1/analytics/overview", headers=h).json()
    assert overview["total"]["views"] == 1500 + 800 and overview["total"]["posts"] == 2
    assert {p["key"]: p["views"] for p in overview["platforms"]} == {"tiktok": 1500, "youtube": 800}
    (yt,) = api.get(f"/api/v1/analytics/posts/{youtube_id}/series", headers=h).json()["items"]
    assert (yt["views"], yt["watch_time_s"], yt["avg_view_percentage"]) == (800, 12000.0, 62.5)
    assert yt["subscribers_gained"] == 2 and g.analytics_calls == 1
    (tt_snap,) = api.get(f"/api/v1/analytics/posts/{tiktok_id}/series", headers=h).json()["items"]
    assert tt_snap["views"] == 1500 and tt_snap["avg_view_percentage"] is None
    clip = api.get(f"/api/v1/analytics/clips/{world.clip_id}", headers=h).json()
    assert clip["views"] == 2300 and {i["watch_through"] for i in clip["items"]} == {None, 0.625}
    # Measured a moment ago: hourly cadence, nothing due now.
    st = state(tiktok_id)
    assert st is not None and st.next_due_at is not None and st.last_checked_at is not None
    assert st.next_due_at - st.last_checked_at == timedelta(hours=1)
    assert flows.scan() == 0

    # An hour later: TikTok's counters moved, YouTube's did not (no row), then YouTube's
    # video is deleted: marked on the post, and never asked for again.
    make_all_due()
    tt.published_posts[0]["view_count"] = 2400
    assert flows.scan() == 2
    ran = run_due_jobs(KINDS)
    assert [r.status for r in ran] == ["succeeded", "succeeded"], ran
    assert [s["views"] for s in snapshots(tiktok_id)] == [1500, 2400]
    assert len(snapshots(youtube_id)) == 1
    g.videos.clear()
    make_all_due()
    assert flows.scan() == 2
    ran = run_due_jobs(KINDS)
    assert sorted((r.result or {}).get("gone", 0) for r in ran) == [0, 1]
    (yt_post,) = [p for p in posts_in_db(world.workspace_id) if p.platform == "youtube"]
    assert yt_post.gone_at is not None
    yt_state = state(youtube_id)
    assert yt_state is not None and yt_state.gone_at is not None
    make_all_due()
    calls = g.stats_calls
    assert flows.scan() == 1  # only TikTok's post is still measured
    run_due_jobs(KINDS)
    assert g.stats_calls == calls
    posts = world.api.get("/api/v1/posts", headers=world.h).json()["items"]
    assert {p["platform"]: p["gone_at"] is not None for p in posts} == {
        "tiktok": False,
        "youtube": True,
    }


def test_cadence_decays_with_post_age() -> None:
    assert service.interval_for(timedelta(hours=1)) == timedelta(hours=1)
    assert service.interval_for(timedelta(hours=47)) == timedelta(hours=1)
    assert service.interval_for(timedelta(hours=49)) == timedelta(days=1)
    assert service.interval_for(timedelta(days=29)) == timedelta(days=1)
    assert service.interval_for(timedelta(days=31)) == timedelta(days=7)
    assert service.interval_for(timedelta(days=89)) == timedelta(days=7)
    assert service.interval_for(timedelta(days=91)) is None


def test_old_posts_are_not_measured(world: World) -> None:
    account = connect(world, "youtube")
    add_posts(
        world.workspace_id, world.clip_id, account["id"], "youtube", ["old"], age=timedelta(days=91)
    )
    assert flows.scan() == 0


def _youtube_videos(world: World, n: int) -> list[str]:
    ids = [f"vid{i:05d}" for i in range(n)]
    g = world.fakes.google
    g.videos.extend({"id": i, "snippet": {"title": i}, "status": {}} for i in ids)
    for k, i in enumerate(ids):
        g.stats[i] = {"viewCount": 100 + k, "likeCount": k}
    return ids


def test_youtube_quota_stops_a_run_and_the_next_day_carries_on(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    g = world.fakes.google
    account = connect(world, "youtube")
    ids = _youtube_videos(world, 120)  # three calls of 50
    post_ids = add_posts(world.workspace_id, world.clip_id, account["id"], "youtube", ids)
    monkeypatch.setenv("YOUTUBE_DAILY_QUOTA_UNITS", "2")
    reset_caches()
    # A server error on the first call is retried by the client (no unit of ours lost).
    world.fakes.google_server.faults.fail_next("GET", "/youtube/v3/videos", status=503)
    assert flows.scan() == 1
    (ran,) = run_due_jobs(KINDS)
    assert ran.status == "succeeded" and ran.result is not None
    assert ran.result["stopped"] == "quota" and ran.result["quota_units"] == 2
    assert ran.result["snapshots"] == 100
    assert snapshot_count(world.workspace_id) == 100
    today = datetime.now(UTC).date()
    with owner_session() as db:
        assert service.quota_used(db, "youtube", today) == 2
    # The quota is spent: another run today makes no call at all.
    calls = g.stats_calls
    assert flows.scan() == 1
    (ran,) = run_due_jobs(KINDS)
    assert ran.result is not None and ran.result["stopped"] == "quota"
    assert g.stats_calls == calls
    # A new day (the quota counter resets): the 20 left are measured, none twice.
    with owner_session() as db:
        db.query(PlatformQuotaUsage).delete()
    assert flows.scan() == 1
    (ran,) = run_due_jobs(KINDS)
    assert (
        ran.result is not None and ran.result["snapshots"] == 20 and ran.result["stopped"] is None
    )
    assert snapshot_count(world.workspace_id) == 120
    assert all(len(snapshots(p)) == 1 for p in post_ids[:3] + post_ids[-3:])
    assert flows.scan() == 0


def test_rate_limit_expired_token_and_failed_refresh(world: World) -> None:
    tt = world.fakes.tiktok
    account = connect(world, "tiktok")
    schedule(world, "tiktok", scheduled_at=None, privacy="private")
    assert [r.status for r in run_due_jobs()] == ["succeeded"]
    (post,) = posts_in_db(world.workspace_id)
    # TikTok's clock moves on (our token is rejected: 401, refreshed) and it rate-limits once.
    tt.advance(2 * 86400)
    world.fakes.tiktok_server.faults.fail_next(
        "POST", "/v2/video/query/", status=429, headers={"Retry-After": "0"}
    )
    assert flows.scan() == 1
    got = run_due_jobs(KINDS)
    assert len(got) == 1, got
    (ran,) = got
    assert ran.status == "succeeded", ran
    assert ran.result is not None and ran.result["snapshots"] == 1
    assert len(snapshots(post.id)) == 1
    # The grant is revoked at TikTok: the refresh fails for good, the account must reconnect.
    tt.refresh_tokens.clear()
    tt.advance(2 * 86400)
    make_all_due()
    assert flows.scan() == 1
    (ran,) = run_due_jobs(KINDS)
    assert ran.status == "succeeded" and ran.result is not None
    assert ran.result["stopped"] == "needs_reconnect"
    assert account_row(account["id"]).status == "needs_reconnect"
    assert len(snapshots(post.id)) == 1


def test_account_without_the_metrics_scope_is_not_measured(world: World) -> None:
    account = connect(world, "tiktok")
    add_posts(world.workspace_id, world.clip_id, account["id"], "tiktok", ["123"])
    from cliply.accounts.models import ConnectedAccount

    with owner_session() as db:
        row = db.get(ConnectedAccount, uuid.UUID(account["id"]))
        assert row is not None
        row.scopes = "user.info.basic,video.publish,video.upload"
    assert flows.scan() == 1
    (ran,) = run_due_jobs(KINDS)
    assert ran.result is not None and ran.result["stopped"] == "reconnect_for_analytics"
    assert world.fakes.tiktok.video_query_calls == 0
