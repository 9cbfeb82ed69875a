"""The clip editor's caption effects and jump cuts, in Debian's chromium against a real
`cliply serve`: ticked and saved, they reach the clip and its render."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cliply.media import probe
from tests.pipeline.fixtures import talk_video  # noqa: F401  (session fixture)
from tests.web import seed
from tests.web.test_studio_edit import _api, _download, _offline, _wait_clip


def test_editor_sets_caption_effects_and_jump_cuts(
    page: Any,
    studio: Any,
    studio_user: str,
    talk_video: tuple[Path, list[tuple[float, float, str]]],  # noqa: F811
    tmp_path: Path,
) -> None:
    _offline(page)
    video, timeline = talk_video
    ws = seed.workspace_of(studio, studio_user)
    pid = seed.talk_project(studio, ws, video, timeline)
    page.goto("/projects")
    # Two sentences and the pause between them.
    clip = _api(
        page,
        "POST",
        f"/api/v1/projects/{pid}/clips",
        {"start": timeline[0][0], "end": timeline[1][1]},
    )
    cid = clip["id"]
    _wait_clip(page, cid, 1)

    page.goto(f"/clips/{cid}/edit")
    page.wait_for_selector("#fx")
    assert page.is_checked("#f-fx-keyword_emphasis") and not page.is_checked("#f-fx-mask_profanity")
    page.check("#f-fx-mask_profanity")
    page.fill("#f-fx-max_silence_s", "0.4")
    page.click("#save")
    done = _wait_clip(page, cid, 2)
    assert done["caption_fx"]["mask_profanity"] is True
    assert done["caption_fx"]["max_silence_s"] == 0.4
    assert done["seconds_removed"] and done["seconds_removed"] > 0.2
    rendered = probe(_download(page, cid, tmp_path / "cut.mp4")).duration
    assert abs(rendered - (done["duration"] - done["seconds_removed"])) < 0.1
    # The page tells what the cut took out.
    page.goto(f"/clips/{cid}/edit")
    assert f"{done['seconds_removed']:.1f} s" in page.inner_text("#hint-silence")
