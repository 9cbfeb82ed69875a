"""Clip thumbnails: the sharpest candidate frame, preferring one that shows a face."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from cliply.media.errors import BAD_ARGUMENT, FFMPEG_FAILED, MediaError
from cliply.media.faces import Frame, detect_faces, sample_frames
from cliply.media.probe import ProbeResult, probe
from cliply.media.reframe import CropPlan, aspect_size, compose, static_plan
from cliply.media.tools import check_interrupted, ffmpeg_bin, run, stderr_tail

# A face is worth about as much as a 7x sharper picture (the score is log-sharpness).
FACE_BONUS = 2.0


@dataclass(frozen=True)
class ThumbnailResult:
    path: Path
    t: float
    """Source time of the chosen frame."""
    sharpness: float
    has_face: bool


def sharpness(frame: Frame) -> float:
    """Variance of the Laplacian: high for crisp detail, low for blur and flat frames."""
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def make_thumbnail(
    source: str | Path,
    out_jpg: str | Path,
    *,
    start: float,
    end: float,
    crop_plan: CropPlan | None = None,
    width: int | None = None,
    height: int | None = None,
    aspect: str = "9:16",
    candidates: int = 8,
    quality: int = 90,
    source_info: ProbeResult | None = None,
    at: float | None = None,
) -> ThumbnailResult:
    """Score `candidates` frames spread over [start, end), write the best one, framed like the
    clip (crop plan / layout) and sized like it, as a JPEG. With `at` (a source time), that
    frame is the thumbnail (clamped into the window): the user chose it."""
    if end <= start or candidates < 1:
        raise MediaError("thumbnail needs a non-empty window and >= 1 candidate", code=BAD_ARGUMENT)
    info = source_info or probe(source)
    src_w, src_h = info.display_width, info.display_height
    end = min(end, info.duration)
    plan = crop_plan or static_plan(src_w, src_h, aspect=aspect)
    size = (width, height)
    if at is not None:
        t = min(max(at, start), max(start, end - 0.05))
        full = _grab(source, t, src_w, src_h)
        return _write(
            full, out_jpg, plan, t, size, quality, sharpness(full), bool(detect_faces(full))
        )
    step = (end - start) / candidates
    best: tuple[float, float, float, bool] | None = None  # score, t, sharpness, face
    for t, frame in sample_frames(
        source,
        start=start + step / 2,
        end=end,
        fps=1.0 / step,
        width=480,
        src_width=src_w,
        src_height=src_h,
    ):
        sharp = sharpness(frame)
        face = bool(detect_faces(frame))
        score = float(np.log1p(sharp)) + (FACE_BONUS if face else 0.0)
        if best is None or score > best[0]:
            best = (score, t, sharp, face)
    if best is None:
        raise MediaError(f"no frame could be read from {Path(source).name}", code=FFMPEG_FAILED)
    _, t, sharp, face = best
    return _write(_grab(source, t, src_w, src_h), out_jpg, plan, t, size, quality, sharp, face)


def _write(
    full: Frame,
    out_jpg: str | Path,
    plan: CropPlan,
    t: float,
    size: tuple[int | None, int | None],
    quality: int,
    sharp: float,
    face: bool,
) -> ThumbnailResult:
    width, height = size
    out_w, out_h = (width, height) if width and height else aspect_size(plan.aspect)
    picture = _compose(full, plan, t, out_w, out_h)
    return _write_jpeg(picture, out_jpg, t, quality, sharp, face)


def _grab(source: str | Path, t: float, w: int, h: int) -> Frame:
    cmd = [ffmpeg_bin(), "-nostdin", "-v", "error", "-ss", f"{t:.3f}", "-i", str(source)]
    cmd += ["-map", "0:v:0", "-frames:v", "1", "-pix_fmt", "bgr24", "-f", "rawvideo", "pipe:1"]
    done = run(cmd, capture_output=True, check=False, timeout=120)
    if done.returncode != 0:
        check_interrupted(cmd, done.returncode, done.stderr)
    if done.returncode != 0 or len(done.stdout) < w * h * 3:
        detail = stderr_tail(done.stderr.decode("utf-8", "replace"))
        raise MediaError(f"could not read the frame at {t:.2f} s: {detail}", code=FFMPEG_FAILED)
    return np.frombuffer(done.stdout[: w * h * 3], dtype=np.uint8).reshape(h, w, 3)


def _compose(frame: Frame, plan: CropPlan, t: float, out_w: int, out_h: int) -> Frame:
    """Frame the picture the way the render does (the segment's layout at `t`)."""
    return compose(frame, plan, t, out_w, out_h)


def thumbnail_from_frames(
    frames: Sequence[tuple[float, Path]],
    out_jpg: str | Path,
    *,
    quality: int = 90,
    score_width: int = 480,
) -> ThumbnailResult | None:
    """The best of `frames` ((source time, image) already framed like the clip, e.g. taken
    from the render pass by render.FrameTap), scored as `make_thumbnail` scores (sharpness,
    a face bonus) on a `score_width`-wide copy, written as a JPEG; None when none is readable."""
    best: tuple[float, float, float, bool, Frame] | None = None  # score, t, sharp, face, frame
    for t, path in frames:
        read = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if read is None:
            continue
        frame: Frame = np.asarray(read, dtype=np.uint8)
        h, w = frame.shape[:2]
        k = min(1.0, score_width / w)
        size = (max(2, round(w * k)), max(2, round(h * k)))
        small: Frame = np.asarray(
            cv2.resize(frame, size, interpolation=cv2.INTER_AREA), dtype=np.uint8
        )
        sharp = sharpness(small)
        face = bool(detect_faces(small))
        score = float(np.log1p(sharp)) + (FACE_BONUS if face else 0.0)
        if best is None or score > best[0]:
            best = (score, t, sharp, face, np.ascontiguousarray(frame))
    if best is None:
        return None
    _, t, sharp, face, picture = best
    return _write_jpeg(picture, out_jpg, t, quality, sharp, face)


def _write_jpeg(
    picture: Frame, out_jpg: str | Path, t: float, quality: int, sharp: float, face: bool
) -> ThumbnailResult:
    ok, data = cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise MediaError("JPEG encoding failed", code=FFMPEG_FAILED)
    out = Path(out_jpg)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=".jpg", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.tobytes())
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return ThumbnailResult(path=out, t=t, sharpness=sharp, has_face=face)
