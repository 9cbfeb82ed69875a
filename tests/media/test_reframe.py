"""Crop plans: following a moving face, holding still, cutting with the scene, fallbacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from cliply.media import CropPlan, MediaError, plan_crop, static_plan
from cliply.media.reframe import crop_size, video_filter
from tests import mediagen as mg
from tests.media.conftest import face_centre


def inside(plan: CropPlan, t: float, cx: float, cy: float, half: float) -> bool:
    box = plan.box_at(t)
    return box.x <= cx - half and cx + half <= box.x + box.w and box.y <= cy <= box.y + box.h


def test_crop_follows_a_moving_face(face_video: tuple[Path, tuple]) -> None:
    path, face = face_video
    plan = plan_crop(path, start=0.5, end=4.5, aspect="9:16")
    assert plan.layout == "track"
    assert plan.face_coverage > 0.8
    assert (plan.keyframes[0].w, plan.keyframes[0].h) == (202, 360)
    for i in range(17):
        t = 0.5 + i * 0.25
        cx, cy = face_centre(face, t)
        # The whole face width (95 px) fits in the 202 px window, with the face inside it.
        assert inside(plan, t, cx, cy, half=face[2] / 2 * 0.8), t
    # It actually moved with the face (~200 px over the range).
    assert plan.box_at(4.4).x - plan.box_at(0.6).x > 120
    # Detected face boxes match where the face was drawn.
    t, x, y, w, h = plan.face_boxes[len(plan.face_boxes) // 2]
    cx, cy = face_centre(face, t)
    assert abs(x + w / 2 - cx) < 15 and abs(y + h / 2 - cy) < 15


def test_still_face_gives_a_still_crop(tmp_path: Path) -> None:
    path, face = mg.moving_face_video(
        tmp_path / "still.mp4", tmp_path, seconds=3.0, x_expr="300", y=60
    )
    plan = plan_crop(path, aspect="9:16")
    assert plan.layout == "track"
    xs = {round(k.x, 1) for k in plan.keyframes}
    assert len(xs) == 1, "detector jitter must not move the camera"
    cx = 300 + face[0] + face[2] / 2
    box = plan.box_at(1.5)
    assert box.x < cx < box.x + box.w


def test_scene_cut_moves_the_crop_at_once(tmp_path: Path) -> None:
    path, face = mg.moving_face_video(
        tmp_path / "cut.mp4", tmp_path, seconds=4.0, x_expr="if(lt(t,2),20,430)", y=80, cut_at=2.0
    )
    plan = plan_crop(path, aspect="9:16", sample_fps=4.0)
    assert plan.layout == "track"
    assert any(abs(c - 2.0) <= 0.3 for c in plan.scene_cuts)
    before = 20 + face[0] + face[2] / 2
    after = 430 + face[0] + face[2] / 2
    for t in (0.5, 1.5):
        assert inside(plan, t, before, 200, half=30)
    # Within one sample after the cut the crop is on the new position: no slow pan across.
    for t in (2.3, 3.0, 3.8):
        assert inside(plan, t, after, 200, half=30)


def test_no_face_uses_the_fallback(tone_video: Path) -> None:
    blur = plan_crop(tone_video, aspect="9:16", fallback="blur", sample_fps=1.5)
    assert blur.layout == "fit"
    center = plan_crop(tone_video, aspect="9:16", fallback="center", sample_fps=1.5)
    assert center.layout == "center"
    (kf,) = center.keyframes
    assert (kf.x + kf.w / 2, kf.w, kf.h) == (320, 202, 360)


@pytest.mark.parametrize(
    ("aspect", "size"), [("9:16", (202, 360)), ("1:1", (360, 360)), ("16:9", (640, 360))]
)
def test_crop_sizes(aspect: str, size: tuple[int, int]) -> None:
    assert crop_size(640, 360, aspect) == size


def test_same_aspect_source_is_not_cropped(tone_video: Path) -> None:
    plan = plan_crop(tone_video, aspect="16:9")
    assert plan.layout == "center"
    assert (plan.keyframes[0].x, plan.keyframes[0].w) == (0, 640)


def test_plan_round_trips_through_json_dict(face_video: tuple[Path, tuple]) -> None:
    plan = plan_crop(face_video[0], start=1.0, end=2.0)
    assert CropPlan.from_dict(plan.to_dict()) == plan


def test_filter_expression_matches_box_at() -> None:
    """The ffmpeg expression and box_at interpolate the same way (evaluated here by ffmpeg's
    own rules re-implemented in Python would be circular, so check the shape instead)."""
    plan = static_plan(640, 360)
    graph = video_filter(plan, clip_start=0, width=540, height=960, in_label="0:v", out_label="v")
    assert "crop=202:360:x='219.0':y='0.0'" in graph
    assert "scale=540:960" in graph


def test_unknown_aspect_and_empty_window(tone_video: Path) -> None:
    with pytest.raises(MediaError) as info:
        plan_crop(tone_video, aspect="4:3")
    assert info.value.code == "bad-argument"
    with pytest.raises(MediaError):
        plan_crop(tone_video, start=2.0, end=1.0)
