"""Instagram Reels and Facebook Page Reels end to end against the fake Graph API: Facebook
Login connect, token expiry, refresh and reconnect; publishing through a real worker process;
dropped uploads resumed from the host's offset; crashes after publishing; rate limits (the
daily cap at scheduling, Meta's publishing quota, throttling codes and usage headers)."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from tests.conftest import reset_caches
from tests.fakes.meta import VERSION, graph_error_body
from tests.publishing.helpers import (
    World,
    account_row,
    connect,
    consent,
    cron_scan,
    job_statuses,
    make_due,
    posts_in_db,
    reclaim_dead_jobs,
    run_due_jobs,
    schedule,
    schedule_row,
    start_connect,
)

from cliply.accounts.models import ConnectedAccount
from cliply.accounts.service import refresh_due
from cliply.accounts.tokens import access_token, keyring, refresh_token
from cliply.db.engine import owner_session
from cliply.publishing import hooks

REPO = Path(__file__).resolve().parents[2]
META_KINDS = ["PUBLISH_INSTAGRAM", "PUBLISH_FACEBOOK"]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _post(world: World, platform: str) -> Any:
    (row,) = [p for p in posts_in_db(world.workspace_id) if p.platform == platform]
    return row


# --- connecting --------------------------------------------------------------------------------


def test_facebook_login_connects_instagram_and_page_accounts(world: World) -> None:
    m = world.fakes.meta
    ig = connect(world, "instagram")
    fb = connect(world, "facebook")
    assert ig["external_id"] == m.config.ig_user_id
    assert ig["display_name"] == m.config.ig_username
    assert ig["info"]["page_id"] == m.config.page_id
    assert "instagram_content_publish" in ig["scopes"]
    assert fb["external_id"] == m.config.page_id and fb["display_name"] == m.config.page_name
    assert "pages_manage_posts" in fb["scopes"]
    for account in (ig, fb):
        assert account["status"] == "active"
        expires = datetime.fromisoformat(account["access_expires_at"])
        assert expires > datetime.now(UTC) + timedelta(days=50)  # the long-lived token
    # The dialog asked for the publishing scopes, with no PKCE (Facebook Login has none).
    asked = {q["scope"] for q in m.authorize_requests}
    assert any("instagram_content_publish" in s for s in asked)
    assert any("pages_manage_posts" in s for s in asked)

    # Tokens are stored encrypted: the Instagram account holds the long-lived user token,
    # the Page account the Page token (and the user token to renew it).
    ring = keyring()
    ig_row, fb_row = account_row(ig["id"]), account_row(fb["id"])
    user_tokens = set(m.user_tokens())
    assert access_token(ring, ig_row) in user_tokens
    assert m.tokens[access_token(ring, fb_row)].kind == "page"
    assert refresh_token(ring, fb_row) in user_tokens
    for row in (ig_row, fb_row):
        assert row.access_token_enc and access_token(ring, row) not in row.access_token_enc

    # Connecting the same Instagram account again updates it (no second account).
    again = connect(world, "instagram")
    assert again["id"] == ig["id"]
    accounts = world.api.get("/api/v1/accounts", headers=world.h).json()["items"]
    assert sorted(a["platform"] for a in accounts) == ["facebook", "instagram"]


def test_missing_permission_or_instagram_link_is_refused(world: World) -> None:
    m = world.fakes.meta
    m.config.granted = ("pages_show_list", "pages_read_engagement")  # publish not granted
    r = world.api.get(consent(start_connect(world, "instagram")))
    assert r.status_code == 400
    assert r.json()["type"].endswith("/oauth-scope-missing")
    m.config.granted = ("instagram_basic", "instagram_content_publish", "pages_show_list")
    m.config.link_instagram = False
    r = world.api.get(consent(start_connect(world, "instagram")))
    assert r.status_code == 400
    assert r.json()["type"].endswith("/meta-page-missing")
    assert world.api.get("/api/v1/accounts", headers=world.h).json()["items"] == []


def test_token_refresh_expiry_and_reconnect(world: World) -> None:
    m = world.fakes.meta
    fb = connect(world, "facebook")
    ig = connect(world, "instagram")
    ring = keyring()
    before = {a: access_token(ring, account_row(a)) for a in (fb["id"], ig["id"])}
    # Close to expiry: the periodic refresh exchanges the user token for a new one, and the
    # Page token is derived again from it.
    with owner_session() as db:
        db.execute(
            update(ConnectedAccount).values(
                access_expires_at=datetime.now(UTC) + timedelta(seconds=60)
            )
        )
    exchanges = m.exchanges
    assert refresh_due() == 2
    assert m.exchanges == exchanges + 2
    for account_id, old in before.items():
        row = account_row(account_id)
        assert row.status == "active"
        assert access_token(ring, row) != old
        assert row.access_expires_at > datetime.now(UTC) + timedelta(days=50)

    # The user changed their Facebook password: every token dies, refresh fails for good.
    m.kill_tokens()
    with owner_session() as db:
        db.execute(update(ConnectedAccount).values(access_expires_at=datetime.now(UTC)))
    assert refresh_due() == 0
    for account_id in (fb["id"], ig["id"]):
        shown = world.api.get(f"/api/v1/accounts/{account_id}", headers=world.h).json()
        assert shown["status"] == "needs_reconnect"
        assert "refresh failed" in shown["status_reason"]
    # Reconnecting brings the same account back.
    again = connect(world, "facebook")
    assert again["id"] == fb["id"] and again["status"] == "active"


# --- publishing through a real worker process --------------------------------------------------


def test_instagram_and_facebook_reels_publish_through_a_worker_process(
    world: World, tmp_path: Path
) -> None:
    m = world.fakes.meta
    connect(world, "instagram")
    connect(world, "facebook")
    a = schedule(world, "instagram", title="Reel one", caption="Our first reel")
    b = schedule(world, "facebook", title="Page reel", caption="On the Page")
    make_due(a["id"])
    make_due(b["id"])
    assert cron_scan(world.api)["claimed"] == 2
    log = tmp_path / "worker.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cliply",
            "worker",
            "--kinds",
            ",".join(META_KINDS),
            "--slots",
            "2",
            "--no-scheduler",
        ],
        cwd=REPO,
        env=os.environ.copy(),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while {schedule_row(s["id"]).status for s in (a, b)} != {"published"}:
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    assert sorted(k for k, st, _ in job_statuses() if st == "succeeded") == sorted(META_KINDS)

    sha = _sha(world.video)
    (media,) = m.media
    assert media["sha256"] == sha
    assert media["caption"] == "Our first reel\n\n#cliply #demo"
    (reel,) = m.reels
    assert reel["sha256"] == sha and reel["description"] == "On the Page\n\n#cliply #demo"
    assert reel["title"] == "Page reel"
    ig_post, fb_post = _post(world, "instagram"), _post(world, "facebook")
    assert ig_post.status == "published" and ig_post.platform_post_id == media["id"]
    assert ig_post.url == media["permalink"]
    assert fb_post.status == "published" and fb_post.platform_post_id == reel["id"]
    assert fb_post.url == f"https://www.facebook.com/reel/{reel['id']}"
    listed = world.api.get("/api/v1/posts", headers=world.h).json()["items"]
    assert {p["platform"] for p in listed} == {"instagram", "facebook"}


# --- exactly once ------------------------------------------------------------------------------


def _three_chunks(world: World, monkeypatch: pytest.MonkeyPatch) -> int:
    """Instagram uploads in three requests; returns the chunk size."""
    chunk = world.video.stat().st_size // 3 + 1
    monkeypatch.setenv("META_UPLOAD_CHUNK_BYTES", str(chunk))
    reset_caches()
    return chunk


def test_instagram_dropped_upload_resumes_from_the_last_acknowledged_chunk(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Meta documents no way to ask the rupload host what it kept of an Instagram upload: the
    # client goes on from the last offset the host acknowledged, never from 0.
    m = world.fakes.meta
    connect(world, "instagram")
    c = _three_chunks(world, monkeypatch)
    faults = world.fakes.meta_server.faults
    # The second request is cut off halfway (the host keeps those bytes; nobody hears back).
    faults.drop_next("POST", f"/ig-api-upload/{VERSION}/", after_body_bytes=c // 2, skip=1)
    faults.fail_next("GET", f"/{VERSION}/1790", status=500)  # a container status read
    s = schedule(world, "instagram", scheduled_at=None)
    assert [r.status for r in run_due_jobs()] == ["succeeded"]
    (media,) = m.media
    assert media["sha256"] == _sha(world.video)
    (container,) = m.uploads.values()
    assert container.status == "PUBLISHED"
    assert m.upload_offsets == [0, c, c, 2 * c]  # the cut chunk again, not the whole file
    assert {kind for kind, _, _ in faults.injected} == {"drop", "fail"}
    assert schedule_row(s["id"]).status == "published"
    assert _post(world, "instagram").attempts == 1


def test_instagram_upload_goes_on_in_the_next_attempt_from_the_recorded_offset(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = world.fakes.meta
    connect(world, "instagram")
    c = _three_chunks(world, monkeypatch)
    faults = world.fakes.meta_server.faults
    # After the first chunk the host fails every request: the attempt gives up.
    faults.fail_next("POST", f"/ig-api-upload/{VERSION}/", status=503, count=100, skip=1)
    s = schedule(world, "instagram", scheduled_at=None)
    assert [r.status for r in run_due_jobs(limit=1)] == ["queued"]
    post = _post(world, "instagram")
    assert post.upload_ref.endswith(f" {c}")  # what the host acknowledged, committed
    assert m.upload_offsets == [0]
    faults.clear()
    assert [r.status for r in run_due_jobs()] == ["succeeded"]
    assert m.upload_offsets == [0, c, 2 * c]  # the next attempt went on from there
    (media,) = m.media
    assert media["sha256"] == _sha(world.video)
    assert len(m.uploads) == 1  # the same container
    assert schedule_row(s["id"]).status == "published"


def test_facebook_dropped_upload_resumes_from_bytes_transferred(world: World) -> None:
    m = world.fakes.meta
    connect(world, "facebook")
    size = world.video.stat().st_size
    faults = world.fakes.meta_server.faults
    faults.drop_next("POST", f"/video-upload/{VERSION}/", after_body_bytes=size // 2)
    s = schedule(world, "facebook", scheduled_at=None)
    assert [r.status for r in run_due_jobs()] == ["succeeded"]
    (reel,) = m.reels
    assert reel["sha256"] == _sha(world.video)
    assert m.upload_offsets[0] == 0 and 0 < m.upload_offsets[1] <= size // 2
    assert len(m.upload_offsets) == 2
    assert schedule_row(s["id"]).status == "published"


@pytest.mark.parametrize("platform", ["instagram", "facebook"])
def test_crash_after_publishing_does_not_post_twice(world: World, platform: str) -> None:
    m = world.fakes.meta
    connect(world, platform)
    s = schedule(world, platform, scheduled_at=None, caption=f"Once on {platform}")

    def crash(name: str, post_id: Any, ref: str) -> None:
        raise SystemExit(f"worker killed after {name} took the post")

    hooks.after_upload.append(crash)
    try:
        with pytest.raises(SystemExit):
            run_due_jobs()
    finally:
        hooks.after_upload.remove(crash)
    published = m.media if platform == "instagram" else m.reels
    assert len(published) == 1
    post = _post(world, platform)
    assert post.upload_ref and post.platform_post_id is None  # our commit never happened
    uploads = m.upload_posts

    assert reclaim_dead_jobs() == 1
    assert [r.status for r in run_due_jobs()] == ["succeeded"]
    assert len(published) == 1 and m.upload_posts == uploads  # nothing sent again
    post = _post(world, platform)
    assert post.platform_post_id == published[0]["id"] and post.attempts == 2
    assert schedule_row(s["id"]).status == "published"


def test_expired_instagram_container_gets_a_new_one(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = world.fakes.meta
    connect(world, "instagram")
    m.config.processing_polls = 10**9  # stays IN_PROGRESS: the attempt times out
    s = schedule(world, "instagram", scheduled_at=None)
    monkeypatch.setenv("PUBLISH_POLL_TIMEOUT_S", "0.3")
    reset_caches()
    first = run_due_jobs(limit=1)
    monkeypatch.setenv("PUBLISH_POLL_TIMEOUT_S", "20")
    reset_caches()
    assert [r.status for r in first] == ["queued"]
    (old,) = m.uploads.values()
    m.expire_container(old.id)  # never published within 24 h
    m.config.processing_polls = 0
    assert [r.status for r in run_due_jobs()] == ["succeeded"]
    assert len(m.uploads) == 2 and len(m.media) == 1
    assert m.media[0]["container_id"] != old.id
    assert schedule_row(s["id"]).status == "published"


# --- rate limits -------------------------------------------------------------------------------


def test_daily_cap_is_checked_when_scheduling(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSTAGRAM_DAILY_POST_LIMIT", "2")
    reset_caches()
    connect(world, "instagram")
    base = datetime.now(UTC) + timedelta(hours=2)
    schedule(world, "instagram", scheduled_at=base.isoformat())
    schedule(world, "instagram", scheduled_at=(base + timedelta(hours=10)).isoformat())
    body = {
        "clip_id": str(world.clip_id),
        "account_id": world.accounts["instagram"]["id"],
        "scheduled_at": (base + timedelta(hours=20)).isoformat(),
        "privacy": "public",
    }
    r = world.api.post("/api/v1/schedules", json=body, headers=world.h)
    assert r.status_code == 409, r.text
    assert r.json()["type"].endswith("/publishing-limit-reached")
    # A day after the first one the window has room again.
    body["scheduled_at"] = (base + timedelta(hours=25)).isoformat()
    assert world.api.post("/api/v1/schedules", json=body, headers=world.h).status_code == 201
    # Reels are public: other audiences are refused for Instagram.
    body["privacy"] = "private"
    body["scheduled_at"] = (base + timedelta(days=5)).isoformat()
    r = world.api.post("/api/v1/schedules", json=body, headers=world.h)
    assert r.status_code == 422 and r.json()["type"].endswith("/privacy-not-supported")


def test_publishing_quota_and_throttling_delay_the_post(world: World) -> None:
    m = world.fakes.meta
    connect(world, "instagram")
    m.config.quota_usage = m.config.quota_total  # Meta says: no more posts for now
    s = schedule(world, "instagram", scheduled_at=None)
    ran = run_due_jobs(limit=1)
    assert [r.status for r in ran] == ["queued"] and "posts allowed in 24 h" in str(ran[0].error)
    assert m.uploads == {}  # no container was made

    m.config.quota_usage = 0
    # A throttling answer (code 4, with the usage headers) on the container create.
    world.fakes.meta_server.faults.fail_next(
        "POST",
        f"/{VERSION}/{m.config.ig_user_id}/media",
        status=400,
        body=graph_error_body(4, "Application request limit reached"),
        headers={"x-app-usage": '{"call_count": 100, "total_cputime": 20, "total_time": 30}'},
    )
    ran = run_due_jobs(limit=1)
    assert [r.status for r in ran] == ["queued"] and "request limit" in str(ran[0].error)
    assert _post(world, "instagram").error.startswith("instagram: Application request limit")

    # Usage headers near the limit: the client stops calling by itself and waits.
    m.config.app_usage_pct = 97
    calls = len(m.requests)
    ran = run_due_jobs(limit=1)
    assert [r.status for r in ran] == ["queued"] and "usage is at 97%" in str(ran[0].error)
    assert len(m.requests) == calls + 1  # one answer with the headers, then no more calls
    m.config.app_usage_pct = 5
    assert [r.status for r in run_due_jobs()] == ["succeeded"]
    assert len(m.media) == 1 and len(m.uploads) == 1
    assert schedule_row(s["id"]).status == "published"


def test_dead_token_while_publishing_asks_for_reconnect(world: World) -> None:
    m = world.fakes.meta
    connect(world, "facebook")
    m.kill_tokens()
    with owner_session() as db:
        db.execute(update(ConnectedAccount).values(access_expires_at=datetime.now(UTC)))
    s = schedule(world, "facebook", scheduled_at=None)
    ran = run_due_jobs()
    assert [r.status for r in ran] == ["failed"]
    assert "reconnect" in (schedule_row(s["id"]).error or "")
    account = account_row(world.accounts["facebook"]["id"])
    assert account.status == "needs_reconnect"
    assert m.reels == []
