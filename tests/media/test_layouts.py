"""Speaker-aware layouts on generated scenes with known truth (tests/layoutgen.py): the layout
chosen per scene, switches only at cuts, split/screen renders, the active speaker followed,
captions kept off the face, and every consumer of a plan (thumbnail, still, export) working."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from cliply.media import MediaError, make_thumbnail, render_clip, write_ass
from cliply.media.captions import parse_ass
from cliply.media.export import ClipTimeline, otio_json
from cliply.media.faces import Box, detect_faces, sample_frames
from cliply.media.reframe import (
    CropPlan,
    caption_margins,
    output_boxes,
    plan_crop,
    shows,
    static_plan,
)
from cliply.media.render import render_frame
from cliply.transcribe.models import Word
from tests import layoutgen as lg

W, H = 360, 640  # rendered output size (9:16, small to keep the tests fast)


@pytest.fixture(scope="module")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[lg.Truth], CropPlan]:
    """The four kinds of scene back to back (one, two, screen, none) and their auto plan."""
    path = tmp_path_factory.mktemp("layouts") / "scenes.mp4"
    truths = lg.make_video(path, lg.STANDARD)
    return path, truths, plan_crop(path, aspect="9:16")


def frame_of(video: Path, t: float, w: int = W, h: int = H) -> np.ndarray:
    return next(
        iter(
            sample_frames(video, start=t, end=t + 0.5, fps=1.0, width=w, src_width=w, src_height=h)
        )
    )[1]


def test_each_scene_gets_its_layout(scenes: tuple[Path, list[lg.Truth], CropPlan]) -> None:
    _, truths, plan = scenes
    for tr in truths:
        times = np.linspace(tr.start + 0.05, tr.end - 0.05, 40)
        right = sum(plan.layout_at(float(t)) == tr.layout for t in times)
        # Only the frames between a cut and the next analysed sample may lag behind.
        assert right >= 36, (tr.kind, [plan.layout_at(float(t)) for t in times])
    assert [s.layout for s in plan.scenes] == ["track", "split", "screen", "fit"]
    # The layout covering most of the clip names it; every segment is reported.
    assert plan.layout == "split"
    assert [r["layout"] for r in plan.scene_report()] == ["track", "split", "screen", "fit"]


def test_layout_switches_only_at_scene_cuts(
    scenes: tuple[Path, list[lg.Truth], CropPlan],
) -> None:
    _, truths, plan = scenes
    true_cuts = [tr.start for tr in truths[1:]]
    for seg in plan.scenes[1:]:
        assert seg.start in plan.scene_cuts
        # Placed on the cut frame (refined between the 3 fps samples), not the next sample.
        assert min(abs(seg.start - c) for c in true_cuts) <= 0.05
    # Two speakers taking turns is one scene: the split does not break up at a turn.
    two = truths[1]
    assert (
        len({id(plan.segment_at(float(t))) for t in np.arange(two.start + 0.4, two.end, 0.2)}) == 1
    )


def test_split_render_shows_both_faces(
    scenes: tuple[Path, list[lg.Truth], CropPlan], tmp_path: Path
) -> None:
    src, truths, _ = scenes
    two = truths[1]
    # Across a change of turn, so both speak (with one speaker only, the talker is tracked).
    start, end = two.start + 1.5, two.start + 4.5
    plan = plan_crop(src, start=start, end=end)
    assert plan.layout == "split"
    out = render_clip(
        src,
        tmp_path / "split.mp4",
        start=start,
        end=end,
        crop_plan=plan,
        width=W,
        height=H,
        preset="ultrafast",
    ).path
    frame = frame_of(out, 1.0)
    top, bottom = frame[: H // 2], frame[H // 2 :]
    assert detect_faces(top) and detect_faces(bottom), "a face in each panel"
    # Each panel is a different face: the left one on top, the right one below.
    left, right = two.faces[0]
    seg = plan.segment_at(start + 1.0)
    assert shows(plan, start + 1.0, Box(*left)) and shows(plan, start + 1.0, Box(*right))
    assert seg.panels[0][0].x < seg.panels[1][0].x


def test_screen_render_puts_the_screen_on_top_and_the_face_below(
    scenes: tuple[Path, list[lg.Truth], CropPlan], tmp_path: Path
) -> None:
    src, truths, _ = scenes
    scr = truths[2]
    start, end = scr.start + 0.5, scr.start + 2.5
    plan = plan_crop(src, start=start, end=end)
    assert plan.layout == "screen"
    seg = plan.scenes[0]
    # The detected screen area is the slide (drawn at x 19..403, y 36..324 of 640x360).
    sx = seg.panels[0][0]
    assert sx.x < 60 and sx.x + sx.w > 340 and sx.w < 470, sx
    out = render_clip(
        src,
        tmp_path / "screen.mp4",
        start=start,
        end=end,
        crop_plan=plan,
        width=W,
        height=H,
        preset="ultrafast",
    ).path
    frame = frame_of(out, 1.0)
    h0 = seg.panel_sizes(W, H)[0][1]
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    assert (gray[:h0] > 200).mean() > 0.4, "the white slide fills the top panel"
    assert detect_faces(frame[h0:]) and not detect_faces(frame[:h0])


def test_active_speaker_is_followed_when_speech_alternates(
    scenes: tuple[Path, list[lg.Truth], CropPlan],
) -> None:
    src, truths, _ = scenes
    two = truths[1]
    plan = plan_crop(src, start=two.start, end=two.end, layout="track")
    assert plan.layout == "track"
    checked = 0
    # Mid-turn (0.5 s clear of each change of speaker): the speaker in, the other out.
    for t in np.arange(two.start + 0.5, two.end - 0.5, 0.25):
        local = (t - two.start) % 3.0
        if local < 0.5 or local > 2.5:
            continue
        speaker = two.speaking_box(float(t))
        assert speaker is not None
        other = next(b for b in two.faces[two.frame(float(t))] if b != speaker)
        assert shows(plan, float(t), Box(*speaker)), t
        assert not shows(plan, float(t), Box(*other), share=0.5), t
        checked += 1
    assert checked >= 12


def test_forced_layouts_and_their_limits(
    scenes: tuple[Path, list[lg.Truth], CropPlan],
) -> None:
    src, truths, _ = scenes
    one = truths[0]
    assert plan_crop(src, start=one.start, end=one.end, layout="fit").layout == "fit"
    # Split needs two faces: one face gets tracked instead.
    assert plan_crop(src, start=one.start, end=one.end, layout="split").layout == "track"
    # Screen forced on a face without slides: the whole picture on top, the face below.
    forced = plan_crop(src, start=one.start + 1, end=one.end - 1, layout="screen")
    assert forced.layout == "screen"
    assert forced.scenes[0].panels[0][0].w == 640
    with pytest.raises(MediaError) as info:
        plan_crop(src, start=one.start, end=one.end, layout="mosaic")
    assert info.value.code == "bad-argument"


def test_plan_with_scenes_round_trips_and_old_blur_plans_load(
    scenes: tuple[Path, list[lg.Truth], CropPlan],
) -> None:
    _, _, plan = scenes
    assert CropPlan.from_dict(plan.to_dict()) == plan
    old = static_plan(640, 360, layout="blur").to_dict()
    old["layout"] = "blur"
    del old["scenes"]
    assert CropPlan.from_dict(old).layout == "fit"


def test_captions_keep_clear_of_the_face(tmp_path: Path) -> None:
    """A low face on a tracked close-up: the default caption band would cross it; with the
    plan's margins the caption pixels stay off the face box."""
    src = tmp_path / "low.mp4"
    lg.make_video(src, [lg.Scene("one", 3.0, y=155)])
    start, end = 0.0, 3.0
    plan = plan_crop(src, start=start, end=end)
    assert plan.layout == "track"
    words = [
        Word(text=w, start=0.2 + 0.5 * i, end=0.6 + 0.5 * i)
        for i, w in enumerate(["one", "two", "three", "four", "five"])
    ]
    margins = caption_margins(plan, clip_start=start, clip_end=end, width=W, height=H)
    assert margins, "the face crosses the default band: captions must move"

    def caption_pixels(name: str, ms: list[tuple[float, float, int]]) -> np.ndarray:
        ass = write_ass(
            words,
            tmp_path / f"{name}.ass",
            clip_start=start,
            clip_end=end,
            width=W,
            height=H,
            margins=ms,
        )
        with_caps = render_frame(
            src,
            tmp_path / f"{name}.jpg",
            start=start,
            at=1.3,
            crop_plan=plan,
            ass_path=ass,
            width=W,
            height=H,
        )
        bare = render_frame(
            src,
            tmp_path / f"{name}-bare.jpg",
            start=start,
            at=1.3,
            crop_plan=plan,
            width=W,
            height=H,
        )
        a = cv2.imread(str(with_caps)).astype(np.int16)
        b = cv2.imread(str(bare)).astype(np.int16)
        return np.asarray(np.abs(a - b).max(axis=2) > 60)

    face = plan.face_boxes[len(plan.face_boxes) // 2]
    (fb,) = output_boxes(plan, face[0], Box(*face[1:]), W, H)
    y0, y1, x0, x1 = int(fb.y), int(fb.y + fb.h), int(fb.x), int(fb.x + fb.w)
    default = caption_pixels("default", [])
    moved = caption_pixels("moved", margins)
    assert default.sum() > 200 and moved.sum() > 200, "captions were drawn"
    assert default[y0:y1, x0:x1].sum() > 100, "control: the default band crosses the face"
    assert moved[y0:y1, x0:x1].sum() < 10
    # ... and they stay inside the safe area (below the top bar, above the bottom UI).
    rows = np.nonzero(moved.any(axis=1))[0]
    assert rows.min() > 0.12 * H and rows.max() < 0.82 * H


def test_split_captions_sit_on_the_seam(
    scenes: tuple[Path, list[lg.Truth], CropPlan], tmp_path: Path
) -> None:
    _, truths, plan = scenes
    two = truths[1]
    margins = caption_margins(plan, clip_start=two.start, clip_end=two.end, width=W, height=H)
    # The split covers the scene (the next segment may start a frame inside the window).
    a, b, margin = max(margins, key=lambda m: m[1] - m[0])
    assert b - a > 8.5
    # The band's middle is the seam (half the height).
    assert abs((H - margin) - 0.06 * H - H / 2) < 2
    words = [Word(text="hi", start=two.start + 1, end=two.start + 1.4)]
    ass = write_ass(
        words,
        tmp_path / "s.ass",
        clip_start=two.start,
        clip_end=two.end,
        width=W,
        height=H,
        margins=margins,
    )
    body = (tmp_path / "s.ass").read_text()
    assert f",0,0,{margin},," in body
    assert parse_ass(ass).events


def test_thumbnail_still_and_export_work_for_every_layout(
    scenes: tuple[Path, list[lg.Truth], CropPlan], tmp_path: Path
) -> None:
    src, truths, plan = scenes
    for tr in truths:
        t = (tr.start + tr.end) / 2
        thumb = make_thumbnail(
            src,
            tmp_path / f"{tr.kind}.jpg",
            start=0.0,
            end=truths[-1].end,
            crop_plan=plan,
            width=W,
            height=H,
            at=t,
        )
        img = cv2.imread(str(thumb.path))
        assert img.shape[:2] == (H, W)
        if tr.kind == "two":
            assert detect_faces(img[: H // 2]) and detect_faces(img[H // 2 :])
        still = render_frame(
            src,
            tmp_path / f"{tr.kind}-still.jpg",
            start=0.0,
            at=t,
            crop_plan=plan,
            width=W,
            height=H,
        )
        assert cv2.imread(str(still)).shape[:2] == (H, W)
    # Editors get the primary crop (the followed face; the whole frame where none).
    timeline = ClipTimeline(
        name="c",
        source_url="file:///x.mp4",
        source_duration=truths[-1].end,
        fps=25.0,
        source_width=640,
        source_height=360,
        start=0.0,
        end=truths[-1].end,
        out_width=W,
        out_height=H,
        keyframes=plan.keyframes,
    )
    kfs = timeline.clip_keyframes()
    assert {(k.w, k.h) for k in kfs} == {(202, 360), (640, 360)}
    assert '"keyframes"' in otio_json(timeline)


def test_whole_multi_layout_clip_renders_in_one_pass(
    scenes: tuple[Path, list[lg.Truth], CropPlan], tmp_path: Path
) -> None:
    src, truths, plan = scenes
    r = render_clip(
        src,
        tmp_path / "all.mp4",
        start=0.0,
        end=truths[-1].end,
        crop_plan=plan,
        width=180,
        height=320,
        preset="ultrafast",
    )
    assert abs(r.duration - truths[-1].end) < 0.2
    assert r.command.count("-filter_complex") == 1 and "concat=n=4" in " ".join(r.command)


def test_two_faces_with_one_talker_track_the_talker(
    scenes: tuple[Path, list[lg.Truth], CropPlan],
) -> None:
    """Only the left face speaks in this window: no split, the camera stays on the talker."""
    src, truths, _ = scenes
    two = truths[1]
    start, end = two.start + 0.3, two.start + 2.7
    plan = plan_crop(src, start=start, end=end)
    assert plan.layout == "track"
    left, right = two.faces[0]
    for t in np.arange(start + 0.2, end - 0.2, 0.4):
        assert shows(plan, float(t), Box(*left))
        assert not shows(plan, float(t), Box(*right), share=0.5)
