"""Schedules API: times with zones, plan gate, bad input (4xx), edit, cancel; the cron
endpoint's authorisation and the atomic scan."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.publishing.helpers import (
    CRON_SECRET,
    World,
    add_clip,
    connect,
    cron_scan,
    job_statuses,
    make_due,
    make_world,
    schedule,
    set_plan,
)

from cliply.db.engine import owner_session
from cliply.schedules.service import scan_due
from cliply.schedules.tasks import scan_schedules

# Every test here needs the database (or a server process): integration tier.
pytestmark = pytest.mark.integration


def _post(world: World, **body: Any) -> Any:
    base = {"clip_id": str(world.clip_id), "account_id": world.accounts["tiktok"]["id"]}
    return world.api.post("/api/v1/schedules", json={**base, **body}, headers=world.h)


def test_times_are_stored_in_utc_with_their_zone(world: World) -> None:
    connect(world, "tiktok")
    wall = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0, tzinfo=None)
    s = schedule(world, "tiktok", scheduled_at=wall.isoformat(), timezone="America/New_York")
    from zoneinfo import ZoneInfo

    expected = wall.replace(tzinfo=ZoneInfo("America/New_York")).astimezone(UTC)
    assert datetime.fromisoformat(s["scheduled_at"]) == expected
    assert s["timezone"] == "America/New_York"
    assert s["scheduled_local"].startswith(wall.isoformat())
    assert s["status"] == "scheduled" and s["platform"] == "tiktok"
    assert s["hashtags"] == ["cliply", "demo"]
    # An explicit offset wins over the zone for the instant; the zone is kept for display.
    at = datetime.now(UTC) + timedelta(days=1)
    s2 = schedule(world, "tiktok", scheduled_at=at.isoformat(), timezone="Asia/Tokyo")
    assert abs(datetime.fromisoformat(s2["scheduled_at"]) - at) < timedelta(seconds=1)
    assert s2["scheduled_local"].endswith("+09:00")


def test_bad_times_and_zones(world: World) -> None:
    connect(world, "tiktok")
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    r = _post(world, scheduled_at=past)
    assert r.status_code == 422 and r.json()["type"].endswith("/schedule-in-past")
    r = _post(world, scheduled_at=datetime.now(UTC).isoformat(), timezone="Mars/Olympus")
    assert r.status_code == 422 and r.json()["type"].endswith("/invalid-timezone")
    r = _post(world, scheduled_at="next tuesday")
    assert r.status_code == 422
    # "Now" a few seconds ago is fine: it is queued at once.
    r = _post(world, scheduled_at=(datetime.now(UTC) - timedelta(seconds=5)).isoformat())
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "queued" and r.json()["job_id"]


def test_bad_references_are_4xx(world: World, api: Any, fakes: Any, clip_video: Any) -> None:
    connect(world, "tiktok")
    other = make_world(api, fakes, clip_video)
    connect(other, "youtube")
    # Another workspace's account or clip: 404, as if it did not exist.
    r = _post(world, account_id=other.accounts["youtube"]["id"])
    assert r.status_code == 404 and r.json()["type"].endswith("/account-not-found")
    r = _post(world, clip_id=str(other.clip_id))
    assert r.status_code == 404 and r.json()["type"].endswith("/clip-not-found")
    r = _post(world, clip_id=str(uuid.uuid4()))
    assert r.status_code == 404
    # A clip that is not rendered.
    _, raw_clip = add_clip(
        world.workspace_id, None, project_id=world.project_id, status="suggested"
    )
    r = _post(world, clip_id=str(raw_clip))
    assert r.status_code == 409 and r.json()["type"].endswith("/clip-not-rendered")
    # An audience TikTok does not have.
    r = _post(world, privacy="unlisted")
    assert r.status_code == 422 and r.json()["type"].endswith("/privacy-not-supported")
    r = _post(world, hashtags=["two words"])
    assert r.status_code == 422
    # A disconnected account.
    world.api.delete(f"/api/v1/accounts/{world.accounts['tiktok']['id']}", headers=world.h)
    r = _post(world)
    assert r.status_code == 409 and r.json()["type"].endswith("/account-unusable")
    # Nothing was scheduled by any of these.
    listed = world.api.get("/api/v1/schedules", headers=world.h).json()
    assert listed["items"] == []


def test_youtube_title_rules(world: World) -> None:
    connect(world, "youtube")
    base = {"clip_id": str(world.clip_id), "account_id": world.accounts["youtube"]["id"]}
    r = world.api.post("/api/v1/schedules", json={**base, "title": "x" * 101}, headers=world.h)
    assert r.status_code == 422 and r.json()["type"].endswith("/title-too-long")
    r = world.api.post("/api/v1/schedules", json={**base, "title": "a <b>"}, headers=world.h)
    assert r.status_code == 422


def test_plan_gate(world: World) -> None:
    connect(world, "tiktok")
    set_plan(world.workspace_id, "basic")  # publishing yes, scheduling no
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    r = _post(world, scheduled_at=future)
    assert r.status_code == 402
    problem = r.json()
    assert problem["type"].endswith("/plan-feature-unavailable")
    assert problem["feature"] == "scheduling"
    r = _post(world)  # publish now is allowed
    assert r.status_code == 201


def test_viewer_cannot_schedule(world: World) -> None:
    from tests.foundation.helpers import add_member

    connect(world, "tiktok")
    viewer = add_member(world.api, world.owner, str(world.workspace_id), "viewer")
    body = {"clip_id": str(world.clip_id), "account_id": world.accounts["tiktok"]["id"]}
    r = world.api.post("/api/v1/schedules", json=body, headers=viewer.ws(str(world.workspace_id)))
    assert r.status_code == 403
    r = world.api.post(
        "/api/v1/accounts/tiktok/connect", headers=viewer.ws(str(world.workspace_id))
    )
    assert r.status_code == 403
    assert (
        world.api.get("/api/v1/schedules", headers=viewer.ws(str(world.workspace_id))).status_code
        == 200
    )


def test_edit_and_cancel(world: World) -> None:
    connect(world, "youtube")
    s = schedule(world, "youtube", privacy="unlisted")
    at = datetime.now(UTC) + timedelta(days=2)
    r = world.api.patch(
        f"/api/v1/schedules/{s['id']}",
        json={"title": "Better title", "scheduled_at": at.isoformat(), "privacy": "private"},
        headers=world.h,
    )
    assert r.status_code == 200, r.text
    assert r.json()["title"] == "Better title" and r.json()["privacy"] == "private"
    r = world.api.patch(
        f"/api/v1/schedules/{s['id']}", json={"privacy": "friends"}, headers=world.h
    )
    assert r.status_code == 422
    r = world.api.delete(f"/api/v1/schedules/{s['id']}", headers=world.h)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    r = world.api.patch(f"/api/v1/schedules/{s['id']}", json={"title": "x"}, headers=world.h)
    assert r.status_code == 409
    # A cancelled schedule is not picked up when its time comes.
    make_due(s["id"])
    assert cron_scan(world.api)["claimed"] == 0
    # Cancelling a queued one cancels its job too.
    s2 = schedule(world, "youtube", scheduled_at=None)
    assert s2["status"] == "queued"
    r = world.api.delete(f"/api/v1/schedules/{s2['id']}", headers=world.h)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert [st for _, st, _ in job_statuses()] == ["cancelled"]
    listed = world.api.get("/api/v1/schedules", params={"status": "cancelled"}, headers=world.h)
    assert len(listed.json()["items"]) == 2


def test_cron_endpoint_authorisation(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    url = "/api/v1/cron/scan-schedules"
    r = world.api.post(url)
    assert r.status_code == 401 and r.json()["type"].endswith("/cron-secret-required")
    r = world.api.post(url, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 403 and r.json()["type"].endswith("/cron-secret-invalid")
    r = world.api.post(url, headers={"X-CRON-SECRET": CRON_SECRET[:-1]})
    assert r.status_code == 403
    # A user's bearer token is not the cron secret.
    r = world.api.post(url, headers=world.owner.h)
    assert r.status_code == 403
    assert world.api.post(url, headers={"X-CRON-SECRET": CRON_SECRET}).status_code == 200
    assert (
        world.api.post(url, headers={"Authorization": f"Bearer {CRON_SECRET}"}).status_code == 200
    )

    from tests.conftest import reset_caches

    monkeypatch.delenv("CRON_SECRET")
    reset_caches()
    r = world.api.post(url, headers={"Authorization": f"Bearer {CRON_SECRET}"})
    assert r.status_code == 404 and r.json()["type"].endswith("/cron-disabled")


def test_scan_claims_each_due_schedule_once(world: World) -> None:
    connect(world, "tiktok")
    connect(world, "youtube")
    due = [schedule(world, p)["id"] for p in ("tiktok", "youtube", "tiktok", "youtube")]
    later = schedule(world, "tiktok")["id"]
    for sid in due:
        make_due(sid)
    # Several scanners at once (cron + periodic on two machines): each schedule once.
    claimed: list[uuid.UUID] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def scan() -> None:
        start.wait()
        with owner_session() as db:
            got = scan_due(db).claimed
        with lock:
            claimed.extend(got)

    threads = [threading.Thread(target=scan) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(map(str, claimed)) == sorted(due)
    kinds = sorted(k for k, _, _ in job_statuses())
    assert kinds == ["PUBLISH_TIKTOK"] * 2 + ["PUBLISH_YOUTUBE"] * 2
    assert scan_schedules() == 0  # the periodic task finds nothing more
    statuses = {
        s["id"]: s["status"]
        for s in world.api.get("/api/v1/schedules", headers=world.h).json()["items"]
    }
    assert statuses[later] == "scheduled"
    assert all(statuses[sid] == "queued" for sid in due)
