"""End-to-end steps 1 and 2 in a real browser against `cliply serve`:
1. sign up, create a workspace, drop a generated talk on the upload zone with the
   connection cut once mid-upload, and the upload resumes (not restarts);
2. live progress by server-sent events (no polling), then the gallery plays a clip.
The upload and processing happen once, in the session fixture `processed_project`."""

from __future__ import annotations

import pytest

from tests.web.conftest import SHOTS, check_page, log_in

# Every test here needs the database (or a server process): integration tier.
pytestmark = pytest.mark.integration


def test_step1_drag_and_drop_upload_resumes_after_a_dropped_connection(processed_project, studio):
    pp = processed_project
    patches = [(m, h) for m, _, h in pp.upload_requests if m == "PATCH"]
    heads = [i for i, (m, _, _) in enumerate(pp.upload_requests) if m == "HEAD"]
    creates = [h for m, _, h in pp.upload_requests if m == "POST"]
    assert len(creates) == 1, "one upload was created (the drop), not one per retry"
    assert "x-csrf-token" in creates[0] and "authorization" not in creates[0]
    assert pp.aborted_at_offset > 0, "the cut happened mid-upload, after some bytes had arrived"
    assert heads, "after the dropped connection the client asked the server for the offset"
    # The PATCH after the cut starts where the server had got to, not at 0.
    offsets = [int(h["upload-offset"]) for _, h in patches]
    assert offsets[0] == 0 and sorted(offsets) == offsets
    assert pp.aborted_at_offset in offsets[3:], "the dropped chunk was resent from its offset"
    size = pp.video.stat().st_size
    (stored,) = studio.sql(
        "SELECT size_bytes, options::text FROM projects WHERE id = CAST(:p AS uuid)",
        p=pp.project_id,
    )
    assert stored[0] == size
    assert '"top_k": 2' in stored[1], "the options chosen on the page reached the project"


def test_step2_live_progress_by_server_sent_events(processed_project):
    pp = processed_project
    assert pp.event_stream_requests >= 1
    assert pp.polls_during_progress == 0, "progress came over SSE, not by polling the API"
    statuses = [s["status"] for s in pp.progress_seen]
    percents = [int(s["percent"].rstrip("%")) for s in pp.progress_seen if s["percent"]]
    assert "transcribing" in statuses or "detecting" in statuses or "rendering" in statuses
    assert statuses[-1] == "ready"
    assert max(percents) == 100 and len(set(percents)) >= 3, percents
    assert any(s["stage"] for s in pp.progress_seen), "the running stage was named"
    assert any("left" in s["eta"] for s in pp.progress_seen), "an ETA was shown"


def test_step2_gallery_plays_a_clip(processed_project, page, studio):
    log_in(page, processed_project.email)
    page.goto(f"/projects/{processed_project.project_id}")
    check_page(page, "project")
    page.fill("#tr-search", "yeast")
    assert page.locator("#transcript button.w.hit").count() >= 1
    page.locator("#transcript button.w.hit").first.click()
    page.wait_for_function("() => document.getElementById('source-player').currentTime > 0")
    page.click("a.button:has-text('View')")
    page.wait_for_url("**/clips")
    cards = page.locator(".clip-card")
    assert cards.count() == len(processed_project.clip_ids) >= 1
    assert page.locator(".clip-card .score").first.inner_text().isdigit()
    page.locator(".clip-card details summary").first.click()
    assert page.locator(".clip-card .reasons li").first.inner_text().startswith("+")
    check_page(page, "gallery")
    # A compact picture of the gallery for the README (docs/studio-gallery.png is a copy).
    page.set_viewport_size({"width": 1100, "height": 820})
    page.evaluate("() => document.querySelector('.clip-grid').scrollIntoView()")
    page.screenshot(path=str(SHOTS / "readme-gallery.png"))
    page.set_viewport_size({"width": 1440, "height": 900})
    video = page.locator(".clip-card video").first
    video.evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function(
        "() => { const v = document.querySelector('.clip-card video');"
        " return v.readyState >= 2 && isFinite(v.duration) && v.duration > 0 && v.currentTime > 0; }",
        timeout=30_000,
    )
    duration = video.evaluate("v => v.duration")
    (expected,) = studio.sql(
        "SELECT end_s - start_s FROM clips WHERE id = CAST(:c AS uuid)",
        c=processed_project.clip_ids[0],
    )
    assert abs(duration - float(expected[0])) < 1.0
