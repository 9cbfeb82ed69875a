"""Generated face scenes with known ground truth, for the face tests and benchmarks/faces.py.

Frames are drawn with numpy/OpenCV and piped to ffmpeg (H.264, no sound). Faces are the
astronaut photo from scikit-image; the false face that competes is skimage's coffee cup, which
YuNet scores as a big face. Nothing is downloaded.
"""

from __future__ import annotations

import math
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from tests.mediagen import ASTRONAUT_FACE, FFMPEG

FaceBox = tuple[float, float, float, float]

_HEAD = (130, 20, 190, 200)  # x, y, w, h of the astronaut's head and shoulders in the photo
HEAD_FACE: FaceBox = (
    ASTRONAUT_FACE[0] - _HEAD[0],
    ASTRONAUT_FACE[1] - _HEAD[1],
    ASTRONAUT_FACE[2],
    ASTRONAUT_FACE[3],
)
"""The face box inside `head()` (at scale 1)."""
_MOUTH = (HEAD_FACE[0] + 47, HEAD_FACE[1] + 79)


def head(scale: float = 1.0, mouth_open: float = 0.0) -> np.ndarray:
    """The astronaut's head and shoulders (BGR), optionally with a dark open mouth (0..1)."""
    from skimage import data

    x, y, w, h = _HEAD
    img = np.ascontiguousarray(
        cv2.cvtColor(data.astronaut()[y : y + h, x : x + w], cv2.COLOR_RGB2BGR)
    )
    if mouth_open > 0:
        cv2.ellipse(img, _MOUTH, (19, 2 + round(11 * mouth_open)), 0, 0, 360, (30, 20, 60), -1)
    if scale != 1.0:
        img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return img


def face_box(x: float, y: float, scale: float = 1.0) -> FaceBox:
    """Where the face is when `head(scale)` is pasted with its top-left at (x, y)."""
    fx, fy, fw, fh = HEAD_FACE
    return (x + fx * scale, y + fy * scale, fw * scale, fh * scale)


def paste(frame: np.ndarray, img: np.ndarray, x: int, y: int) -> None:
    """Paste `img` at (x, y), clipped to the frame."""
    h, w = img.shape[:2]
    fh, fw = frame.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(fw, x + w), min(fh, y + h)
    if x0 < x1 and y0 < y1:
        frame[y0:y1, x0:x1] = img[y0 - y : y1 - y, x0 - x : x1 - x]


def background(kind: str, size: tuple[int, int]) -> np.ndarray:
    """A plain colour ("plain") or a skimage picture stretched to `size` ("coffee", "brick"…)."""
    w, h = size
    if kind == "plain":
        return np.full((h, w, 3), (110, 74, 48), dtype=np.uint8)
    from skimage import data

    img = np.asarray(getattr(data, kind)())
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    else:
        img = cv2.cvtColor(img[..., :3], cv2.COLOR_RGB2BGR)
    return np.ascontiguousarray(cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA))


def write_video(
    out: Path, frames: Iterable[np.ndarray], size: tuple[int, int], fps: int = 25
) -> Path:
    """Encode BGR frames of `size` into an H.264 MP4."""
    w, h = size
    cmd = [
        FFMPEG, "-y", "-v", "error", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{w}x{h}",
        "-r", str(fps), "-i", "pipe:0", "-c:v", "libx264", "-preset", "ultrafast",
        "-pix_fmt", "yuv420p", str(out),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    for frame in frames:
        proc.stdin.write(np.ascontiguousarray(frame).tobytes())
    proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError(f"ffmpeg failed writing {out}")
    return out


@dataclass
class Scene:
    """A generated video and, per frame, every real face box in it."""

    path: Path
    size: tuple[int, int]
    fps: int
    truth: list[list[FaceBox]]

    def faces_at(self, t: float) -> list[FaceBox]:
        return self.truth[min(len(self.truth) - 1, max(0, round(t * self.fps)))]


def make_scene(
    out: Path,
    draw: Callable[[float, np.ndarray], list[FaceBox]],
    *,
    seconds: float,
    size: tuple[int, int] = (640, 360),
    bg: str = "plain",
    fps: int = 25,
) -> Scene:
    """Render `draw(t, frame)` (which pastes faces and returns their boxes) for each frame."""
    base = background(bg, size)
    truth: list[list[FaceBox]] = []

    def frames() -> Iterable[np.ndarray]:
        for i in range(round(seconds * fps)):
            frame = base.copy()
            truth.append(draw(i / fps, frame))
            yield frame

    write_video(out, frames(), size, fps)
    return Scene(out, size, fps, truth)


def moving_face(
    out: Path, *, scale: float = 1.0, seconds: float = 4.0, size: tuple[int, int] = (640, 360),
    bg: str = "plain", roll: float = 0.0, dim: float = 1.0, blur: int = 0,
) -> Scene:  # fmt: skip
    """One face moving along a slow ellipse over the frame (its size: 95 px x `scale`).

    Harder variants, closer to real footage: `roll` tilts the head back and forth up to that
    many degrees; `dim` scales the brightness (with sensor-like noise below 1); `blur` adds a
    horizontal motion blur that many pixels long.
    """
    base = head(scale)
    w, h = size
    span_x, span_y = w - base.shape[1], h - base.shape[0]
    fx, fy, fw, fh = face_box(0, 0, scale)
    rng = np.random.default_rng(7)

    def draw(t: float, frame: np.ndarray) -> list[FaceBox]:
        a = 2 * math.pi * t / seconds
        x = round(span_x * (0.5 + 0.45 * math.cos(a)))
        y = round(max(0, span_y) * (0.5 + 0.4 * math.sin(a))) if span_y > 0 else span_y // 2
        img = base
        if roll:
            angle = roll * math.sin(2 * math.pi * t / 2.5)
            m = cv2.getRotationMatrix2D((fx + fw / 2, fy + fh / 2), angle, 1.0)
            img = cv2.warpAffine(
                base, m, (base.shape[1], base.shape[0]), borderMode=cv2.BORDER_REPLICATE
            )
        paste(frame, img, x, y)
        if blur:
            kernel = np.full((1, blur), 1.0 / blur, np.float32)
            frame[:] = cv2.filter2D(frame, -1, kernel)
        if dim != 1.0:
            noisy = frame.astype(np.float32) * dim + rng.normal(0, 6, frame.shape)
            frame[:] = np.clip(noisy, 0, 255).astype(np.uint8)
        return [face_box(x, y, scale)]

    return make_scene(out, draw, seconds=seconds, size=size, bg=bg)


def two_faces(
    out: Path, *, seconds: float = 4.0, size: tuple[int, int] = (640, 360), talking: int = 0
) -> Scene:
    """Two faces side by side; face `talking` opens and closes its mouth at ~4 Hz."""
    w, h = size
    y = (h - 200) // 2
    xs = (w // 4 - 95, 3 * w // 4 - 95)

    def draw(t: float, frame: np.ndarray) -> list[FaceBox]:
        boxes = []
        for j, x in enumerate(xs):
            opening = 0.5 + 0.5 * math.sin(2 * math.pi * 4.3 * t) if j == talking else 0.0
            paste(frame, head(1.0, opening), x, y)
            boxes.append(face_box(x, y))
        return boxes

    return make_scene(out, draw, seconds=seconds, size=size)


def false_face_photo(out: Path, *, seconds: float = 2.0, face_px: int = 56) -> Scene:
    """A still photo: a small real face beside a big coffee cup that YuNet scores as a face."""
    scale = face_px / HEAD_FACE[2]
    x, y = 420, 150

    def draw(t: float, frame: np.ndarray) -> list[FaceBox]:
        paste(frame, head(scale), x, y)
        return [face_box(x, y, scale)]

    return make_scene(out, draw, seconds=seconds, bg="coffee")


def blip(out: Path, *, seconds: float = 3.0, at: float = 1.0) -> tuple[Scene, FaceBox]:
    """A steady face on the left, and a second face on the right for one frame at `at`.

    Returns the scene (truth: the steady face only) and the blip's box.
    """
    steady = head()
    other = head(0.8)
    blip_x, blip_y = 420, 90

    def draw(t: float, frame: np.ndarray) -> list[FaceBox]:
        paste(frame, steady, 60, 80)
        if abs(t - at) < 0.02:
            paste(frame, other, blip_x, blip_y)
        return [face_box(60, 80)]

    return make_scene(out, draw, seconds=seconds), face_box(blip_x, blip_y, 0.8)


def hit(box: tuple[float, float, float, float], truth: FaceBox, tol: float = 0.5) -> bool:
    """A detected box (x, y, w, h) on a real face: centres within `tol` of the face width."""
    x, y, w, h = box
    tx, ty, tw, th = truth
    return math.hypot(x + w / 2 - (tx + tw / 2), y + h / 2 - (ty + th / 2)) <= tol * tw
