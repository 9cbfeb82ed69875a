"""Thumbnails: prefer a frame with a face and detail, framed and sized like the clip."""

from __future__ import annotations

from pathlib import Path

import cv2

from cliply.media import make_thumbnail, plan_crop
from tests import mediagen as mg


def test_thumbnail_prefers_the_part_with_a_face(tmp_path: Path) -> None:
    # Plain background for 2 s, then the face appears.
    src, _ = mg.moving_face_video(
        tmp_path / "v.mp4", tmp_path, seconds=4.0, x_expr="if(lt(t,2),-1000,250)", y=80
    )
    plan = plan_crop(src, start=0.0, end=4.0)
    r = make_thumbnail(
        src,
        tmp_path / "thumbs" / "t.jpg",
        start=0.0,
        end=4.0,
        crop_plan=plan,
        width=270,
        height=480,
    )
    assert r.has_face and r.t >= 2.0
    img = cv2.imread(str(r.path))
    assert img is not None and img.shape == (480, 270, 3)
    assert r.path.read_bytes()[:2] == b"\xff\xd8"


def test_thumbnail_without_face_is_sharpest_frame(tmp_path: Path, tone_video: Path) -> None:
    r = make_thumbnail(tone_video, tmp_path / "t.jpg", start=0.0, end=3.0, aspect="1:1")
    assert not r.has_face and r.sharpness > 0
    img = cv2.imread(str(r.path))
    assert img.shape == (1080, 1080, 3)


def test_chosen_frame_is_the_thumbnail(tmp_path: Path) -> None:
    """An experiment's variant picks its thumbnail frame: the face-free start, though the
    scoring would prefer the face later."""
    src, _ = mg.moving_face_video(
        tmp_path / "v.mp4", tmp_path, seconds=4.0, x_expr="if(lt(t,2),-1000,250)", y=80
    )
    r = make_thumbnail(src, tmp_path / "t.jpg", start=0.0, end=4.0, width=270, height=480, at=0.5)
    assert r.t == 0.5 and not r.has_face
    img = cv2.imread(str(r.path))
    assert img is not None and img.shape == (480, 270, 3)
    # Clamped into the window.
    assert make_thumbnail(src, tmp_path / "u.jpg", start=1.0, end=4.0, at=9.0).t < 4.0
