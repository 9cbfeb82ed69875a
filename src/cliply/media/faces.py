"""Frame sampling, face detection with landmarks, scene cuts and main-speaker tracking.

Faces are found by YuNet (libfacedetection, through the `yuface` wheel, whose CNN weights are
compiled into its shared library: nothing is downloaded). OpenCV's Haar cascades remain as the
fallback where that wheel is not installable (it ships for CPython 3.11 on x86-64 Linux and
Windows only) and for the benchmark. False faces are dropped by detector score, landmark
geometry, size (against the frame and the biggest face) and, in `analyse`, by track
persistence (a face seen in one sample only is a blip).

Frames come from ffmpeg (which applies the rotation players apply) at a few frames per second,
downscaled for speed; every box reported here is in source (display) pixels.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import itertools
import math
import os
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from cliply.media.errors import FFMPEG_FAILED, MediaError
from cliply.media.tools import check_interrupted, ffmpeg_bin, popen, stderr_tail


def _load_yuface() -> ModuleType | None:
    # yuface's bundled libgomp reads OMP_* once, when it loads. Its default (spin-waiting
    # threads) cost 5-10x the CPU of the detection itself on a busy 2-core box; passive
    # waiting keeps it near 15 ms a 480x270 frame. Set only for this load, unless the
    # operator chose a policy.
    saved = os.environ.get("OMP_WAIT_POLICY")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        return importlib.import_module("yuface")
    except ImportError:  # only where the wheel does not exist (see above)
        return None
    finally:
        if saved is None:
            os.environ.pop("OMP_WAIT_POLICY", None)


yuface = _load_yuface()
Frame = npt.NDArray[np.uint8]
Point = tuple[float, float]


@dataclass(frozen=True)
class Landmarks:
    """Five face points (frame or source pixels); "left"/"right" as seen in the picture."""

    eye_left: Point
    eye_right: Point
    nose: Point
    mouth_left: Point
    mouth_right: Point

    def scaled(self, k: float) -> Landmarks:
        el, er, n, ml, mr = ((x * k, y * k) for x, y in self.points())
        return Landmarks(el, er, n, ml, mr)

    def points(self) -> tuple[Point, Point, Point, Point, Point]:
        return (self.eye_left, self.eye_right, self.nose, self.mouth_left, self.mouth_right)

    @property
    def mouth(self) -> Point:
        """Centre of the mouth (midpoint of its corners)."""
        (ax, ay), (bx, by) = self.mouth_left, self.mouth_right
        return ((ax + bx) / 2, (ay + by) / 2)


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float
    score: float = 1.0
    """Detector confidence, 0-1 (1.0 where the detector gives none: Haar, boxes built by hand)."""
    landmarks: Landmarks | None = None
    """Eyes, nose tip and mouth corners (None from Haar or boxes built by hand)."""
    mouth_open: float = 0.0
    """Mouth-openness proxy, 0-1: the dark (open-cavity) share of the mouth region."""
    mouth_patch: npt.NDArray[np.float32] | None = field(
        default=None, compare=False, hash=False, repr=False
    )
    """The mouth region as a 12x16 zero-mean, unit-variance patch; see `mouth_motion`."""

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
        return Box(
            self.x * k,
            self.y * k,
            self.w * k,
            self.h * k,
            score=self.score,
            landmarks=self.landmarks.scaled(k) if self.landmarks else None,
            mouth_open=self.mouth_open,
            mouth_patch=self.mouth_patch,
        )

    @property
    def side(self) -> float:
        return math.sqrt(self.area)


def mouth_motion(a: Box, b: Box) -> float:
    """How much the mouth changed between two boxes of one face (0 = same; ~1.1 = unrelated).

    Mean absolute difference of the normalised mouth patches plus the change in openness, so
    the active speaker of several faces is the one whose track has the most mouth motion.
    """
    if a.mouth_patch is None or b.mouth_patch is None:
        return 0.0
    diff = float(np.mean(np.abs(a.mouth_patch - b.mouth_patch)))
    return diff + abs(a.mouth_open - b.mouth_open)


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


def detector_name() -> str:
    """The face detector in use, for `cliply doctor` and the benchmark."""
    if yuface is None:
        return "OpenCV Haar cascades (yuface not installed)"
    return f"YuNet (libfacedetection, yuface {importlib.metadata.version('yuface')})"


def detect_faces(
    frame: Frame,
    *,
    min_size_ratio: float = 0.05,
    min_score: float = 0.6,
    large_score: float = 0.8,
    min_relative_side: float = 0.4,
) -> list[Box]:
    """Faces in a BGR frame (frame pixels), with score, landmarks and mouth measures.

    Kept: side >= `min_size_ratio` of the frame's shorter side; score >= `min_score`, rising
    to `large_score` for faces over 40 % of the shorter side (a real close-up scores high,
    a cup or a poster seen as a big face does not); landmarks laid out like a face; and not
    under `min_relative_side` of a bigger face that scores as well.
    """
    if yuface is None:
        return detect_faces_haar(frame, min_size_ratio=min_size_ratio)
    h, w = frame.shape[:2]
    short = min(h, w)
    confs, boxes, points = yuface.detect(np.ascontiguousarray(frame), conf=min_score)
    gray: Frame | None = None
    found: list[Box] = []
    for conf, (bx, by, bw, bh), pts in zip(confs, boxes, points, strict=True):
        box = Box(float(bx), float(by), float(bw), float(bh), score=float(conf) / 100)
        if min(box.w, box.h) < max(8.0, short * min_size_ratio):
            continue
        ramp = min(1.0, max(0.0, (box.side / short - 0.2) / 0.2))
        if box.score < min_score + (large_score - min_score) * ramp:
            continue
        p = [float(v) for v in pts]
        marks = Landmarks((p[0], p[1]), (p[2], p[3]), (p[4], p[5]), (p[6], p[7]), (p[8], p[9]))
        if not plausible_landmarks(box, marks):
            continue
        if gray is None:
            gray = np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), dtype=np.uint8)
        patch, openness = _mouth_measures(gray, box, marks)
        found.append(
            Box(
                box.x,
                box.y,
                box.w,
                box.h,
                score=box.score,
                landmarks=marks,
                mouth_open=openness,
                mouth_patch=patch,
            )
        )
    found = _suppress(found)
    # A face much smaller than a confident main one is background (a poster, a passer-by) or
    # a false hit on texture; neither is a speaker to frame.
    return [
        b
        for b in found
        if not any(b.side < min_relative_side * k.side and k.score >= b.score - 0.05 for k in found)
    ]


def plausible_landmarks(box: Box, m: Landmarks) -> bool:
    """Eyes above the mouth, a sane eye spacing and every point near the box: a face's layout.

    Rolled heads (up to ~45 degrees) and three-quarter views pass; texture that merely scores
    like a face usually puts its points in a line or outside the box.
    """
    margin_x, margin_y = 0.15 * box.w, 0.15 * box.h
    for x, y in m.points():
        if not (
            box.x - margin_x <= x <= box.x + box.w + margin_x
            and box.y - margin_y <= y <= box.y + box.h + margin_y
        ):
            return False
    ex = (m.eye_left[0] + m.eye_right[0]) / 2
    ey = (m.eye_left[1] + m.eye_right[1]) / 2
    mx, my = m.mouth
    down_x, down_y = mx - ex, my - ey
    eye_mouth = math.hypot(down_x, down_y)
    if not 0.15 * box.h <= eye_mouth <= 0.8 * box.h:
        return False
    # Eye-to-mouth direction within 45 degrees of straight down.
    if down_y < abs(down_x):
        return False
    eye_gap = math.dist(m.eye_left, m.eye_right)
    if not 0.1 * box.w <= eye_gap <= 0.8 * box.w:
        return False
    # The nose lies between the eye line and the mouth (its projection on eye->mouth).
    along = ((m.nose[0] - ex) * down_x + (m.nose[1] - ey) * down_y) / (eye_mouth**2)
    return -0.1 <= along <= 1.1


def _mouth_measures(gray: Frame, box: Box, m: Landmarks) -> tuple[npt.NDArray[np.float32], float]:
    """The mouth region's normalised patch and its dark share (see Box.mouth_open)."""
    mx, my = m.mouth
    width = max(math.dist(m.mouth_left, m.mouth_right), 0.25 * box.w)
    x0 = max(0, int(mx - 0.65 * width))
    x1 = min(gray.shape[1], math.ceil(mx + 0.65 * width))
    y0 = max(0, int(my - 0.35 * width))
    y1 = min(gray.shape[0], math.ceil(my + 0.6 * width))
    region = gray[y0:y1, x0:x1]
    if region.size < 4:
        return np.zeros((12, 16), dtype=np.float32), 0.0
    patch = cv2.resize(region, (16, 12), interpolation=cv2.INTER_AREA).astype(np.float32)
    patch = (patch - patch.mean()) / (float(patch.std()) + 8.0)
    # Dark against the face's own skin: the middle of the box, away from hair and background.
    fx0, fy0 = int(box.x + 0.25 * box.w), int(box.y + 0.3 * box.h)
    skin = gray[max(0, fy0) : max(0, int(fy0 + 0.4 * box.h)), max(0, fx0) : int(fx0 + 0.5 * box.w)]
    ref = float(np.median(skin)) if skin.size else float(np.median(region))
    openness = float(np.mean(region < 0.55 * ref))
    return patch.astype(np.float32), openness


def detect_faces_haar(frame: Frame, *, min_size_ratio: float = 0.06) -> list[Box]:
    """Faces by OpenCV's Haar cascades (the former detector): frontal, else profiles."""

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
        # Persistent, large and surely a face wins: total score-weighted area over the scene.
        return sum(b.area * b.score for b in self.boxes.values())

    @property
    def mouth_activity(self) -> float:
        """Mean `mouth_motion` between consecutive samples of this face (0 if seen once)."""
        keys = sorted(self.boxes)
        steps = [mouth_motion(self.boxes[a], self.boxes[b]) for a, b in itertools.pairwise(keys)]
        return sum(steps) / len(steps) if steps else 0.0


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
    min_track_samples: int = 2,
) -> list[Sample]:
    """Sample the range once: faces (source pixels) and scene-cut flags per sample.

    A face must be seen in at least `min_track_samples` samples of its scene (scenes of fewer
    samples keep everything): a detection that does not persist is a false hit.
    """
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
    if min_track_samples > 1:
        drop_blips(samples, min_track_samples)
    return samples


def scenes(samples: list[Sample]) -> list[tuple[int, int]]:
    """[a, b) index ranges of the samples between scene cuts."""
    bounds: list[tuple[int, int]] = []
    a = 0
    for i in range(1, len(samples) + 1):
        if i == len(samples) or samples[i].cut:
            bounds.append((a, i))
            a = i
    return bounds


def drop_blips(samples: list[Sample], min_samples: int = 2) -> None:
    """Remove, in place, faces that do not persist over `min_samples` samples of their scene.

    Faces in consecutive samples are the same face when alike in size and within a few face
    widths (a fast move still links); a chain shorter than `min_samples` samples is a blip.
    Scenes shorter than `min_samples` samples are left alone.
    """
    for a, b in scenes(samples):
        if b - a < min_samples:
            continue
        nodes = [(i, j) for i in range(a, b) for j in range(len(samples[i].faces))]
        parent = {n: n for n in nodes}
        for i in range(a, b - 1):
            for j, f in enumerate(samples[i].faces):
                for k, g in enumerate(samples[i + 1].faces):
                    if _same_face(f, g):
                        parent[_root(parent, (i, j))] = _root(parent, (i + 1, k))
        spans: dict[tuple[int, int], set[int]] = {}
        for n in nodes:
            spans.setdefault(_root(parent, n), set()).add(n[0])
        for i in range(a, b):
            faces = samples[i].faces
            samples[i].faces = [
                f for j, f in enumerate(faces) if len(spans[_root(parent, (i, j))]) >= min_samples
            ]


def _root(parent: dict[tuple[int, int], tuple[int, int]], n: tuple[int, int]) -> tuple[int, int]:
    while parent[n] != n:
        parent[n] = parent[parent[n]]
        n = parent[n]
    return n


def _same_face(f: Box, g: Box) -> bool:
    ratio = f.side / g.side if g.side else 0.0
    near = math.hypot(f.cx - g.cx, f.cy - g.cy) <= 3.0 * max(f.w, g.w)
    return 0.6 <= ratio <= 1 / 0.6 and near


def main_speaker(samples: list[Sample]) -> list[Box | None]:
    """For each sample, the box of the scene's main face (None where it is not seen).

    Faces are linked sample to sample by overlap / nearness; in each scene the track with the
    largest total area (big and persistent) is the speaker to follow.
    """
    result: list[Box | None] = [None] * len(samples)
    for a, b in scenes(samples):
        tracks = link_tracks(samples, a, b)
        if not tracks:
            continue
        main = max(tracks, key=lambda tr: tr.weight)
        for i, box in main.boxes.items():
            result[i] = box
    return result


def link_faces(frames: Sequence[Sequence[Box]], a: int, b: int) -> list[dict[int, int]]:
    """Link the faces of frames[a:b] (one scene) by overlap, then nearness: one dict per track,
    sample index -> index of the face in that sample."""
    tracks: list[dict[int, int]] = []
    for i in range(a, b):
        for j, face in enumerate(frames[i]):
            best: dict[int, int] | None = None
            best_key = (-1.0, 0.0)
            for tr in tracks:
                last_i = max(tr)
                if last_i == i or i - last_i > 6:
                    continue
                prev = frames[last_i][tr[last_i]]
                d = float(np.hypot(face.cx - prev.cx, face.cy - prev.cy))
                if face.iou(prev) <= 0.1 and d >= 1.5 * max(prev.w, face.w):
                    continue
                # Best overlap first, then nearest centre.
                key = (face.iou(prev), -d)
                if key > best_key:
                    best, best_key = tr, key
            if best is None:
                best = {}
                tracks.append(best)
            best[i] = j
    return tracks


def link_tracks(samples: list[Sample], a: int, b: int) -> list[Track]:
    """Link the faces of samples[a:b] (one scene) into tracks, by overlap, then nearness."""
    frames = [s.faces for s in samples]
    return [
        Track(boxes={i: frames[i][j] for i, j in links.items()})
        for links in link_faces(frames, a, b)
    ]
