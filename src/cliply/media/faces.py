"""Frame sampling, Haar-cascade face detection, scene cuts and main-speaker tracking.

Frames come from ffmpeg (which applies the rotation players apply) at a few frames per second,
downscaled for speed; every box reported here is in source (display) pixels.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from cliply.media.errors import FFMPEG_FAILED, MediaError
from cliply.media.tools import check_interrupted, ffmpeg_bin, popen, stderr_tail

Frame = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    @property
    def area(self) -> float:
        return self.w * self.h

    def iou(self, other: Box) -> float:
        ix = max(0.0, min(self.x + self.w, other.x + other.w) - max(self.x, other.x))
        iy = max(0.0, min(self.y + self.h, other.y + other.h) - max(self.y, other.y))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def contains(self, x: float, y: float) -> bool:
        return self.x <= x <= self.x + self.w and self.y <= y <= self.y + self.h

    def scaled(self, k: float) -> Box:
        return Box(self.x * k, self.y * k, self.w * k, self.h * k)


def sample_frames(
    source: str | Path,
    *,
    start: float,
    end: float,
    fps: float = 3.0,
    width: int = 480,
    src_width: int,
    src_height: int,
) -> Iterator[tuple[float, Frame]]:
    """Yield (source time, BGR frame `width` px wide) at `fps` between start and end."""
    width = min(width, src_width) // 2 * 2
    height = max(2, round(src_height * width / src_width / 2) * 2)
    cmd = [
        ffmpeg_bin(),
        "-nostdin",
        "-v",
        "error",
        "-ss",
        f"{start:.3f}",
        "-i",
        str(source),
        "-t",
        f"{end - start:.3f}",
        "-map",
        "0:v:0",
        "-vf",
        # Pick the first frame at or after each i/fps (half a 50 fps frame early is fine);
        # the fps filter would instead hand over frames up to half an interval late.
        f"select='gte(t,selected_n/{fps}-0.01)',scale={width}:{height}",
        "-fps_mode",
        "passthrough",
        "-pix_fmt",
        "bgr24",
        "-f",
        "rawvideo",
        "pipe:1",
    ]
    frame_bytes = width * height * 3
    with tempfile.TemporaryFile() as err:
        proc = popen(cmd, stdout=subprocess.PIPE, stderr=err)
        assert proc.stdout is not None
        i = 0
        finished = False
        try:
            while True:
                buf = proc.stdout.read(frame_bytes)
                if len(buf) < frame_bytes:
                    break
                frame = np.frombuffer(buf, dtype=np.uint8).reshape(height, width, 3)
                # Frame i is the first at or after i/fps past the (re-zeroed) seek point.
                yield start + i / fps, frame
                i += 1
            finished = True
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.stdout.close()
            code = proc.wait()
        if finished and code != 0:
            err.seek(0)
            text = err.read().decode("utf-8", "replace")
            check_interrupted(cmd, code, text)
            raise MediaError(stderr_tail(text), code=FFMPEG_FAILED)


@lru_cache(maxsize=4)
def _cascade(name: str) -> Any:
    # cv2 ships its cascades; its stubs do not declare `cv2.data`.
    path = str(Path(cv2.data.haarcascades) / name)  # type: ignore[attr-defined]
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise MediaError(f"OpenCV cascade {name} not found", code="tool-missing")
    return cascade


def detect_faces(frame: Frame, *, min_size_ratio: float = 0.06) -> list[Box]:
    """Faces in a BGR frame (frame pixels): frontal, plus profiles facing either way."""
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    h, w = gray.shape
    side = max(16, int(min(h, w) * min_size_ratio))
    min_size = (side, side)
    found: list[Box] = []
    for x, y, bw, bh in _cascade("haarcascade_frontalface_default.xml").detectMultiScale(
        gray, scaleFactor=1.1, minNeighbors=5, minSize=min_size
    ):
        found.append(Box(float(x), float(y), float(bw), float(bh)))
    if found:
        # Profiles are only looked for when nobody faces the camera: they cost twice as much.
        return _suppress(found)
    profile = _cascade("haarcascade_profileface.xml")
    for x, y, bw, bh in profile.detectMultiScale(
        gray, scaleFactor=1.1, minNeighbors=6, minSize=min_size
    ):
        found.append(Box(float(x), float(y), float(bw), float(bh)))
    # The profile cascade only knows one side; mirror the frame for the other.
    for x, y, bw, bh in profile.detectMultiScale(
        cv2.flip(gray, 1), scaleFactor=1.1, minNeighbors=6, minSize=min_size
    ):
        found.append(Box(float(w - x - bw), float(y), float(bw), float(bh)))
    return _suppress(found)


def _suppress(boxes: list[Box], iou: float = 0.3) -> list[Box]:
    kept: list[Box] = []
    for b in sorted(boxes, key=lambda b: b.area, reverse=True):
        # Also drop parts of a face (a cheek found as a smaller "face") inside a bigger box.
        if all(b.iou(k) < iou and not k.contains(b.cx, b.cy) for k in kept):
            kept.append(b)
    return kept


def histogram(frame: Frame) -> npt.NDArray[np.float32]:
    """Normalised hue/saturation/value histogram used to spot scene cuts."""
    hsv = cv2.cvtColor(frame, cv2.COLOR_BGR2HSV)
    hist = cv2.calcHist([hsv], [0, 1, 2], None, [16, 8, 8], [0, 180, 0, 256, 0, 256])
    cv2.normalize(hist, hist)
    return np.asarray(hist, dtype=np.float32)


def is_cut(prev: npt.NDArray[np.float32], cur: npt.NDArray[np.float32], threshold: float) -> bool:
    """A scene cut when the Bhattacharyya distance between histograms exceeds `threshold`."""
    return bool(cv2.compareHist(prev, cur, cv2.HISTCMP_BHATTACHARYYA) > threshold)


@dataclass
class Sample:
    t: float
    faces: list[Box]
    cut: bool = False


@dataclass
class Track:
    """One face followed across samples within a scene."""

    boxes: dict[int, Box] = field(default_factory=dict)

    def last(self) -> Box:
        return self.boxes[max(self.boxes)]

    @property
    def weight(self) -> float:
        # Persistent and large wins: total face area over the scene.
        return sum(b.area for b in self.boxes.values())


def analyse(
    source: str | Path,
    *,
    start: float,
    end: float,
    src_width: int,
    src_height: int,
    fps: float = 3.0,
    analysis_width: int = 480,
    cut_threshold: float = 0.5,
) -> list[Sample]:
    """Sample the range once: faces (source pixels) and scene-cut flags per sample."""
    samples: list[Sample] = []
    prev_hist: npt.NDArray[np.float32] | None = None
    scale = 1.0
    for t, frame in sample_frames(
        source,
        start=start,
        end=end,
        fps=fps,
        width=analysis_width,
        src_width=src_width,
        src_height=src_height,
    ):
        scale = src_width / frame.shape[1]
        hist = histogram(frame)
        cut = prev_hist is not None and is_cut(prev_hist, hist, cut_threshold)
        prev_hist = hist
        faces = [b.scaled(scale) for b in detect_faces(frame)]
        samples.append(Sample(t=t, faces=faces, cut=cut))
    return samples


def main_speaker(samples: list[Sample]) -> list[Box | None]:
    """For each sample, the box of the scene's main face (None where it is not seen).

    Faces are linked sample to sample by overlap / nearness; in each scene the track with the
    largest total area (big and persistent) is the speaker to follow.
    """
    result: list[Box | None] = [None] * len(samples)
    scene_start = 0
    for i in range(1, len(samples) + 1):
        if i == len(samples) or samples[i].cut:
            _pick_in_scene(samples, scene_start, i, result)
            scene_start = i
    return result


def _pick_in_scene(samples: list[Sample], a: int, b: int, out: list[Box | None]) -> None:
    tracks: list[Track] = []
    for i in range(a, b):
        for face in samples[i].faces:
            best: Track | None = None
            best_key = (-1.0, 0.0)
            for tr in tracks:
                last_i = max(tr.boxes)
                if last_i == i or i - last_i > 6:
                    continue
                prev = tr.boxes[last_i]
                d = float(np.hypot(face.cx - prev.cx, face.cy - prev.cy))
                if face.iou(prev) <= 0.1 and d >= 1.5 * max(prev.w, face.w):
                    continue
                # Best overlap first, then nearest centre.
                key = (face.iou(prev), -d)
                if key > best_key:
                    best, best_key = tr, key
            if best is None:
                best = Track()
                tracks.append(best)
            best.boxes[i] = face
    if not tracks:
        return
    main = max(tracks, key=lambda tr: tr.weight)
    for i, box in main.boxes.items():
        out[i] = box
