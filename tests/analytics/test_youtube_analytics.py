"""YouTube Analytics (reports.query) where the account granted yt-analytics.readonly, its own
daily quota; posts deleted or made private (and which) on YouTube and TikTok; accounts that
must reconnect for analytics."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from cliply.accounts.models import ConnectedAccount
from cliply.analytics import flows, service
from cliply.analytics.models import PostMetric
from cliply.db.engine import owner_session
from cliply.integrations.google_oauth import SCOPE_ANALYTICS
from cliply.integrations.oauth_common import InvalidUpload, UpstreamRejected
from cliply.integrations.youtube import YouTubeClient
from tests.analytics.helpers import add_posts, make_all_due, snapshots, state
from tests.conftest import reset_caches
from tests.publishing.helpers import World, connect, posts_in_db, run_due_jobs, schedule

# Every test here needs the database and the fakes: integration tier.
pytestmark = pytest.mark.integration

KINDS = [flows.METRICS_COLLECT]


def _videos(world: World, n: int, prefix: str = "vid") -> list[str]:
    ids = [f"{prefix}{i:05d}" for i in range(n)]
    g = world.fakes.google
    g.videos.extend({"id": i, "snippet": {"title": i}, "status": {}} for i in ids)
    for k, i in enumerate(ids):
        g.stats[i] = {"viewCount": 1000 + k, "likeCount": k}
    return ids


def _metric(post_id: uuid.UUID) -> PostMetric:
    with owner_session() as db:
        rows = list(db.query(PostMetric).filter(PostMetric.post_id == post_id))
    assert len(rows) == 1
    return rows[0]


def test_reports_query_adds_watch_time_and_subscribers(world: World) -> None:
    g = world.fakes.google
    account = connect(world, "youtube")
    assert SCOPE_ANALYTICS in g.authorize_requests[-1]["scope"].split()
    assert SCOPE_ANALYTICS in account["scopes"]
    assert account["analytics"]["state"] == "full"
    ids = _videos(world, 3)
    published = timedelta(days=3)
    post_ids = add_posts(
        world.workspace_id, world.clip_id, account["id"], "youtube", ids, age=published
    )
    g.analytics[ids[0]] = {
        "views": 990,
        "estimatedMinutesWatched": 200,
        "averageViewDuration": 12,
        "averageViewPercentage": 40.0,
        "subscribersGained": 7,
    }
    assert flows.scan() == 1
    (ran,) = run_due_jobs(KINDS)
    assert ran.status == "succeeded" and ran.result is not None, ran
    assert ran.result["snapshots"] == 3 and ran.result["detail_calls"] == 1
    assert ran.result["detail_quota_units"] == 1 and ran.result["detail_stopped"] is None
    (q,) = g.analytics_requests
    assert q["ids"] == "channel==MINE" and q["dimensions"] == "video"
    assert q["filters"] == "video==" + ",".join(ids)
    assert q["metrics"].split(",") == [
        "views",
        "estimatedMinutesWatched",
        "averageViewDuration",
        "averageViewPercentage",
        "subscribersGained",
    ]
    assert q["startDate"] == (datetime.now(UTC) - published).date().isoformat()
    assert q["endDate"] == datetime.now(UTC).date().isoformat()
    m = _metric(post_ids[0])
    assert m.views == 1000  # the live count (videos.list); the report's lags behind
    assert (m.watch_time_s, m.avg_view_duration_s, m.avg_view_percentage) == (12000.0, 12.0, 40.0)
    assert m.subscribers_gained == 7 and m.data["report_views"] == 990
    with owner_session() as db:
        assert service.quota_used(db, "youtube_analytics", datetime.now(UTC).date()) == 1

    # Through the API: the series and the post's stats (watch-through is YouTube's own figure).
    api, h = world.api, world.h
    series = api.get(f"/api/v1/analytics/posts/{post_ids[0]}/series", headers=h).json()
    (snap,) = series["items"]
    assert snap["avg_view_percentage"] == 40.0 and snap["subscribers_gained"] == 7
    top = api.get("/api/v1/analytics/top/posts", params={"by": "watch_through"}, headers=h).json()
    first, *_, last = top["items"]
    assert first["post_id"] in {str(post_ids[1]), str(post_ids[2])}
    assert first["watch_through"] == 0.625 and first["avg_view_duration_s"] == 15.0
    assert last["post_id"] == str(post_ids[0]) and last["watch_through"] == 0.4

    # Nothing changed at either API: no new row. The report moves: a new row.
    make_all_due()
    flows.scan()
    (ran,) = run_due_jobs(KINDS)
    assert ran.result is not None and ran.result["snapshots"] == 0, ran.result
    g.analytics[ids[0]] = {**g.analytics[ids[0]], "subscribersGained": 9}
    make_all_due()
    flows.scan()
    (ran,) = run_due_jobs(KINDS)
    assert ran.result is not None and ran.result["snapshots"] == 1, ran.result
    assert len(snapshots(post_ids[0])) == 2


def test_analytics_scope_is_optional(world: World) -> None:
    g = world.fakes.google
    g.declined_scopes.add(SCOPE_ANALYTICS)  # unticked on Google's consent screen
    account = connect(world, "youtube")
    assert SCOPE_ANALYTICS not in account["scopes"]
    assert account["health"]["state"] == "ok"  # publishing needs only the default scopes
    assert account["analytics"]["state"] == "basic" and account["analytics"]["reconnect"]
    ids = _videos(world, 2)
    post_ids = add_posts(world.workspace_id, world.clip_id, account["id"], "youtube", ids)
    assert flows.scan() == 1
    (ran,) = run_due_jobs(KINDS)
    assert ran.result is not None and ran.result["snapshots"] == 2
    assert ran.result["detail_calls"] == 0 and g.analytics_calls == 0
    m = _metric(post_ids[0])
    assert m.views == 1000 and m.avg_view_duration_s is None and m.watch_time_s == 0


def test_report_quota_stops_the_reports_not_the_counters(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    g = world.fakes.google
    account = connect(world, "youtube")
    ids = _videos(world, 120)  # three batches of 50
    post_ids = add_posts(world.workspace_id, world.clip_id, account["id"], "youtube", ids)
    monkeypatch.setenv("YOUTUBE_ANALYTICS_DAILY_QUOTA_UNITS", "1")
    reset_caches()
    assert flows.scan() == 1
    (ran,) = run_due_jobs(KINDS)
    assert ran.status == "succeeded" and ran.result is not None
    assert ran.result["snapshots"] == 120 and ran.result["stopped"] is None
    assert ran.result["detail_calls"] == 1 and ran.result["detail_stopped"] == "quota"
    assert g.analytics_calls == 1  # our count stopped the second call before it was made
    with_report = [p for p in post_ids if _metric(p).avg_view_percentage is not None]
    assert len(with_report) == 50

    # The platform's own count says the report's quota is spent (403 quotaExceeded).
    monkeypatch.setenv("YOUTUBE_ANALYTICS_DAILY_QUOTA_UNITS", "100")
    reset_caches()
    g.analytics_quota_limit = g.analytics_quota_used
    make_all_due()
    flows.scan()
    (ran,) = run_due_jobs(KINDS)
    assert ran.status == "succeeded" and ran.result is not None
    assert ran.result["detail_stopped"] == "quota" and ran.result["stopped"] is None
    assert g.analytics_calls == 1

    # A grant without the report any more (403 insufficientPermissions): counters go on.
    g.analytics_quota_limit = None
    for grant, _ in list(g.access_tokens.values()):
        grant.scopes = tuple(s for s in grant.scopes if s != SCOPE_ANALYTICS)
    make_all_due()
    flows.scan()
    (ran,) = run_due_jobs(KINDS)
    assert ran.status == "succeeded" and ran.result is not None
    assert ran.result["detail_stopped"] == "forbidden" and ran.result["stopped"] is None

    # The Data API's own count is spent (403 quotaExceeded): the run stops, nothing failed.
    g.quota_limit = g.quota_used
    make_all_due()
    flows.scan()
    (ran,) = run_due_jobs(KINDS)
    assert ran.status == "succeeded" and ran.result is not None
    assert ran.result["stopped"] == "quota" and ran.result["snapshots"] == 0


def test_deleted_and_private_posts_say_which_and_stop(world: World) -> None:
    g, tt = world.fakes.google, world.fakes.tiktok
    yt = connect(world, "youtube")
    connect(world, "tiktok")
    ids = _videos(world, 3)
    deleted, private, scheduled = add_posts(
        world.workspace_id, world.clip_id, yt["id"], "youtube", ids
    )
    # Published private on purpose: its owner's counters are still measured.
    schedule(world, "youtube", scheduled_at=None, privacy="private")
    schedule(world, "tiktok", scheduled_at=None, privacy="public")
    assert [r.status for r in run_due_jobs()] == ["succeeded", "succeeded"]
    published = {p.platform: p for p in posts_in_db(world.workspace_id) if p.schedule_id}
    assert g.videos[-1]["status"]["privacyStatus"] == "private"

    flows.scan()
    assert all(r.status == "succeeded" for r in run_due_jobs(KINDS))
    # Scheduled for later on YouTube: private until its publishAt.
    g.videos[2]["status"] = {"privacyStatus": "private", "publishAt": "2030-01-01T00:00:00Z"}
    g.videos[:] = [v for v in g.videos if v["id"] != ids[0]]  # deleted on YouTube
    g.privacy[ids[1]] = "private"  # made private
    tt.published_posts.clear()  # TikTok leaves it out: deleted or private, it won't say
    make_all_due()
    flows.scan()
    ran = run_due_jobs(KINDS)
    assert sorted((r.result or {}).get("gone", 0) for r in ran) == [1, 2]
    reasons = {p.id: p.gone_reason for p in posts_in_db(world.workspace_id)}
    assert reasons[deleted] == "deleted" and reasons[private] == "private"
    assert reasons[scheduled] is None  # private until its publishAt: not gone
    assert reasons[published["youtube"].id] is None
    assert reasons[published["tiktok"].id] == "unavailable"
    st = state(private)
    assert st is not None and st.gone_reason == "private" and st.next_due_at is None

    # Never asked for again; the API says which.
    make_all_due()
    flows.scan()
    run_due_jobs(KINDS)
    asked = g.analytics_requests[-1]["filters"]
    assert ids[0] not in asked and ids[1] not in asked and ids[2] in asked
    posts = world.api.get("/api/v1/posts", headers=world.h, params={"limit": 100}).json()
    assert {p["id"]: p["gone_reason"] for p in posts["items"]}[str(private)] == "private"
    top = world.api.get("/api/v1/analytics/top/posts", headers=world.h).json()["items"]
    by_post = {i["post_id"]: i for i in top}
    assert by_post[str(private)]["gone"] and by_post[str(private)]["gone_reason"] == "private"


def test_tiktok_account_without_video_list_is_flagged_for_reconnect(world: World) -> None:
    account = connect(world, "tiktok")
    assert account["analytics"]["state"] == "full"
    with owner_session() as db:
        row = db.get(ConnectedAccount, uuid.UUID(account["id"]))
        assert row is not None
        row.scopes = "user.info.basic,video.publish,video.upload"
    got = world.api.get(f"/api/v1/accounts/{account['id']}", headers=world.h).json()
    assert got["analytics"]["state"] == "reconnect" and got["analytics"]["reconnect"] is True
    assert "Reconnect" in got["analytics"]["message"]
    # Publishing is not affected.
    assert got["health"]["state"] == "ok"


def test_reports_query_client_and_fake_errors(world: World) -> None:
    """The client's request against the fake's documented answers: a result table by video,
    no rows for videos without data, 400 for a malformed query, 403 without the scope, and
    too many ids refused before any request."""
    g, base = world.fakes.google, world.fakes.google_server.base_url
    ids = _videos(world, 2)
    token = g.issue_tokens()["access_token"]
    with YouTubeClient(base, base, analytics_base=base) as yt:
        got = yt.video_analytics(token, [*ids, "notours"], date(2026, 1, 1), date(2026, 1, 31))
        assert set(got) == set(ids) and got[ids[1]]["views"] == 1001.0
        assert yt.video_analytics(token, ["notours"], date(2026, 1, 1), date(2026, 1, 2)) == {}
        with pytest.raises(InvalidUpload):
            yt.video_analytics(token, [f"v{i}" for i in range(201)], date.today(), date.today())
        assert g.analytics_calls == 2
        no_scope = g.issue_tokens(scopes=("https://www.googleapis.com/auth/youtube.upload",))
        with pytest.raises(UpstreamRejected) as refused:
            yt.video_analytics(no_scope["access_token"], ids, date.today(), date.today())
        assert refused.value.upstream_status == 403
    bad = httpx.get(
        f"{base}/v2/reports",
        params={
            "ids": "channel==MINE",
            "startDate": "2026-02-01",
            "endDate": "2026-01-01",
            "metrics": "views",
            "dimensions": "video",
            "filters": f"video=={ids[0]}",
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert bad.status_code == 400 and bad.json()["error"]["errors"][0]["reason"] == "invalid"
