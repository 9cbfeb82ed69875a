"""E2E steps 3 and 4 in Debian's chromium against a real `cliply serve`:

3. In the clip editor, trim by selecting words, fix a caption word and re-render; the new
   file's duration and its burned-in captions (the ASS the render used) changed.
4. Connect a TikTok and a YouTube account through the fake platforms, schedule two clips on
   both, see them posted and open the post links.

Nothing leaves the machine: the browser's requests to any host but 127.0.0.1 are answered by
the test itself (the post links point at tiktok.com / youtube.com).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from cliply.media import parse_ass, probe
from tests.mediagen import silent_video
from tests.pipeline.fixtures import talk_video  # noqa: F401  (session fixture)
from tests.web import seed
from tests.web.conftest import SHOTS, check_page


@pytest.fixture(scope="module", autouse=True)
def _warm(studio: Any) -> None:
    """First page renders of a fresh server (templates, DB pool) can take long on a busy
    machine; do them before the browser's 15 s step timeouts apply."""
    import httpx

    for path in ("/signup", "/login", "/projects/new"):
        httpx.get(studio.url(path), timeout=120, follow_redirects=True)


def _offline(page: Any) -> list[str]:
    """Answer every non-loopback request in the browser; returns the URLs it asked for."""
    asked: list[str] = []

    def handle(route: Any) -> None:
        url = route.request.url
        host = urlparse(url).hostname or ""
        if host in ("127.0.0.1", "localhost") or url.startswith(("data:", "blob:")):
            route.continue_()
            return
        asked.append(url)
        route.fulfill(
            status=200,
            content_type="text/html",
            body="<!doctype html><title>Post</title><h1>The platform's post page</h1>",
        )

    page.context.route("**/*", handle)
    return asked


def _csrf(page: Any) -> str:
    return str(page.get_attribute('meta[name="csrf-token"]', "content"))


def _api(page: Any, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    r = page.request.fetch(
        path,
        method=method,
        data=body,
        headers={"X-CSRF-Token": _csrf(page), "Accept": "application/json"},
    )
    assert r.ok, f"{method} {path}: {r.status} {r.text()}"
    return r.json()


def _wait_clip(page: Any, clip_id: str, version: int, timeout_s: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        clip: dict[str, Any] = _api(page, "GET", f"/api/v1/clips/{clip_id}")
        if clip["render_version"] == version and clip["status"] in ("ready", "failed"):
            assert clip["status"] == "ready", clip["error"]
            return clip
        assert time.monotonic() < deadline, f"clip not rendered in time: {clip}"
        time.sleep(1)


def _download(page: Any, clip_id: str, out: Path) -> Path:
    r = page.request.get(f"/api/v1/clips/{clip_id}/download")
    assert r.ok and r.headers["content-type"].startswith("video/mp4")
    out.write_bytes(r.body())
    return out


def test_editor_trim_by_words_fix_caption_and_rerender(
    page: Any,
    studio: Any,
    studio_user: str,
    talk_video: tuple[Path, list[tuple[float, float, str]]],  # noqa: F811
    tmp_path: Path,
) -> None:
    _offline(page)
    failed: list[str] = []
    page.on(
        "response",
        lambda r: (
            failed.append(f"{r.status} {r.request.method} {r.url} {r.request.post_data}")
            if r.status >= 400
            else None
        ),
    )
    video, timeline = talk_video
    ws = seed.workspace_of(studio, studio_user)
    pid = seed.talk_project(studio, ws, video, timeline)
    page.goto("/projects")
    s1, e1, _ = timeline[1]
    clip = _api(page, "POST", f"/api/v1/projects/{pid}/clips", {"start": s1, "end": e1})
    cid = clip["id"]
    first = _wait_clip(page, cid, 1)
    before = probe(_download(page, cid, tmp_path / "v1.mp4")).duration

    page.goto(f"/clips/{cid}/edit")
    page.wait_for_selector("#transcript .w.in")
    # The style pickers show real frames of this clip, drawn by the server.
    for style in ("bold", "minimal", "karaoke", "boxed"):
        page.wait_for_selector(f'img[data-style="{style}"]:not([hidden])')
    page.wait_for_function(
        "() => [...document.querySelectorAll('img[data-style]')].every(i => i.complete && i.naturalWidth > 0)"
    )
    page.wait_for_selector("#wave canvas, #wave div", state="attached")
    # The trim preview plays the source.
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    check_page(page, "editor")
    # The README's picture (docs/studio-editor.png) is made from this artifact by hand;
    # tests never write into the source tree.
    page.set_viewport_size({"width": 1440, "height": 900})
    page.screenshot(path=str(tmp_path / "editor.png"), full_page=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    _small_png(tmp_path / "editor.png", SHOTS / "editor-readme.png")

    words = _api(page, "GET", f"/api/v1/clips/{cid}/words")["words"]
    # Drag the timeline's end handle to the left: the end snaps to a word's end.
    handle = page.locator('#wave [part~="region-handle-right"]')
    hb = handle.bounding_box()
    assert hb is not None
    page.mouse.move(hb["x"] + hb["width"] / 2, hb["y"] + hb["height"] / 2)
    page.mouse.down()
    page.mouse.move(hb["x"] - 25, hb["y"] + hb["height"] / 2, steps=10)
    page.mouse.up()
    page.wait_for_function(
        f"() => Number(document.getElementById('trim-readout').dataset.end) < {e1} - 0.1"
    )
    dragged_end = float(page.get_attribute("#trim-readout", "data-end") or 0)
    assert dragged_end in {w["end"] for w in words}

    # Trim by selecting words: drag over sentence 1 and 2 (which starts before the cut).
    a = next(w for w in words if w["start"] >= timeline[0][0] - 1e-3)
    b = max((w for w in words if w["end"] <= e1 + 1e-3), key=lambda w: w["index"])
    wa, wb = page.locator(f"#w-{a['index']}"), page.locator(f"#w-{b['index']}")
    wa.scroll_into_view_if_needed()
    box_a, box_b = wa.bounding_box(), wb.bounding_box()
    page.mouse.move(box_a["x"] + 1, box_a["y"] + box_a["height"] / 2)
    page.mouse.down()
    page.mouse.move(box_b["x"] + box_b["width"] - 1, box_b["y"] + box_b["height"] / 2, steps=8)
    page.mouse.up()
    page.click("#trim-to-selection")
    page.wait_for_function(
        f"() => document.querySelectorAll('#transcript .w.in').length === {b['index'] - a['index'] + 1}"
    )
    # Fix a misheard word: double-click it, type the right one.
    yeast = next(w for w in words if w["original"] == "Yeast")
    page.dblclick(f"#w-{yeast['index']}")
    page.fill("#fix-text", "Saccharomyces")
    page.press("#fix-text", "Enter")
    page.wait_for_selector(f"#w-{yeast['index']}.fixed")
    assert page.inner_text(f"#w-{yeast['index']}") == "Saccharomyces"
    # The hook title on, then save: the clip re-renders with live status.
    page.check("#f-overlay")
    page.click("#save")
    page.wait_for_function(
        "() => document.getElementById('status-text').textContent.includes('Version 2')",
        timeout=240_000,
    )
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")

    done = _wait_clip(page, cid, 2)
    assert (done["start"], done["end"]) == (a["start"], b["end"])
    after = probe(_download(page, cid, tmp_path / "v2.mp4")).duration
    assert abs(after - (b["end"] - a["start"])) < 0.15
    assert after > before + 2 and first["render_version"] == 1
    r = page.request.get(f"/api/v1/clips/{cid}/captions.ass")
    assert r.ok
    (tmp_path / "v2.ass").write_text(r.text(), encoding="utf-8")
    doc = parse_ass(tmp_path / "v2.ass")
    shown = " ".join(e.plain for e in doc.events if e.style != "Title").lower()
    assert "saccharomyces" in shown and "yeast" not in shown
    assert any(e.style == "Title" for e in doc.events)
    assert failed == [], failed


def _small_png(src: Path, dst: Path) -> None:
    """The README's editor picture: scaled to 960 px wide, palette PNG (small in git)."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(src), "-vf", "scale=960:-2", str(dst)],
        check=True,
    )
    if dst.stat().st_size > 400_000:  # keep the repo light
        shutil.copyfile(src, dst)


@pytest.fixture(scope="session")
def publish_media(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("publish-media")
    mp4 = silent_video(folder / "clip.mp4", seconds=2.0, size="360x640")
    jpg = folder / "thumb.jpg"
    cmd = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=blue:s=180x320"]
    subprocess.run([*cmd, "-frames:v", "1", str(jpg)], check=True)
    return mp4, jpg


def test_connect_accounts_schedule_two_clips_and_open_posts(
    page: Any,
    studio: Any,
    studio_user: str,
    talk_video: tuple[Path, list[tuple[float, float, str]]],  # noqa: F811
    publish_media: tuple[Path, Path],
) -> None:
    asked = _offline(page)
    ws = seed.workspace_of(studio, studio_user)
    seed.set_plan(studio, ws, "pro")
    video, timeline = talk_video
    pid = seed.talk_project(studio, ws, video, timeline)
    ids = seed.rendered_clips(
        studio, ws, pid, *publish_media, titles=["Why bread rises", "Save ten percent"]
    )

    page.goto("/accounts")
    page.wait_for_selector("text=No accounts connected yet")
    check_page(page, "accounts-empty")
    page.click("#connect-tiktok")
    page.wait_for_url("**/accounts?connected=tiktok**")
    page.click("#connect-youtube")
    page.wait_for_url("**/accounts?connected=youtube**")
    rows = page.locator("table.accounts tbody tr")
    assert rows.count() == 2
    assert page.locator("table.accounts .badge.ok").count() == 2
    assert page.locator("button:has-text('Reconnect')").count() == 2
    check_page(page, "accounts")

    page.goto("/posts")
    page.wait_for_selector("text=No posts here yet")

    page.goto(f"/schedule?clips={ids[0]},{ids[1]}")
    for cid in ids:
        assert page.is_checked(f'input[name="clip"][value="{cid}"]')
    for box in page.locator('input[name="account"]').all():
        box.check()
    page.wait_for_selector("#fields-tiktok")
    page.wait_for_selector("#fields-youtube")
    # TikTok: the audience comes from the creator's options, and none is pre-selected.
    tiktok_choices = page.locator('input[name="tiktok.privacy"]')
    assert tiktok_choices.count() == 3
    assert page.locator('input[name="tiktok.privacy"]:checked').count() == 0
    assert page.locator('input[name="youtube.made_for_kids"]:checked').count() == 0
    check_page(page, "schedule")
    page.check('input[name="when"][value="now"]')
    # Without an audience the form says so next to the TikTok choice.
    page.click("#schedule-submit")
    err = page.locator('[data-field="tiktok.privacy"] .js-error')
    err.wait_for()
    assert "who can view" in err.inner_text().lower()
    page.check('input[name="tiktok.privacy"][value="public"]')
    page.check('input[name="youtube.privacy"][value="unlisted"]')
    page.check('input[name="youtube.made_for_kids"][value="false"]')
    page.click("#schedule-submit")
    page.wait_for_url("**/posts?**scheduled=4**")

    deadline = time.monotonic() + 120
    while page.locator("a.post-link").count() < 4:
        assert page.locator(".badge.failed").count() == 0, page.inner_text("table.posts")
        assert time.monotonic() < deadline, page.inner_text("main")
        time.sleep(1.5)
        page.reload()
    assert page.locator("table.posts .badge.published").count() == 4
    check_page(page, "posts")

    links = [page.locator("a.post-link").nth(i).get_attribute("href") for i in range(4)]
    hosts = sorted(urlparse(h).hostname for h in links if h)
    assert hosts == ["www.tiktok.com", "www.tiktok.com", "www.youtube.com", "www.youtube.com"]
    for i in (0, 3):
        with page.context.expect_page() as opened:
            page.locator("a.post-link").nth(i).click()
        tab = opened.value
        tab.wait_for_load_state()
        assert tab.url == links[i] and "post page" in tab.inner_text("h1")
        tab.close()
    assert set(links[i] for i in (0, 3)) <= set(asked)

    page.goto("/calendar")
    page.wait_for_selector(".fc-event")
    assert page.locator(".fc-event").count() >= 4
    check_page(page, "calendar")
