"""Thumbnails taken from the render pass: framed exactly like the clip, no second decode."""

from __future__ import annotations

import subprocess
from pathlib import Path

import cv2
import numpy as np

from cliply.media import plan_crop, render_clip
from cliply.media.reframe import static_plan
from cliply.media.render import FrameTap
from cliply.media.thumbnails import thumbnail_from_frames
from tests import mediagen as mg

W, H = 270, 480


def _frame_of(video: Path, t: float) -> np.ndarray:
    """The decoded frame of `video` at `t` seconds (BGR)."""
    out = subprocess.run(
        [
            *("ffmpeg", "-v", "error", "-ss", f"{t:.3f}", "-i", str(video), "-frames:v", "1"),
            *("-pix_fmt", "bgr24", "-f", "rawvideo", "pipe:1"),
        ],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(out[: W * H * 3], dtype=np.uint8).reshape(H, W, 3)


def _diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def test_thumbnail_from_the_render_pass_is_the_clips_frame(tmp_path: Path) -> None:
    # The face crosses the frame, so the face-following crop moves during the clip.
    src, _ = mg.moving_face_video(tmp_path / "v.mp4", tmp_path, seconds=6.0, x_expr="20+60*t", y=80)
    start, end = 1.0, 5.0
    plan = plan_crop(src, start=start, end=end)
    tap = FrameTap(tmp_path / "tap", first=0.25, step=0.5, count=8)
    result = render_clip(
        src,
        tmp_path / "clip.mp4",
        start=start,
        end=end,
        crop_plan=plan,
        width=W,
        height=H,
        preset="ultrafast",
        frame_tap=tap,
    )
    assert [t for t, _ in result.tap_frames] == tap.times()
    assert all(p.is_file() for _, p in result.tap_frames)
    thumb = thumbnail_from_frames(
        [(start + t, p) for t, p in result.tap_frames], tmp_path / "t.jpg"
    )
    assert thumb is not None and thumb.has_face
    assert start <= thumb.t < end
    picture = cv2.imread(str(thumb.path))
    assert picture is not None and picture.shape == (H, W, 3)
    # The clip itself at the thumbnail's time shows the same picture (JPEG and x264 apart)...
    same = _diff(picture, _frame_of(result.path, thumb.t - start))
    assert same < 6.0
    # ...and the same moment in another layout (whole frame over a blurred background) does
    # not: the thumbnail is framed by the clip's own plan.
    other = tmp_path / "blur.mp4"
    render_clip(
        src,
        other,
        start=start,
        end=end,
        crop_plan=static_plan(640, 360, layout="blur"),
        width=W,
        height=H,
        preset="ultrafast",
    )
    assert _diff(picture, _frame_of(other, thumb.t - start)) > same + 4.0


def test_render_pass_thumbnail_prefers_the_face(tmp_path: Path) -> None:
    # Plain background for 2 s, then the face appears.
    src, _ = mg.moving_face_video(
        tmp_path / "v.mp4", tmp_path, seconds=4.0, x_expr="if(lt(t,2),-1000,250)", y=80
    )
    tap = FrameTap(tmp_path / "tap", first=0.25, step=0.5, count=8)
    result = render_clip(
        src,
        tmp_path / "clip.mp4",
        start=0.0,
        end=4.0,
        width=W,
        height=H,
        preset="ultrafast",
        frame_tap=tap,
    )
    assert len(result.tap_frames) == 8
    thumb = thumbnail_from_frames(list(result.tap_frames), tmp_path / "t.jpg")
    assert thumb is not None and thumb.has_face and thumb.t >= 2.0


def test_no_readable_frame_gives_none(tmp_path: Path) -> None:
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image")
    assert (
        thumbnail_from_frames([(0.0, junk), (1.0, tmp_path / "missing.png")], tmp_path / "t.jpg")
        is None
    )
