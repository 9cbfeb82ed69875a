"""Tracked links: a scheduled clip with products gets `{PUBLIC_BASE_URL}/r/{code}` lines in
its caption; the public redirect answers 302 to the product with UTM parameters, records a
click (post, country from the configured header, user-agent class, bots apart, no IP), never
shows another workspace's data, and still redirects when the click cannot be written."""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from cliply.config import get_settings
from cliply.db.engine import get_engine, get_sessionmaker
from cliply.db.tenancy import enter_tenant
from tests.conftest import reset_caches
from tests.products.helpers import rows
from tests.publishing.helpers import World, connect, run_due_jobs, schedule, set_plan

# Every test here needs the database (or a server process): integration tier.
pytestmark = pytest.mark.integration

BASE = "https://go.cliply.test"
PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 musical_ly_32.5.0"
)
DESKTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"
CODE = re.compile(r"^(.+): " + re.escape(BASE) + r"/r/([A-Za-z0-9]{12})$", re.M)


@pytest.fixture
def seller(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setenv("PUBLIC_BASE_URL", BASE)
    monkeypatch.setenv("LINK_COUNTRY_HEADER", "CF-IPCountry")
    reset_caches()
    set_plan(world.workspace_id, "premium")
    return world


def _product(w: World, name: str, url: str | None, link: bool = True) -> str:
    r = w.api.post("/api/v1/products", json={"name": name, "url": url}, headers=w.h)
    assert r.status_code == 201, r.text
    pid = str(r.json()["id"])
    if link:
        assert (
            w.api.put(f"/api/v1/clips/{w.clip_id}/products/{pid}", headers=w.h).status_code == 204
        )
    return pid


def _codes(caption: str) -> dict[str, str]:
    return {name: code for name, code in CODE.findall(caption)}


def _follow(api: TestClient, code: str, **headers: str) -> Any:
    return api.get(f"/r/{code}", headers=headers, follow_redirects=False)


def test_scheduled_caption_gets_tracked_links_that_redirect_with_utm(seller: World) -> None:
    w = seller
    _product(w, "Mug", "https://shop.example.com/products/mug?variant=7")
    _product(w, "No URL", None)  # nothing to link to: no line
    _product(w, "Unlinked", "https://shop.example.com/x", link=False)
    connect(w, "tiktok")
    s = schedule(w, "tiktok", caption="Made with Cliply")
    caption = s["caption"]
    assert caption.startswith("Made with Cliply\n\nMug: " + BASE + "/r/")
    codes = _codes(caption)
    assert list(codes) == ["Mug"]
    code = codes["Mug"]

    r = _follow(w.api, code, **{"User-Agent": PHONE, "CF-IPCountry": "de"})
    assert r.status_code == 302
    assert r.headers["cache-control"] == "private, no-store"
    target = urlsplit(r.headers["location"])
    assert (target.netloc, target.path) == ("shop.example.com", "/products/mug")
    q = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert q == {
        "variant": "7",
        "utm_source": "tiktok",
        "utm_medium": "social",
        "utm_campaign": str(w.clip_id),
        "utm_content": s["id"],  # the schedule until its post exists
    }
    clicks = rows("SELECT * FROM link_clicks")
    assert len(clicks) == 1
    c = clicks[0]
    assert (c["country"], c["ua_class"], c["is_bot"], c["platform"]) == (
        "DE",
        "mobile",
        False,
        "tiktok",
    )
    assert str(c["workspace_id"]) == str(w.workspace_id) and c["post_id"] is None
    # No column can hold an address: nothing in the row looks like an IP.
    assert not any("127.0.0.1" in str(v) or "testclient" in str(v) for v in c.values())

    # Published: the post's id is the utm_content and each click names the post.
    w.api.patch(f"/api/v1/schedules/{s['id']}", json={"scheduled_at": None}, headers=w.h)
    ran = run_due_jobs()
    assert [r.status for r in ran] == ["succeeded"], ran
    assert code in w.fakes.tiktok.published_posts[0]["title"]  # the link reached TikTok
    post_id = rows("SELECT id FROM posts WHERE schedule_id = :s", s=s["id"])[0]["id"]
    r = _follow(w.api, code, **{"User-Agent": DESKTOP})
    assert parse_qs(urlsplit(r.headers["location"]).query)["utm_content"] == [str(post_id)]
    last = rows("SELECT post_id, ua_class, country FROM link_clicks ORDER BY clicked_at DESC")[0]
    assert (last["post_id"], last["ua_class"], last["country"]) == (post_id, "desktop", None)


@pytest.mark.parametrize(
    ("agent", "ua_class", "bot"),
    [
        ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", "bot", True),
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "bot", True),
        ("WhatsApp/2.23.20.0 A", "bot", True),
        ("curl/8.4.0", "bot", True),
        ("", "bot", True),
        (PHONE, "mobile", False),
        ("Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15", "tablet", False),
        (DESKTOP, "desktop", False),
    ],
)
def test_bots_are_counted_apart(seller: World, agent: str, ua_class: str, bot: bool) -> None:
    w = seller
    _product(w, "Mug", "https://shop.example.com/mug")
    connect(w, "tiktok")
    code = _codes(schedule(w, "tiktok")["caption"])["Mug"]
    r = _follow(w.api, code, **{"User-Agent": agent})
    assert r.status_code == 302  # a bot (a link preview) is redirected as well
    assert [(c["ua_class"], c["is_bot"]) for c in rows("SELECT * FROM link_clicks")] == [
        (ua_class, bot)
    ]


def test_unknown_codes_are_404_and_the_public_role_sees_no_links(seller: World) -> None:
    w = seller
    _product(w, "Mug", "https://shop.example.com/mug")
    connect(w, "tiktok")
    code = _codes(schedule(w, "tiktok")["caption"])["Mug"]
    for bad in ("AAAAAAAAAAAA", code[:-1], code + "x", "%00", "x" * 64, code.lower()):
        r = _follow(w.api, bad)
        assert r.status_code in (404, 422), (bad, r.status_code)
        if r.status_code == 404:
            assert r.json()["type"].endswith("/short-link-not-found")
    assert rows("SELECT count(*) AS n FROM link_clicks") == [{"n": 0}]
    # What the redirect runs as: the restricted role with no workspace sees no link and no
    # click of any workspace, and the lookup function answers one code only.
    role = get_settings().database_app_role
    with get_sessionmaker()() as db, db.begin():
        enter_tenant(db, role=role, workspace_id=None, user_id=None)
        assert db.execute(text("SELECT count(*) FROM short_links")).scalar_one() == 0
        assert db.execute(text("SELECT count(*) FROM products")).scalar_one() == 0
        found = db.execute(text("SELECT * FROM cliply_resolve_short_link(:c)"), {"c": code}).all()
        assert len(found) == 1
        assert db.execute(text("SELECT * FROM cliply_resolve_short_link('%')")).all() == []


def test_a_failed_click_write_still_redirects(seller: World) -> None:
    """The click insert fails for real, at COMMIT (a deferred constraint trigger raising for
    this one link), after the row was accepted: the visitor still gets the redirect."""
    w = seller
    _product(w, "Mug", "https://shop.example.com/mug")
    connect(w, "tiktok")
    code = _codes(schedule(w, "tiktok")["caption"])["Mug"]
    link_id = rows("SELECT id FROM short_links WHERE code = :c", c=code)[0]["id"]
    fn, trigger = f"fail_clicks_{uuid.uuid4().hex[:8]}", f"t_{uuid.uuid4().hex[:8]}"
    with get_engine().begin() as conn:
        conn.execute(
            text(
                f"CREATE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"IF NEW.link_id = '{link_id}' THEN RAISE EXCEPTION 'analytics store broken'; "
                "END IF; RETURN NEW; END $$"
            )
        )
        conn.execute(
            text(
                f"CREATE CONSTRAINT TRIGGER {trigger} AFTER INSERT ON link_clicks "
                f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {fn}()"
            )
        )
    try:
        r = _follow(w.api, code, **{"User-Agent": PHONE})
        assert r.status_code == 302
        assert r.headers["location"].startswith("https://shop.example.com/mug?utm_source=tiktok")
        assert rows("SELECT count(*) AS n FROM link_clicks") == [{"n": 0}]  # really not written
    finally:
        with get_engine().begin() as conn:
            conn.execute(text(f"DROP TRIGGER {trigger} ON link_clicks"))
            conn.execute(text(f"DROP FUNCTION {fn}()"))
    assert _follow(w.api, code, **{"User-Agent": PHONE}).status_code == 302
    assert rows("SELECT count(*) AS n FROM link_clicks") == [{"n": 1}]  # and counts again
