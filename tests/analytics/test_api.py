"""The analytics API over collected metrics: overview totals and deltas per platform and
account, a post's series, a clip's posts, top lists, CSV, tenancy and plan gating."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from cliply.analytics import flows
from cliply.analytics.models import PostMetric
from cliply.db.engine import owner_session
from tests.analytics.helpers import make_all_due
from tests.foundation.helpers import make_workspace
from tests.publishing.helpers import (
    World,
    connect,
    posts_in_db,
    run_due_jobs,
    schedule,
    set_plan,
)

# Every test here needs the database (or a server process): integration tier.
pytestmark = pytest.mark.integration

KINDS = [flows.METRICS_COLLECT]


def _collect() -> None:
    flows.scan()
    assert all(r.status == "succeeded" for r in run_due_jobs(KINDS))


def test_overview_series_clip_top_and_csv(world: World) -> None:
    tt, g = world.fakes.tiktok, world.fakes.google
    connect(world, "tiktok")
    connect(world, "youtube")
    schedule(world, "tiktok", scheduled_at=None, privacy="private")
    schedule(world, "youtube", scheduled_at=None, privacy="unlisted")
    assert [r.status for r in run_due_jobs()] == ["succeeded", "succeeded"]
    rows = {p.platform: p for p in posts_in_db(world.workspace_id)}
    _collect()
    start = datetime.now(UTC)
    make_all_due()
    tt.published_posts[0]["view_count"] = 2500
    g.stats[rows["youtube"].platform_post_id or ""] = {"viewCount": 900, "likeCount": 40}
    _collect()
    api, h = world.api, world.h

    r = api.get("/api/v1/analytics/overview", params={"from": start.isoformat()}, headers=h)
    assert r.status_code == 200, r.text
    o = r.json()
    assert o["history_limited"] is False
    assert o["total"]["views"] == 2500 + 900 and o["total"]["views_delta"] == 1000 + 100
    plat = {p["key"]: p for p in o["platforms"]}
    assert plat["tiktok"]["views"] == 2500 and plat["tiktok"]["views_delta"] == 1000
    assert plat["youtube"]["views_delta"] == 100 and plat["youtube"]["likes_delta"] == 0
    assert plat["tiktok"]["engagement_rate"] == round((90 + 12 + 5) / 2500, 6)
    assert {a["key"] for a in o["accounts"]} == {
        world.accounts["tiktok"]["id"],
        world.accounts["youtube"]["id"],
    }
    only = api.get("/api/v1/analytics/overview", params={"platform": "youtube"}, headers=h).json()
    assert only["total"]["views"] == 900 and [p["key"] for p in only["platforms"]] == ["youtube"]
    by_account = api.get(
        "/api/v1/analytics/overview",
        params={"account_id": world.accounts["tiktok"]["id"]},
        headers=h,
    ).json()
    assert by_account["total"]["views"] == 2500

    tt_id = rows["tiktok"].id
    series = api.get(f"/api/v1/analytics/posts/{tt_id}/series", headers=h).json()
    assert [s["views"] for s in series["items"]] == [2500, 1500]  # newest first
    page = api.get(f"/api/v1/analytics/posts/{tt_id}/series", params={"limit": 1}, headers=h).json()
    assert [s["views"] for s in page["items"]] == [2500] and page["next_cursor"]
    rest = api.get(
        f"/api/v1/analytics/posts/{tt_id}/series",
        params={"limit": 1, "cursor": page["next_cursor"]},
        headers=h,
    ).json()
    assert [s["views"] for s in rest["items"]] == [1500] and rest["next_cursor"] is None

    clip = api.get(f"/api/v1/analytics/clips/{world.clip_id}", headers=h).json()
    assert clip["posts"] == 2 and clip["views"] == 3400
    assert {i["platform"] for i in clip["items"]} == {"tiktok", "youtube"}

    top = api.get("/api/v1/analytics/top/posts", params={"limit": 1}, headers=h).json()
    assert [i["platform"] for i in top["items"]] == ["tiktok"] and top["next_cursor"]
    nxt = api.get(
        "/api/v1/analytics/top/posts",
        params={"limit": 1, "cursor": top["next_cursor"]},
        headers=h,
    ).json()
    assert [i["platform"] for i in nxt["items"]] == ["youtube"] and nxt["next_cursor"] is None
    by_eng = api.get(
        "/api/v1/analytics/top/posts", params={"by": "engagement_rate"}, headers=h
    ).json()
    rates = [i["engagement_rate"] for i in by_eng["items"]]
    assert rates == sorted(rates, reverse=True)
    clips = api.get("/api/v1/analytics/top/clips", headers=h).json()
    assert [(c["clip_id"], c["views"]) for c in clips["items"]] == [(str(world.clip_id), 3400)]

    # CSV of any of them, by query or by Accept.
    r = api.get("/api/v1/analytics/top/posts", params={"format": "csv"}, headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(r.text)))
    assert [(t["platform"], t["views"]) for t in table] == [("tiktok", "2500"), ("youtube", "900")]
    r = api.get(f"/api/v1/analytics/posts/{tt_id}/series", headers={**h, "Accept": "text/csv"})
    assert [t["views"] for t in csv.DictReader(io.StringIO(r.text))] == ["2500", "1500"]
    r = api.get("/api/v1/analytics/overview", params={"format": "csv"}, headers=h)
    keys = [t["key"] for t in csv.DictReader(io.StringIO(r.text))]
    assert keys[:3] == ["total", "tiktok", "youtube"]

    # Another workspace sees none of it.
    other = make_workspace(api, world.owner)
    oh = world.owner.ws(other["id"])
    assert api.get(f"/api/v1/analytics/posts/{tt_id}/series", headers=oh).status_code == 404
    assert api.get("/api/v1/analytics/overview", headers=oh).json()["total"]["posts"] == 0
    assert api.get("/api/v1/analytics/top/posts", headers=oh).json()["items"] == []


def test_basic_plan_sees_thirty_days(world: World) -> None:
    connect(world, "tiktok")
    schedule(world, "tiktok", scheduled_at=None, privacy="private")
    assert [r.status for r in run_due_jobs()] == ["succeeded"]
    _collect()
    (post,) = posts_in_db(world.workspace_id)
    with owner_session() as db:
        db.add(
            PostMetric(
                workspace_id=world.workspace_id,
                post_id=post.id,
                collected_at=datetime.now(UTC) - timedelta(days=40),
                views=10,
            )
        )
    api, h = world.api, world.h
    old = (datetime.now(UTC) - timedelta(days=60)).isoformat()
    pro = api.get("/api/v1/analytics/overview", params={"from": old}, headers=h).json()
    assert pro["history_limited"] is False and pro["total"]["views_delta"] == 1500
    assert len(api.get(f"/api/v1/analytics/posts/{post.id}/series", headers=h).json()["items"]) == 2
    set_plan(world.workspace_id, "basic")
    basic = api.get("/api/v1/analytics/overview", params={"from": old}, headers=h).json()
    assert basic["history_limited"] is True
    assert datetime.fromisoformat(basic["start"]) > datetime.now(UTC) - timedelta(days=31)
    assert basic["total"]["views_delta"] == 1500 - 10
    items = api.get(f"/api/v1/analytics/posts/{post.id}/series", headers=h).json()["items"]
    assert [i["views"] for i in items] == [1500]
    assert uuid.UUID(str(post.id))


def test_csv_is_documented_and_moments_are_iso_8601(world: World) -> None:
    doc = world.api.get("/api/openapi.json").json()
    for path in (
        "/api/v1/analytics/overview",
        "/api/v1/analytics/posts/{post_id}/series",
        "/api/v1/analytics/clips/{clip_id}",
        "/api/v1/analytics/top/posts",
        "/api/v1/analytics/top/clips",
    ):
        content = doc["paths"][path]["get"]["responses"]["200"]["content"]
        assert set(content) == {"application/json", "text/csv"}, path
    api, h = world.api, world.h
    # A bare number is not a moment (pydantic would read it as a Unix time).
    r = api.get("/api/v1/analytics/overview", params={"to": "0.5"}, headers=h)
    assert r.status_code == 422, r.text
    # A moment without a zone is UTC (it used to reach the comparison with stored times).
    r = api.get("/api/v1/analytics/overview", params={"from": "2026-01-01T00:00:00"}, headers=h)
    assert r.status_code == 200, r.text
    assert datetime.fromisoformat(r.json()["start"]).tzinfo is not None
