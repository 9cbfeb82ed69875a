"""What cannot be published ends as a failed schedule with a clear reason, and nothing is
posted: a clip that lost its render, a disconnected account, an account whose refresh
fails for good, an audience the creator does not offer, TikTok refusing the video."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from tests.publishing.helpers import (
    World,
    account_row,
    connect,
    cron_scan,
    job_statuses,
    make_due,
    posts_in_db,
    run_due_jobs,
    schedule,
    schedule_row,
)

from cliply.clips.models import Clip
from cliply.db.engine import owner_session
from cliply.jobs.queue import enqueue

# Every test here needs the database (or a server process): integration tier.
pytestmark = pytest.mark.integration


def _nothing_posted(world: World) -> None:
    assert world.fakes.tiktok.published_posts == []
    assert world.fakes.google.videos == []


def test_clip_without_render_fails_the_schedule(world: World) -> None:
    connect(world, "tiktok")
    s = schedule(world, "tiktok")
    with owner_session() as db:
        db.execute(
            update(Clip).where(Clip.id == world.clip_id).values(status="failed", render_key=None)
        )
    make_due(s["id"])
    cron_scan(world.api)
    ran = run_due_jobs()
    assert [r.status for r in ran] == ["failed"]
    row = schedule_row(s["id"])
    assert row.status == "failed" and "not rendered" in row.error
    (post,) = posts_in_db(world.workspace_id)
    assert post.status == "failed" and post.error == row.error
    _nothing_posted(world)
    body = world.api.get(f"/api/v1/schedules/{s['id']}", headers=world.h).json()
    assert body["status"] == "failed" and "not rendered" in body["error"]


def test_clip_still_rendering_waits(world: World) -> None:
    connect(world, "youtube")
    s = schedule(world, "youtube")
    with owner_session() as db:
        db.execute(update(Clip).where(Clip.id == world.clip_id).values(status="rendering"))
    make_due(s["id"])
    cron_scan(world.api)
    ran = run_due_jobs(limit=1)
    assert [r.status for r in ran] == ["queued"]  # retried later
    with owner_session() as db:
        db.execute(update(Clip).where(Clip.id == world.clip_id).values(status="ready"))
    assert [r.status for r in run_due_jobs()] == ["succeeded"]
    assert len(world.fakes.google.videos) == 1


def test_disconnected_account_fails_its_schedules(world: World) -> None:
    connect(world, "tiktok")
    later = schedule(world, "tiktok")
    now = schedule(world, "tiktok", scheduled_at=None)
    r = world.api.delete(f"/api/v1/accounts/{world.accounts['tiktok']['id']}", headers=world.h)
    assert r.status_code == 200
    for s in (later, now):
        row = schedule_row(s["id"])
        assert row.status == "failed" and "disconnected" in row.error
    ran = run_due_jobs()
    assert [r.result for r in ran] == [{"skipped": "failed", "schedule_id": now["id"]}]
    _nothing_posted(world)


def test_refresh_failing_for_good_marks_account_and_schedule(world: World) -> None:
    connect(world, "youtube")
    g = world.fakes.google
    for grant in g.refresh_tokens.values():
        grant.revoked = True  # the user revoked our access in their Google account
    s = schedule(world, "youtube", scheduled_at=None)
    ran = run_due_jobs()
    assert [r.status for r in ran] == ["failed"]
    row = schedule_row(s["id"])
    assert row.status == "failed" and "reconnect" in row.error
    account = world.api.get(
        f"/api/v1/accounts/{world.accounts['youtube']['id']}", headers=world.h
    ).json()
    assert account["status"] == "needs_reconnect"
    assert "revoked" in account["status_reason"]
    _nothing_posted(world)


def test_audience_the_creator_does_not_offer(world: World) -> None:
    connect(world, "tiktok")
    assert "FOLLOWER_OF_CREATOR" not in world.fakes.tiktok.config.privacy_level_options
    s = schedule(world, "tiktok", scheduled_at=None, privacy="followers")
    assert [r.status for r in run_due_jobs()] == ["failed"]
    row = schedule_row(s["id"])
    assert row.status == "failed" and "privacy" in row.error
    assert world.fakes.tiktok.publishes == {}


def test_tiktok_refusing_the_video(world: World) -> None:
    connect(world, "tiktok")
    world.fakes.tiktok.fail_publish_with("spam_risk_too_many_posts")
    s = schedule(world, "tiktok", scheduled_at=None)
    assert [r.status for r in run_due_jobs()] == ["failed"]
    row = schedule_row(s["id"])
    assert row.status == "failed" and "spam_risk_too_many_posts" in row.error
    _nothing_posted(world)
    # Editing a failed schedule schedules it again; this time TikTok takes it.
    r = world.api.patch(
        f"/api/v1/schedules/{s['id']}", json={"caption": "Second try"}, headers=world.h
    )
    assert r.status_code == 200 and r.json()["status"] == "queued"
    assert [r.status for r in run_due_jobs()] == ["succeeded"]
    assert len(world.fakes.tiktok.published_posts) == 1
    (post,) = posts_in_db(world.workspace_id)
    assert post.status == "published" and post.platform_post_id


def test_job_that_ended_without_an_outcome_fails_the_schedule(world: World) -> None:
    connect(world, "youtube")
    s = schedule(world, "youtube")
    make_due(s["id"])
    cron_scan(world.api)
    # The job died on its last attempt (e.g. its worker was killed every time).
    from sqlalchemy import text

    with owner_session() as db:
        db.execute(text("UPDATE jobs SET status = 'failed', error = 'Worker lost.'"))
    result = cron_scan(world.api)
    assert result["repaired"] == 1
    row = schedule_row(s["id"])
    assert row.status == "failed" and "Worker lost" in row.error


def test_account_of_another_workspace_cannot_be_used_by_a_job(world: World) -> None:
    """A forged job payload naming another workspace's schedule publishes nothing there."""
    connect(world, "youtube")
    s = schedule(world, "youtube")
    with owner_session() as db:
        enqueue(db, "PUBLISH_YOUTUBE", {"schedule_id": str(uuid.uuid4())}, workspace_id=None)
        enqueue(db, "PUBLISH_YOUTUBE", {"schedule_id": "not-a-uuid"}, workspace_id=None)
    ran = run_due_jobs()
    assert sorted(r.status for r in ran) == ["failed", "succeeded"]
    assert schedule_row(s["id"]).status == "scheduled"
    _nothing_posted(world)
    assert account_row(world.accounts["youtube"]["id"]).status == "active"
    assert len(job_statuses()) == 2
    assert datetime.now(UTC) < schedule_row(s["id"]).scheduled_at + timedelta(days=1)
