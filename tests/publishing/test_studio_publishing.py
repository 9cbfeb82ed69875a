"""Publishing backend for Studio: post forms from the platform (TikTok creator_info, nothing
pre-selected), many clips on many accounts in one request (times or one a day at 18:00),
retrying failed posts, and each account's health."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update
from tests.publishing.helpers import World, add_clip, connect, run_due_jobs

from cliply.accounts.models import ConnectedAccount
from cliply.db.engine import owner_session
from cliply.schedules.batch import Spread, spread_times


def _batch(world: World, **body: Any) -> Any:
    return world.api.post("/api/v1/schedules/batch", json=body, headers=world.h)


def test_post_form_follows_creator_info(world: World) -> None:
    tt = connect(world, "tiktok")
    yt = connect(world, "youtube")
    world.fakes.tiktok.config.privacy_level_options = ("FOLLOWER_OF_CREATOR", "SELF_ONLY")
    form = world.api.get(f"/api/v1/accounts/{tt['id']}/post-form", headers=world.h).json()
    assert form["usable"] is True and form["platform"] == "tiktok"
    fields = {f["name"]: f for f in form["fields"]}
    privacy = fields["privacy"]
    assert privacy["required"] is True and privacy["default"] is None  # nothing pre-selected
    assert [c["value"] for c in privacy["choices"]] == ["followers", "private"]
    assert form["max_duration_s"] and form["max_duration_s"] > 0

    yform = world.api.get(f"/api/v1/accounts/{yt['id']}/post-form", headers=world.h).json()
    names = [f["name"] for f in yform["fields"]]
    for name in ("title", "description", "tags", "privacy", "made_for_kids"):
        assert name in names
    kids = next(f for f in yform["fields"] if f["name"] == "made_for_kids")
    assert kids["required"] and kids["default"] is None

    # An account that cannot post says why; the form still lists the fields.
    with owner_session() as db:
        db.execute(
            update(ConnectedAccount)
            .where(ConnectedAccount.id == uuid.UUID(tt["id"]))
            .values(status="needs_reconnect", status_reason="refresh token revoked")
        )
    form = world.api.get(f"/api/v1/accounts/{tt['id']}/post-form", headers=world.h).json()
    assert form["usable"] is False and "refresh token revoked" in form["problem"]


def test_batch_spread_one_a_day_on_two_accounts_then_posted(world: World) -> None:
    tt, yt = connect(world, "tiktok"), connect(world, "youtube")
    _, second = add_clip(world.workspace_id, world.video, project_id=world.project_id)
    clips = [str(world.clip_id), str(second)]
    body = {
        "clip_ids": clips,
        "account_ids": [tt["id"], yt["id"]],
        "timezone": "Europe/Berlin",
        "spread": {"at": "18:00"},
        "fields": {
            "tiktok": {"privacy": "public", "disable_duet": True},
            "youtube": {"privacy": "unlisted", "made_for_kids": "false", "tags": ["#a", "b"]},
        },
    }
    r = _batch(world, **body)
    assert r.status_code == 201, r.text
    rows = r.json()
    assert len(rows) == 4
    berlin = ZoneInfo("Europe/Berlin")
    local = sorted({datetime.fromisoformat(s["scheduled_at"]).astimezone(berlin) for s in rows})
    assert len(local) == 2 and all((t.hour, t.minute) == (18, 0) for t in local)
    assert (local[1].date() - local[0].date()).days == 1
    by = {(s["clip_id"], s["platform"]): s for s in rows}
    assert by[(clips[0], "youtube")]["privacy"] == "unlisted"
    assert by[(clips[0], "youtube")]["options"]["made_for_kids"] is False
    assert by[(clips[0], "youtube")]["hashtags"] == ["a", "b"]
    assert by[(clips[1], "tiktok")]["options"]["disable_duet"] is True

    # Published: the same batch shape, "now", then the publish jobs run.
    r = _batch(world, **{**body, "spread": None})
    assert r.status_code == 201, r.text
    ran = run_due_jobs()
    assert sorted(x.status for x in ran) == ["succeeded"] * 4
    posts = world.api.get("/api/v1/posts", headers=world.h).json()["items"]
    assert sorted(p["platform"] for p in posts if p["status"] == "published") == [
        "tiktok",
        "tiktok",
        "youtube",
        "youtube",
    ]
    assert all(p["url"] for p in posts)


def test_batch_refuses_as_a_whole(world: World) -> None:
    tt, yt = connect(world, "tiktok"), connect(world, "youtube")
    base = {"clip_ids": [str(world.clip_id)], "account_ids": [tt["id"], yt["id"]]}
    yfields = {"privacy": "public", "made_for_kids": False}

    def batch(**fields: Any) -> Any:
        return _batch(world, **base, fields=fields)

    # TikTok's audience is the user's choice: no default.
    r = batch(youtube=yfields)
    assert r.status_code == 422 and r.json()["type"].endswith("/platform-fields-required")
    assert r.json()["platform"] == "tiktok" and r.json()["fields"] == ["privacy"]
    r = batch(tiktok={"privacy": "public"}, youtube={"privacy": "public"})
    assert r.status_code == 422 and r.json()["fields"] == ["made_for_kids"]
    r = batch(tiktok={"privacy": "public", "colour": "red"}, youtube=yfields)
    assert r.status_code == 422 and r.json()["type"].endswith("/unknown-post-field")
    # An audience this creator does not offer (the fake allows no "followers").
    r = batch(tiktok={"privacy": "followers"}, youtube=yfields)
    assert r.status_code == 422 and r.json()["type"].endswith("/privacy-not-allowed")
    # One bad post (a title YouTube refuses) refuses the batch: nothing is scheduled.
    r = batch(tiktok={"privacy": "public"}, youtube={**yfields, "title": "x" * 120})
    assert r.status_code == 422 and "YouTube" in r.json()["detail"]
    r = _batch(world, **base, times=[], fields={"tiktok": {"privacy": "public"}})
    assert r.status_code == 422
    assert world.api.get("/api/v1/schedules", headers=world.h).json()["items"] == []
    # Explicit times, one per clip, wall-clock in the zone.
    at = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0, tzinfo=None)
    r = _batch(
        world,
        **base,
        timezone="Asia/Tokyo",
        times=[at.isoformat()],
        fields={"tiktok": {"privacy": "private"}, "youtube": yfields},
    )
    assert r.status_code == 201, r.text
    expected = at.replace(tzinfo=ZoneInfo("Asia/Tokyo")).astimezone(UTC)
    assert {datetime.fromisoformat(s["scheduled_at"]) for s in r.json()} == {expected}


def test_spread_starts_tomorrow_once_the_hour_passed() -> None:
    now = datetime(2026, 3, 28, 19, 0, tzinfo=UTC)  # 20:00 in Berlin, the day before DST
    times = spread_times(Spread(), 3, "Europe/Berlin", now)
    assert [t.isoformat() for t in times] == [
        "2026-03-29T18:00:00",
        "2026-03-30T18:00:00",
        "2026-03-31T18:00:00",
    ]
    early = datetime(2026, 3, 28, 8, 0, tzinfo=UTC)
    assert spread_times(Spread(every_days=2), 2, "Europe/Berlin", early)[1].day == 30


def test_failed_post_retry_and_account_health(world: World) -> None:
    tt = connect(world, "tiktok")
    assert tt["health"]["state"] == "ok" and tt["health"]["reconnect"] is False
    world.fakes.tiktok.fail_publish_with("spam_risk_too_many_posts")
    r = _batch(
        world,
        clip_ids=[str(world.clip_id)],
        account_ids=[tt["id"]],
        fields={"tiktok": {"privacy": "public"}},
    )
    assert r.status_code == 201, r.text
    schedule_id = r.json()[0]["id"]
    run_due_jobs()
    failed = world.api.get(f"/api/v1/schedules/{schedule_id}", headers=world.h).json()
    assert failed["status"] == "failed" and failed["error"]
    post = failed["post"]
    assert post["status"] == "failed" and post["error"]

    # Only failed ones retry; retrying the post re-queues its schedule, which then succeeds.
    world.fakes.tiktok.fail_publish_with("")
    r = world.api.post(f"/api/v1/posts/{post['id']}/retry", headers=world.h)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "queued"
    r = world.api.post(f"/api/v1/schedules/{schedule_id}/retry", headers=world.h)
    assert r.status_code == 409 and r.json()["type"].endswith("/schedule-not-failed")
    assert [x.status for x in run_due_jobs()] == ["succeeded"]
    done = world.api.get(f"/api/v1/schedules/{schedule_id}", headers=world.h).json()
    assert done["status"] == "published" and done["post"]["url"]

    # Health: a grant about to run out asks for a reconnect; a failed refresh says why.
    with owner_session() as db:
        db.execute(
            update(ConnectedAccount)
            .where(ConnectedAccount.id == uuid.UUID(tt["id"]))
            .values(refresh_expires_at=datetime.now(UTC) + timedelta(days=2))
        )
    h = world.api.get(f"/api/v1/accounts/{tt['id']}", headers=world.h).json()["health"]
    assert h["state"] == "expiring" and h["reconnect"] is True and h["expires_at"]
    with owner_session() as db:
        db.execute(
            update(ConnectedAccount)
            .where(ConnectedAccount.id == uuid.UUID(tt["id"]))
            .values(status="needs_reconnect", status_reason="Token refresh failed: invalid_grant")
        )
    h = world.api.get(f"/api/v1/accounts/{tt['id']}", headers=world.h).json()["health"]
    assert h["state"] == "needs_reconnect" and "invalid_grant" in h["message"]
    # Reconnecting (the same OAuth flow) makes it healthy again.
    again = connect(world, "tiktok")
    assert again["id"] == tt["id"] and again["health"]["state"] == "ok"


def test_batch_takes_other_platforms_fields(world: World) -> None:
    """A platform whose adapter declares no fields (Instagram) asks for audience + caption."""
    with owner_session() as db:
        account = ConnectedAccount(
            workspace_id=world.workspace_id,
            platform="instagram",
            external_id="ig-1",
            display_name="Cliply IG",
            access_token_enc="unused-by-scheduling",
            status="active",
        )
        db.add(account)
        db.flush()
        ig = str(account.id)
    base = {"clip_ids": [str(world.clip_id)], "account_ids": [ig]}
    r = _batch(world, **base)
    assert r.status_code == 422 and r.json()["type"].endswith("/platform-fields-required")
    r = _batch(world, **base, fields={"instagram": {"privacy": "private"}})
    assert r.status_code == 422 and r.json()["type"].endswith("/privacy-not-supported")
    r = _batch(world, **base, fields={"instagram": {"privacy": "public", "caption": "Hi"}})
    assert r.status_code == 201, r.text
    assert [(s["platform"], s["caption"]) for s in r.json()] == [("instagram", "Hi")]
