"""The analytics pages in Debian's chromium against a real `cliply serve`:

- a workspace with 26 published posts and their measurements (written by the collector's own
  write path at chosen moments): totals and deltas, the uPlot charts (series and points, and
  the data they plot), filters, CSV, sorting, a post's and a clip's series, a gone post, the
  calibration card above 20 posts, fitting and resetting the learnt weights, Basic's 30 days;
- real METRICS_COLLECT jobs run by the server's worker against the fake TikTok (twice) and
  YouTube (one video gone), whose numbers reach the charts; the calibration card says "not
  enough posts" below 20.
"""

from __future__ import annotations

import csv
import io
import math
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cliply.highlights.scoring import DEFAULT_WEIGHTS
from tests.web import seed, seed_analytics
from tests.web.conftest import SHOTS, check_page

# Every test here needs the database (or a server process): integration tier.
pytestmark = pytest.mark.integration

NAMES = list(DEFAULT_WEIGHTS)


@pytest.fixture(scope="module", autouse=True)
def _warm(studio: Any) -> None:
    import httpx

    for path in ("/signup", "/login"):
        httpx.get(studio.url(path), timeout=120, follow_redirects=True)


def _offline(page: Any) -> None:
    """Post links point at tiktok.com / youtube.com: nothing may leave the machine."""

    def handle(route: Any) -> None:
        if route.request.url.startswith(("http://127.0.0.1", "data:", "blob:")):
            route.continue_()
        else:
            route.fulfill(status=200, content_type="text/html", body="<title>x</title>")

    page.context.route("**/*", handle)


def _totals(page: Any) -> dict[str, int]:
    return {
        k: int(page.get_attribute(f'#totals [data-total="{k}"]', "data-value") or -1)
        for k in ("views", "likes", "comments", "shares")
    }


def _deltas(page: Any) -> dict[str, int]:
    return {
        k: int(page.get_attribute(f'#totals [data-delta="{k}"]', "data-value") or -1)
        for k in ("views", "likes", "comments", "shares")
    }


def _chart(page: Any, chart_id: str) -> dict[str, Any]:
    """What uPlot drew in a figure (set by analytics.js from the plot itself) and the data."""
    fig = f'figure[data-chart="{chart_id}"][data-ready="true"]'
    page.wait_for_selector(fig)
    canvas = page.locator(f"{fig} canvas")
    assert canvas.count() == 1
    box = canvas.bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] > 100
    spec = page.evaluate(
        "(id) => JSON.parse(document.getElementById('chart-data').textContent)"
        ".charts.find(c => c.id === id)",
        chart_id,
    )
    return {
        "series": int(page.get_attribute(fig, "data-series") or -1),
        "points": int(page.get_attribute(fig, "data-points") or -1),
        "values": [s["values"] for s in spec["series"]],
    }


def _download_csv(page: Any, selector: str) -> list[dict[str, str]]:
    with page.expect_download() as info:
        page.click(selector)
    path = Path(info.value.path())
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def _sum(posts: list[dict[str, Any]], key: str, which: str = "final") -> int:
    return sum(p[which][key] for p in posts)


def _counters(views: int, rnd: random.Random) -> dict[str, int]:
    return {
        "views": views,
        "likes": int(views * rnd.uniform(0.02, 0.08)),
        "comments": int(views * rnd.uniform(0.001, 0.01)),
        "shares": int(views * rnd.uniform(0.001, 0.01)),
    }


def _seed_history(studio: Any, ws: uuid.UUID) -> dict[str, Any]:
    """24 posts published 10 days ago, measured on days 1, 6 and 9, whose views follow a hidden
    rule over two features (emotion and pace) that the default weights barely count; one clip
    posted again on YouTube 2 days ago; one TikTok post that went away."""
    rnd = random.Random(13)
    now = datetime.now(UTC)
    tiktok = seed_analytics.account(studio, ws, "tiktok", "Bread TikTok")
    youtube = seed_analytics.account(studio, ws, "youtube", "Bread YouTube")
    feats = [{n: rnd.random() for n in NAMES} for _ in range(24)]
    clip_ids = seed_analytics.scored_clips(studio, ws, feats)
    published = now - timedelta(days=10)
    posts: list[dict[str, Any]] = []
    for i, (cid, f) in enumerate(zip(clip_ids, feats, strict=True)):
        platform, account = ("tiktok", tiktok) if i % 2 == 0 else ("youtube", youtube)
        p = seed_analytics.post(studio, ws, cid, account, platform, published)
        final = int(300 * math.exp(2.5 * f["emotion"] + 1.5 * f["pace"]))
        history = [
            (now - timedelta(days=9), _counters(final * 3 // 10, rnd)),
            (now - timedelta(days=4), _counters(final * 8 // 10, rnd)),
            (now - timedelta(days=1), _counters(final, rnd)),
        ]
        for at, c in history:
            extra: dict[str, Any] = {}
            if platform == "youtube":  # YouTube Analytics adds watch time
                extra = {
                    "duration_s": 30.0,
                    "raw": {"estimatedMinutesWatched": c["views"] * 0.5 * 30 / 60},
                }
            seed_analytics.measure(studio, p, at, c, **extra)
        posts.append(
            {"post": p, "day1": history[0][1], "day6": history[1][1], "final": history[2][1]}
        )
    again = seed_analytics.post(studio, ws, clip_ids[0], youtube, "youtube", now - timedelta(2))
    again_c = _counters(700, rnd)
    seed_analytics.measure(studio, again, now - timedelta(hours=12), again_c)
    posts.append({"post": again, "day1": None, "day6": None, "final": again_c})
    gone = seed_analytics.post(studio, ws, clip_ids[1], tiktok, "tiktok", now - timedelta(days=3))
    gone_c = _counters(400, rnd)
    seed_analytics.measure(studio, gone, now - timedelta(days=2), gone_c)
    seed_analytics.measure(studio, gone, now - timedelta(hours=1), None)
    posts.append({"post": gone, "day1": None, "day6": None, "final": gone_c})
    return {"tiktok": tiktok, "youtube": youtube, "clips": clip_ids, "posts": posts}


def test_analytics_dashboard_over_a_seeded_history(
    page: Any, studio: Any, studio_user: str
) -> None:
    _offline(page)
    ws = seed.workspace_of(studio, studio_user)
    seed.set_plan(studio, ws, "pro")

    page.goto("/analytics")
    page.wait_for_selector("text=No published posts yet")
    assert page.locator('main .empty a[href="/accounts"]').inner_text() == "Connect an account"
    assert "Not enough posts yet (0 of 20)" in page.inner_text("#calibration-card")
    assert page.locator('nav.mainnav a[href="/analytics"][aria-current="page"]').count() == 1
    check_page(page, "analytics-empty")

    world = _seed_history(studio, ws)
    posts = world["posts"]
    old = posts[:24]

    page.goto("/analytics")
    assert page.is_checked('input[name="period"][value="30"]')
    # Totals over 30 days: every post's latest numbers; all of it is new in the period.
    assert _totals(page) == {k: _sum(posts, k) for k in ("views", "likes", "comments", "shares")}
    assert _deltas(page) == _totals(page)
    assert page.get_attribute('#totals [data-total="posts"]', "data-value") == "26"
    views = _chart(page, "views")
    assert (views["series"], views["points"]) == (1, 31)  # a point per day, and now
    assert views["values"][0][-1] == _sum(posts, "views")
    inter = _chart(page, "interactions")
    assert (inter["series"], inter["points"]) == (3, 31)
    assert [v[-1] for v in inter["values"]] == [
        _sum(posts, "likes"),
        _sum(posts, "comments"),
        _sum(posts, "shares"),
    ]
    eng = _chart(page, "engagement")
    assert eng["series"] == 1 and eng["points"] == 31
    # Before the first measurement nothing counts; the curve rises with each collection.
    assert views["values"][0][0] == 0 and views["values"][0] == sorted(views["values"][0])
    by_platform = {
        r.get_attribute("data-key"): r for r in page.locator("#by-platform tbody tr").all()
    }
    assert set(by_platform) == {"tiktok", "youtube"}
    assert page.locator("#by-account tbody tr").count() == 2
    assert "Bread TikTok" in page.inner_text("#by-account")
    # Headings and labels: one h1, the cards and tables have headings, every control a label.
    assert page.locator("h1").count() == 1
    for h in ("Totals", "Over time", "By platform", "By account", "Top posts", "Top clips"):
        assert page.locator(f"h2:text-is('{h}')").count() == 1, h
    assert page.locator("#calibration-card h2").inner_text().startswith("How well Cliply")
    for control in ("#f-from", "#f-to", "#f-platform", "#f-account"):
        cid = control[1:]
        assert page.locator(f'label[for="{cid}"]').count() == 1
    check_page(page, "analytics")
    page.screenshot(path=str(SHOTS / "analytics-full-1440.png"), full_page=True)

    # The last 7 days: deltas since each post's reading before the period.
    page.check('input[name="period"][value="7"]')
    page.click("#apply-filters")
    page.wait_for_url("**period=7**")
    assert _chart(page, "views")["points"] == 8
    expected_delta = sum(p["final"]["views"] - (p["day1"] or {"views": 0})["views"] for p in posts)
    assert _deltas(page)["views"] == expected_delta
    assert _totals(page)["views"] == _sum(posts, "views")

    # Filters: one platform, then one account.
    page.select_option("#f-platform", "youtube")
    page.click("#apply-filters")
    page.wait_for_url("**platform=youtube**")
    yt = [p for p in posts if p["post"].platform == "youtube"]
    assert _totals(page)["views"] == _sum(yt, "views")
    assert _chart(page, "views")["values"][0][-1] == _sum(yt, "views")
    assert [r.get_attribute("data-key") for r in page.locator("#by-platform tbody tr").all()] == [
        "youtube"
    ]
    shown = {r.get_attribute("data-post") for r in page.locator("#top-posts-table tbody tr").all()}
    assert len(shown) == 10 and shown <= {str(p["post"].id) for p in yt}
    page.select_option("#f-platform", "")
    page.select_option("#f-account", str(world["tiktok"]))
    page.click("#apply-filters")
    page.wait_for_url(f"**account={world['tiktok']}**")
    tt = [p for p in posts if p["post"].account_id == world["tiktok"]]
    assert _totals(page)["views"] == _sum(tt, "views")

    # A custom period: from 5 to 3 days ago holds only the day-6 readings of the old posts.
    page.goto("/analytics")
    day = datetime.now(UTC).date()
    page.fill("#f-from", (day - timedelta(days=5)).isoformat())
    page.fill("#f-to", (day - timedelta(days=3)).isoformat())
    assert page.is_checked('input[name="period"][value="custom"]')
    page.click("#apply-filters")
    page.wait_for_url("**period=custom**")
    assert _totals(page)["views"] == sum(p["day6"]["views"] for p in old)

    # A start in the future is refused next to the field.
    page.fill("#f-from", (day + timedelta(days=2)).isoformat())
    page.click("#apply-filters")
    page.wait_for_selector("#err-from")
    assert "future" in page.inner_text("#err-from")
    assert page.get_attribute("#f-from", "aria-invalid") == "true"

    # CSV of the overview (the same period and filters) and of the top posts.
    page.goto("/analytics")
    rows = _download_csv(page, "#csv-overview")
    assert rows[0]["key"] == "total" and int(rows[0]["views"]) == _sum(posts, "views")
    top = _download_csv(page, "#csv-top-posts")
    assert len(top) == 26 and int(top[0]["views"]) == max(p["final"]["views"] for p in posts)

    # Top posts, sorted by each ranking; each links to its post.
    first = page.locator("#top-posts-table tbody tr").first
    best = max(posts, key=lambda p: p["final"]["views"])
    assert first.get_attribute("data-post") == str(best["post"].id)
    page.click("#top-posts a.sort:text-is('Engagement')")
    page.wait_for_selector('#top-posts-table[data-by="engagement_rate"]')

    def rate(p: dict[str, Any]) -> float:
        c = p["final"]
        return (c["likes"] + c["comments"] + c["shares"]) / c["views"]

    top_rate = max(posts, key=rate)
    assert first.get_attribute("data-post") == str(top_rate["post"].id)
    page.click("#top-posts a.sort:text-is('Watch-through')")
    page.wait_for_selector('#top-posts-table[data-by="watch_through"]')
    assert first.get_attribute("data-post") in {str(p["post"].id) for p in old[1::2]}
    assert page.locator("#top-clips-table tbody tr").count() == 10

    # A post's page: its three measurements in each chart, and its link.
    page.click("#top-posts-table tbody tr:first-child th a")
    page.wait_for_url("**/analytics/posts/*")
    chosen = next(p for p in posts if str(p["post"].id) == page.url.rsplit("/", 1)[-1])
    v = _chart(page, "views")
    assert (v["series"], v["points"]) == (1, 3)
    assert v["values"][0] == [
        chosen["day1"]["views"],
        chosen["day6"]["views"],
        chosen["final"]["views"],
    ]
    assert _chart(page, "watch")["points"] == 3  # a YouTube post: watch time too
    assert _totals(page) == chosen["final"]
    assert page.get_attribute("a.post-link", "href", timeout=2000).startswith(
        "https://www.youtube.com/"
    )
    rows = _download_csv(page, "#csv-post")
    assert [int(r["views"]) for r in rows] == [
        chosen["final"]["views"],
        chosen["day6"]["views"],
        chosen["day1"]["views"],
    ]
    check_page(page, "analytics-post")

    # The gone post says so and has no link to follow.
    gone = posts[-1]["post"]
    page.goto(f"/analytics/posts/{gone.id}")
    assert "it was deleted" in page.inner_text("#post-gone")
    assert page.locator("a.post-link").count() == 0
    assert _totals(page) == posts[-1]["final"]

    # A clip posted twice: both posts, one line each.
    page.goto(f"/analytics/clips/{world['clips'][0]}")
    assert page.locator("#clip-posts tbody tr").count() == 2
    cv = _chart(page, "views")
    assert cv["series"] == 2 and cv["points"] == 4
    assert _totals(page)["views"] == posts[0]["final"]["views"] + posts[24]["final"]["views"]
    check_page(page, "analytics-clip")

    # The score cards: 24 posts are 7 days old, so calibration gives a number.
    page.goto("/analytics")
    cal = page.locator("#calibration-value")
    assert cal.get_attribute("data-posts") == "24"
    rho = float(cal.get_attribute("data-spearman") or "nan")
    assert -1 <= rho <= 1
    assert "95% interval" in page.inner_text("#calibration-card")
    assert page.get_attribute("#weights-state", "data-learnt") == "false"
    page.click("#fit-weights")
    page.wait_for_selector("#fit-result")
    # Views follow emotion and pace, which the defaults barely weigh: the fit is adopted.
    assert page.get_attribute("#fit-result", "data-adopted") == "true"
    assert page.get_attribute("#weights-state", "data-learnt") == "true"
    fitted = float(page.inner_text('#fit-evidence [data-corr="fitted"]'))
    default = float(page.inner_text('#fit-evidence [data-corr="default"]'))
    assert fitted > default
    stored = studio.sql(
        "SELECT weights, sample_size FROM score_weights WHERE workspace_id = :w", w=str(ws)
    )
    assert stored[0][1] == 24
    top_two = sorted(stored[0][0].items(), key=lambda kv: -kv[1])[:2]
    assert {k for k, _ in top_two} == {"emotion", "pace"}
    assert page.locator("#weights-changes li").first.get_attribute("data-feature") in {
        "emotion",
        "pace",
    }
    assert "Your audience rewards" in page.inner_text("#weights-changes")
    page.locator(".score-cards").screenshot(path=str(SHOTS / "analytics-weights-fitted.png"))
    assert page.inner_text('#weights-table tr[data-feature="emotion"] [data-col="in-use"]') == (
        f"+{stored[0][0]['emotion'] * 100:.0f}"
    )
    page.click("#reset-weights")  # confirms (the page fixture accepts dialogs)
    page.wait_for_selector('#fit-result[data-reset="true"]')
    assert page.get_attribute("#weights-state", "data-learnt") == "false"
    assert studio.sql("SELECT 1 FROM score_weights WHERE workspace_id = :w", w=str(ws)) == []

    # Without htmx (a plain form post) the answer is a whole page with the card.
    csrf = str(page.get_attribute('meta[name="csrf-token"]', "content"))
    r = page.request.post("/analytics/weights/reset", form={"csrf_token": csrf})
    assert r.ok and "Back to the default weights" in r.text() and "<h1>" in r.text()

    # A viewer sees the weights but no buttons, and cannot fit.
    studio.sql("UPDATE workspace_members SET role = 'viewer' WHERE workspace_id = :w", w=str(ws))
    page.goto("/analytics")
    assert page.locator("#fit-weights").count() == 0
    assert "Editors and above can fit" in page.inner_text("#weights-card")
    r = page.request.post("/analytics/weights/fit", form={"csrf_token": csrf})
    assert r.status == 403
    studio.sql("UPDATE workspace_members SET role = 'owner' WHERE workspace_id = :w", w=str(ws))

    # Basic shows 30 days: asking for 90 says so, with the way to upgrade.
    seed.set_plan(studio, ws, "basic")
    page.goto("/analytics?period=90")
    notice = page.locator("#plan-notice")
    assert "Basic plan shows the last 30 days" in notice.inner_text()
    assert notice.locator('a[href="/billing"]').count() == 1
    assert _chart(page, "views")["points"] == 31


def _wait_job(studio: Any, job_id: str, timeout_s: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        rows = studio.sql(
            "SELECT status, result::text, error FROM jobs WHERE id = CAST(:j AS uuid)", j=job_id
        )
        if rows and rows[0][0] in ("succeeded", "failed", "cancelled"):
            assert rows[0][0] == "succeeded", rows
            return {"status": rows[0][0], "result": rows[0][1]}
        assert time.monotonic() < deadline, f"METRICS_COLLECT did not finish: {rows}"
        time.sleep(0.5)


def _collect(studio: Any, ws: uuid.UUID, account_id: str) -> dict[str, Any]:
    """Queue a METRICS_COLLECT for the account; the server's worker runs it."""
    from cliply.analytics import tasks  # noqa: F401  (registers the job kind)
    from cliply.analytics.flows import METRICS_COLLECT
    from cliply.jobs import queue

    with seed._session(studio) as db, db.begin():
        job = queue.enqueue(db, METRICS_COLLECT, {"account_id": account_id}, workspace_id=ws)
        job_id = str(job.id)
    return _wait_job(studio, job_id)


def test_metrics_collected_by_the_worker_reach_the_charts(
    page: Any, studio: Any, studio_user: str, platform_fakes: Any
) -> None:
    _offline(page)
    ws = seed.workspace_of(studio, studio_user)
    seed.set_plan(studio, ws, "pro")
    page.goto("/accounts")
    page.click("#connect-tiktok")
    page.wait_for_url("**/accounts?connected=tiktok**")
    account_id, open_id = studio.sql(
        "SELECT id::text, external_id FROM connected_accounts WHERE workspace_id = :w",
        w=str(ws),
    )[0]
    clip = seed_analytics.scored_clips(studio, ws, [dict.fromkeys(NAMES, 0.5)])[0]
    tt = platform_fakes.tiktok
    published = datetime.now(UTC) - timedelta(hours=3)
    counts = [(1200, 80, 9, 4), (300, 30, 2, 1), (4500, 200, 40, 25)]
    seeded = []
    for views, likes, comments, shares in counts:
        ext = str(7_100_000_000_000_000_000 + random.randrange(10**15))
        tt.published_posts.append(
            {
                "post_id": ext,
                "open_id": open_id,
                "view_count": views,
                "like_count": likes,
                "comment_count": comments,
                "share_count": shares,
                "duration": 12,
            }
        )
        seeded.append(
            seed_analytics.post(studio, ws, clip, uuid.UUID(account_id), "tiktok", published, ext)
        )
    first = _collect(studio, ws, account_id)
    assert '"snapshots": 3' in first["result"]

    # YouTube: two live videos and one that is gone from the channel.
    page.click("#connect-youtube")
    page.wait_for_url("**/accounts?connected=youtube**")
    yt_id = studio.sql(
        "SELECT id::text FROM connected_accounts WHERE workspace_id = :w AND platform = 'youtube'",
        w=str(ws),
    )[0][0]
    g = platform_fakes.google
    yt_counts = [(800, 40, 3), (2000, 150, 12)]
    yt_posts = []
    for views, likes, comments in yt_counts:
        vid = "v" + uuid.uuid4().hex[:10]
        g.videos.append(
            {
                "kind": "youtube#video",
                "id": vid,
                "snippet": {"channelId": g.config.channel_id, "title": "Seeded"},
                "status": {"privacyStatus": "public"},
            }
        )
        g.stats[vid] = {"viewCount": views, "likeCount": likes, "commentCount": comments}
        yt_posts.append(
            seed_analytics.post(studio, ws, clip, uuid.UUID(yt_id), "youtube", published, vid)
        )
    vanished = seed_analytics.post(
        studio, ws, clip, uuid.UUID(yt_id), "youtube", published, "v" + uuid.uuid4().hex[:10]
    )
    yt = _collect(studio, ws, yt_id)
    assert '"snapshots": 2' in yt["result"] and '"gone": 1' in yt["result"], yt

    # Time passes, the numbers grow; the posts are due again and measured again.
    for p in tt.published_posts:
        if p.get("open_id") == open_id:
            p["view_count"] += 1000
            p["like_count"] += 10
    studio.sql(
        "UPDATE post_metric_states SET next_due_at = now() - interval '1 second' "
        "WHERE workspace_id = :w",
        w=str(ws),
    )
    second = _collect(studio, ws, account_id)
    assert '"snapshots": 3' in second["result"]

    page.goto("/analytics?period=7")
    want = {
        "views": sum(c[0] for c in counts) + 3000 + sum(c[0] for c in yt_counts),
        "likes": sum(c[1] for c in counts) + 30 + sum(c[1] for c in yt_counts),
        "comments": sum(c[2] for c in counts) + sum(c[2] for c in yt_counts),
        "shares": sum(c[3] for c in counts),  # the Data API has no shares
    }
    assert _totals(page) == want
    rows = page.locator("#by-platform tbody tr")
    assert [r.get_attribute("data-key") for r in rows.all()] == ["tiktok", "youtube"]
    assert rows.nth(1).locator('[data-col="views"]').inner_text() == "2,800"
    page.select_option("#f-platform", "youtube")
    page.click("#apply-filters")
    page.wait_for_url("**platform=youtube**")
    assert _totals(page)["views"] == 2800
    page.goto("/analytics?period=7")
    views = _chart(page, "views")
    assert (views["series"], views["points"]) == (1, 8)
    assert views["values"][0][-1] == want["views"]
    # Only 3 posts, none 7 days old yet.
    assert "Not enough posts yet (0 of 20)" in page.inner_text("#calibration-card")
    page.click("#fit-weights")
    page.wait_for_selector("#fit-result")
    assert page.get_attribute("#fit-result", "data-adopted") == "false"
    assert "Not enough posts yet to fit weights (0 of 20)" in page.inner_text("#fit-result")
    page.click("#top-posts-table tbody tr:first-child th a")
    v = _chart(page, "views")
    assert (v["series"], v["points"]) == (1, 2)  # the two collections
    assert v["values"][0] == [4500, 5500]
    # A YouTube post: the account allowed YouTube Analytics, whose figures are charted too.
    page.goto(f"/analytics/posts/{yt_posts[1].id}")
    assert _totals(page)["views"] == 2000
    assert _chart(page, "watch")["values"] == [[500.0]]  # the fake: a quarter minute per view
    assert _chart(page, "watched")["values"] == [[62.5]]
    assert page.inner_text('#totals [data-total="subscribers_gained"]') == "5"
    assert page.inner_text('#totals [data-total="watch_through"]') == "62.50%"
    # The vanished video: marked gone, no measurements, no link.
    page.goto(f"/analytics/posts/{vanished.id}")
    assert "it was deleted" in page.inner_text("#post-gone")  # missing from videos.list
    assert page.locator("text=No measurements yet").count() == 1
    # An account connected before the statistics scope was asked for: the page says so.
    assert page.locator("#reconnect-notice").count() == 0
    studio.sql(
        "UPDATE connected_accounts SET scopes = 'user.info.basic,video.publish,video.upload' "
        "WHERE id = CAST(:a AS uuid)",
        a=account_id,
    )
    page.goto("/analytics")
    notice = page.inner_text("#reconnect-notice")
    assert "(TikTok)" in notice and "before Cliply asked to read its statistics" in notice
    assert page.locator('#reconnect-notice a[href="/accounts"]').count() == 1
    assert page.locator("#partial-notice").count() == 0
    # A YouTube account that did not allow the analytics report: counters only, said softly.
    studio.sql(
        "UPDATE connected_accounts SET scopes = :s WHERE id = CAST(:a AS uuid)",
        s="https://www.googleapis.com/auth/youtube.upload "
        "https://www.googleapis.com/auth/youtube.readonly",
        a=yt_id,
    )
    page.reload()
    assert "(YouTube)" in page.inner_text("#partial-notice")
    assert "(YouTube)" not in page.inner_text("#reconnect-notice")
    page.goto(f"/analytics/clips/{clip}")
    assert page.locator("#clip-posts tbody tr").count() == 6
    assert page.locator("#clip-posts .badge.failed").count() == 1
    assert _chart(page, "views")["series"] == 6
    assert _totals(page)["views"] == want["views"]
