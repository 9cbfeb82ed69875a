"""Clicks and CTR (clicks / views, bots apart) per product, clip and post in the analytics
API, as JSON pages and as CSV."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import text

from cliply.db.engine import get_engine
from tests.conftest import reset_caches
from tests.products.helpers import rows
from tests.publishing.helpers import World, connect, run_due_jobs, schedule, set_plan

# Every test here needs the database (or a server process): integration tier.
pytestmark = pytest.mark.integration

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"


@pytest.fixture
def seller(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://go.cliply.test")
    reset_caches()
    set_plan(world.workspace_id, "premium")
    return world


def test_clicks_and_ctr_per_product_clip_and_post(seller: World) -> None:
    w = seller
    made = {}
    for name in ("Mug", "Cap", "Idle"):
        r = w.api.post(
            "/api/v1/products",
            json={"name": name, "url": f"https://shop.example.com/{name.lower()}"},
            headers=w.h,
        )
        made[name] = r.json()["id"]
    for name in ("Mug", "Cap"):
        w.api.put(f"/api/v1/clips/{w.clip_id}/products/{made[name]}", headers=w.h)
    connect(w, "tiktok")
    s = schedule(w, "tiktok", scheduled_at=None)
    assert [r.status for r in run_due_jobs()] == ["succeeded"]
    post_id = rows("SELECT id FROM posts WHERE schedule_id = :s", s=s["id"])[0]["id"]
    with get_engine().begin() as conn:
        conn.execute(
            text(
                "INSERT INTO post_metrics (workspace_id, post_id, views, collected_at) VALUES "
                "(:w, :p, 10, now() - interval '1 hour'), (:w, :p, 1000, now())"
            ),
            {"w": w.workspace_id, "p": post_id},
        )
    codes = {
        r["name"]: r["code"]
        for r in rows(
            "SELECT p.name, l.code FROM short_links l JOIN products p ON p.id = l.product_id"
        )
    }
    for name, agent in (("Mug", PHONE), ("Mug", PHONE), ("Mug", "curl/8"), ("Cap", PHONE)):
        r = w.api.get(f"/r/{codes[name]}", headers={"User-Agent": agent}, follow_redirects=False)
        assert r.status_code == 302

    page = w.api.get("/api/v1/analytics/products", headers=w.h).json()
    got = {
        i["label"]: (i["clicks"], i["bot_clicks"], i["posts"], i["views"], i["ctr"])
        for i in page["items"]
    }
    assert got == {
        "Mug": (2, 1, 1, 1000, 0.002),
        "Cap": (1, 0, 1, 1000, 0.001),
        "Idle": (0, 0, 0, 0, None),
    }
    assert [i["label"] for i in page["items"]] == ["Mug", "Cap", "Idle"]  # most clicked first
    first = w.api.get("/api/v1/analytics/products?limit=2", headers=w.h).json()
    rest = w.api.get(
        f"/api/v1/analytics/products?limit=2&cursor={first['next_cursor']}", headers=w.h
    ).json()
    assert [i["label"] for i in first["items"] + rest["items"]] == ["Mug", "Cap", "Idle"]
    assert rest["next_cursor"] is None

    clip = w.api.get("/api/v1/analytics/clicks?by=clip", headers=w.h).json()["items"]
    assert [(i["id"], i["clicks"], i["bot_clicks"], i["views"], i["ctr"]) for i in clip] == [
        (str(w.clip_id), 3, 1, 1000, 0.003)
    ]
    post = w.api.get("/api/v1/analytics/clicks?by=post", headers=w.h).json()["items"]
    assert [(i["id"], i["clicks"], i["ctr"]) for i in post] == [(str(post_id), 3, 0.003)]

    r = w.api.get("/api/v1/analytics/products?format=csv", headers=w.h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(r.text)))
    assert [(t["label"], t["clicks"], t["bot_clicks"], t["views"], t["ctr"]) for t in table] == [
        ("Mug", "2", "1", "1000", "0.002"),
        ("Cap", "1", "0", "1000", "0.001"),
        ("Idle", "0", "0", "0", ""),
    ]
    r = w.api.get("/api/v1/analytics/clicks?by=post", headers={**w.h, "Accept": "text/csv"})
    assert r.text.splitlines()[0] == "by,id,label,clicks,bot_clicks,posts,views,ctr"
