"""Experiments in Cliply Studio, in Debian's chromium against a real `cliply serve`: start one
from a clip in the gallery (two variants: a different hook, title and caption style), see the
variants side by side with what each changes, watch P(best) move as measured posts arrive
(the page refreshes its numbers itself), stop it by hand (the rule's winner is named) and
press promote."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cliply.analytics.models import PostMetric
from cliply.clips.models import Clip
from cliply.publishing.models import Post
from cliply.storage.keys import render_key, thumbnail_key
from tests.mediagen import silent_video
from tests.pipeline.fixtures import talk_video  # noqa: F401  (session fixture)
from tests.web import seed
from tests.web.conftest import check_page
from tests.web.seed_analytics import account


@pytest.fixture(scope="module", autouse=True)
def _warm(studio: Any) -> None:
    import httpx

    for path in ("/signup", "/login", "/projects/new"):
        httpx.get(studio.url(path), timeout=120, follow_redirects=True)


def _base_clip(
    studio: Any, ws: uuid.UUID, pid: uuid.UUID, start: float, end: float, tmp: Path
) -> uuid.UUID:
    """A rendered clip over the first two sentences (its render a stand-in MP4)."""
    video = silent_video(tmp / "render.mp4", seconds=2.0, size="360x640")
    thumb = tmp / "thumb.jpg"
    thumb.write_bytes(b"\xff\xd8\xff\xd9")
    storage = seed._storage(studio)
    cid = uuid.uuid4()
    storage.put_file(render_key(ws, pid, cid), video, content_type="video/mp4")
    storage.put_file(thumbnail_key(ws, pid, cid), thumb, content_type="image/jpeg")
    with seed._session(studio) as db, db.begin():
        db.add(
            Clip(
                id=cid,
                workspace_id=ws,
                project_id=pid,
                rank=1,
                start_s=start,
                end_s=end,
                title="Why bread rises",
                description="Bread, explained.",
                hashtags=["#bread"],
                text="bread",
                score=80.0,
                reasons=[],
                status="ready",
                render_version=1,
                render_key=render_key(ws, pid, cid),
                thumb_key=thumbnail_key(ws, pid, cid),
                width=360,
                height=640,
                layout="blur",
            )
        )
    return cid


def _usable(studio: Any, account_id: uuid.UUID) -> None:
    """Seeded accounts have no token; scheduling only needs one stored (nothing publishes:
    the variants post tomorrow)."""
    from sqlalchemy import update

    from cliply.accounts.models import ConnectedAccount

    with seed._session(studio) as db, db.begin():
        db.execute(
            update(ConnectedAccount)
            .where(ConnectedAccount.id == account_id)
            .values(access_token_enc="t1:not-a-real-token")
        )


def _measured(studio: Any, ws: uuid.UUID, clip_id: str, account_id: uuid.UUID, views: int) -> None:
    now = datetime.now(UTC)
    with seed._session(studio) as db, db.begin():
        post = Post(
            workspace_id=ws,
            clip_id=uuid.UUID(clip_id),
            account_id=account_id,
            platform="tiktok",
            status="published",
            platform_post_id=uuid.uuid4().hex,
            published_at=now - timedelta(hours=2),
        )
        db.add(post)
        db.flush()
        db.add(PostMetric(workspace_id=ws, post_id=post.id, views=views, collected_at=now))


def test_experiment_from_the_gallery_to_a_stopped_winner(
    page: Any,
    studio: Any,
    studio_user: str,
    talk_video: tuple[Path, list[tuple[float, float, str]]],  # noqa: F811
    tmp_path: Path,
) -> None:
    video, timeline = talk_video
    ws = seed.workspace_of(studio, studio_user)
    seed.set_plan(studio, ws, "pro")
    pid = seed.talk_project(studio, ws, video, timeline)
    cid = _base_clip(studio, ws, pid, timeline[0][0], timeline[1][1], tmp_path)
    tiktok = account(studio, ws, "tiktok", "Bread TikTok")
    youtube = account(studio, ws, "youtube", "Bread Channel")
    for a in (tiktok, youtube):
        _usable(studio, a)

    # From the gallery's card to the form.
    page.goto(f"/projects/{pid}/clips")
    page.click(f'a[href="/clips/{cid}/experiment"]')
    page.wait_for_url(f"**/clips/{cid}/experiment")
    variants = page.locator("[data-variant]")
    assert variants.count() == 2
    check_page(page, "experiment-new")
    b = variants.nth(1)
    b.locator('select[name="hook_sentence"]').select_option("1")  # start at "Yeast eats..."
    b.locator('input[name="title"]').fill("Wait for it")
    b.locator('select[name="caption_style"]').select_option("boxed")
    page.check(f'input[name="account_ids"][value="{tiktok}"]')
    page.check(f'input[name="account_ids"][value="{youtube}"]')
    tomorrow = (datetime.now() + timedelta(days=1)).strftime("%Y-%m-%dT10:00")
    page.fill("#f-start", tomorrow)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/experiments/[0-9a-f-]{36}$"))
    exp_id = page.url.rsplit("/", 1)[1]

    # Side by side: what changed, the posts spread over both accounts.
    cards = page.locator("li.variant")
    assert cards.count() == 2
    changes_b = cards.nth(1).locator("dl.changes").inner_text()
    assert "Yeast eats the sugar" in changes_b and "Wait for it" in changes_b
    assert "boxed" in changes_b
    assert "the control" in cards.nth(0).inner_text()
    assert cards.nth(0).locator("ul.schedules li").count() == 2
    assert page.locator("#exp-status").inner_text() == "running"
    check_page(page, "experiment")

    # Measured posts arrive; the page's numbers follow without a reload.
    exp = page.request.get(f"/api/v1/experiments/{exp_id}").json()
    va, vb = exp["variants"]
    _measured(studio, ws, va["clip_id"], tiktok, 1500)
    _measured(studio, ws, vb["clip_id"], youtube, 6000)
    p_best_b = cards.nth(1).locator('[data-stat="p_best"]')
    page.wait_for_function(
        "el => parseFloat(el.textContent) > 95", arg=p_best_b.element_handle(), timeout=20000
    )
    assert float(cards.nth(0).locator('[data-stat="p_best"]').inner_text().split()[0]) < 5
    assert cards.nth(1).locator('[data-stat="views"]').inner_text() == "6000"

    # Stop by hand: the rule's winner is named; the winner can be promoted.
    if page.locator("#stop-experiment").count():  # (the periodic evaluation may be first)
        page.click("#stop-experiment")
        page.wait_for_selector("text=Winner: variant B")
    outcome = page.locator("#exp-outcome").inner_text()
    assert "Winner: variant B" in outcome
    assert page.locator("li.variant.winner h2").inner_text().startswith("Variant B")
    page.click("#promote-winner")
    page.wait_for_selector("#toast >> text=Every account already has the winner")

    # A draft (no account ticked), scheduled later from its own page.
    page.goto(f"/clips/{cid}/experiment")
    page.fill("#f-name", "Caption styles")
    page.locator("[data-variant]").nth(1).locator('select[name="caption_style"]').select_option(
        "karaoke"
    )
    page.click("main button[type=submit]")
    page.wait_for_selector("#schedule-experiment")
    assert page.locator("#exp-status").inner_text() == "draft"
    page.check(f'#schedule-experiment input[name="account_ids"][value="{youtube}"]')
    page.fill("#schedule-experiment #f-start", tomorrow)
    page.click("#schedule-experiment button[type=submit]")
    page.wait_for_selector("#exp-status >> text=running")
    assert page.locator("li.variant").nth(1).locator("ul.schedules li").count() == 1

    # The list.
    page.goto("/experiments")
    rows = page.locator("table.experiments tbody tr")
    assert rows.count() == 2
    assert "running" in rows.nth(0).inner_text() and "Caption styles" in rows.nth(0).inner_text()
    assert "ended" in rows.nth(1).inner_text() and "B" in rows.nth(1).inner_text()
    check_page(page, "experiments")
