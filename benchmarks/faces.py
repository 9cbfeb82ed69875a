"""Face detection: the former Haar cascades against YuNet (yuface) with Cliply's filters.

Scenes, each sampled like `analyse` does (ffmpeg, 480 px wide frames):

  (a) generated: the astronaut moving around a 640x360 frame at several face sizes, over a
      plain, a text page and a coffee-cup background; tilting (roll), dim and noisy, and
      motion-blurred; two faces side by side;
  (b) a still photo where a bigger false face (a coffee cup YuNet scores ~0.7) competes with
      a 56 px real face;
  (c) real face photos from scikit-image (pinned dev dependency): LFW's 100 faces and 100
      non-faces (25 px crops, shown at 60 and 100 px on a 480x270 grey frame), the cameraman
      and the astronaut photo.

For each detector: detection rate (real faces found / real faces visible), false faces per
frame and CPU ms per frame (process time, all threads; wall ms beside it). "Haar" is the
detector faces.py used before (frontal, then profiles), with no track filter; "YuNet" is
`detect_faces` plus the persistence filter `analyse` applies (not for the single photos).

Run: uv run python benchmarks/faces.py
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests import facegen as fg

from cliply.media.faces import (
    Box,
    Frame,
    Sample,
    detect_faces,
    detect_faces_haar,
    detector_name,
    drop_blips,
    sample_frames,
)

Detector = Callable[[Frame], list[Box]]


@dataclass
class Case:
    name: str
    frames: list[Frame]
    truth: list[list[fg.FaceBox]]  # per frame, in frame pixels
    video: bool  # apply the persistence filter (a video) or not (separate photos)


@dataclass
class Score:
    found: int = 0
    visible: int = 0
    false: int = 0
    frames: int = 0
    cpu: float = 0.0
    wall: float = 0.0

    def add(self, other: Score) -> None:
        for k in ("found", "visible", "false", "frames"):
            setattr(self, k, getattr(self, k) + getattr(other, k))
        self.cpu += other.cpu
        self.wall += other.wall

    def cells(self) -> list[str]:
        rate = f"{100 * self.found / self.visible:.1f} %" if self.visible else "-"
        return [
            rate,
            f"{self.false / self.frames:.3f}",
            f"{1000 * self.cpu / self.frames:.1f} ({1000 * self.wall / self.frames:.1f})",
        ]


def video_case(name: str, scene: fg.Scene, fps: float = 3.0) -> Case:
    w, h = scene.size
    frames, truth = [], []
    end = len(scene.truth) / scene.fps
    for t, frame in sample_frames(
        scene.path, start=0, end=end, fps=fps, width=480, src_width=w, src_height=h
    ):
        k = frame.shape[1] / w
        frames.append(frame)
        truth.append([(x * k, y * k, bw * k, bh * k) for x, y, bw, bh in scene.faces_at(t)])
    return Case(name, frames, truth, video=True)


def lfw_cases() -> list[Case]:
    from skimage import data

    lfw = data.lfw_subset()  # 100 faces, then 100 non-faces, 25x25 grey
    cases = []
    for side in (60, 100):
        for label, sl in (("faces", slice(0, 100)), ("non-faces", slice(100, 200))):
            frames, truth = [], []
            for img in lfw[sl]:
                canvas = np.full((270, 480), 128, np.uint8)
                tile = cv2.resize((img * 255).astype(np.uint8), (side, side))
                x, y = 240 - side // 2, 135 - side // 2
                canvas[y : y + side, x : x + side] = tile
                frames.append(cv2.cvtColor(canvas, cv2.COLOR_GRAY2BGR))
                # LFW crops are tight: the face fills most of the tile.
                truth.append([(x, y, side, side)] if label == "faces" else [])
            cases.append(Case(f"(c) LFW {label}, {side} px", frames, truth, video=False))
    return cases


def photo_cases() -> list[Case]:
    from skimage import data

    cam = cv2.cvtColor(data.camera(), cv2.COLOR_GRAY2BGR)  # 512x512, face near (195,113,60,80)
    astro = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)  # face (177,66,95,95)
    out = []
    for name, img, face in (
        ("cameraman", cam, (195.0, 113.0, 60.0, 80.0)),
        ("astronaut", astro, (177.0, 66.0, 95.0, 95.0)),
    ):
        frames, truth = [], []
        for side in (240, 360, 480):
            k = side / img.shape[1]
            frames.append(cv2.resize(img, (side, side), interpolation=cv2.INTER_AREA))
            truth.append([(face[0] * k, face[1] * k, face[2] * k, face[3] * k)])
        out.append(Case(f"(c) {name} photo at 240/360/480 px", frames, truth, video=False))
    return out


def run(case: Case, detect: Detector, *, track_filter: bool) -> Score:
    s = Score(frames=len(case.frames))
    found_per_frame: list[list[Box]] = []
    c0, w0 = time.process_time(), time.perf_counter()
    for frame in case.frames:
        found_per_frame.append(detect(frame))
    s.cpu, s.wall = time.process_time() - c0, time.perf_counter() - w0
    if track_filter and case.video:
        samples = [Sample(t=float(i), faces=f) for i, f in enumerate(found_per_frame)]
        drop_blips(samples)
        found_per_frame = [smp.faces for smp in samples]
    for found, truth in zip(found_per_frame, case.truth, strict=True):
        s.visible += len(truth)
        boxes = [(b.x, b.y, b.w, b.h) for b in found]
        s.found += sum(any(fg.hit(b, t) for b in boxes) for t in truth)
        s.false += sum(not any(fg.hit(b, t) for t in truth) for b in boxes)
    return s


def main() -> None:
    argparse.ArgumentParser(description=__doc__).parse_args()
    print(f"new detector: {detector_name()}; OpenCV {cv2.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        cases: list[Case] = []
        for scale in (0.4, 0.6, 1.0, 1.6):
            px = round(95 * scale)
            scene = fg.moving_face(d / f"m{scale}.mp4", scale=scale, seconds=8.0)
            cases.append(video_case(f"(a) moving face {px} px, plain", scene))
        for bg in ("page", "coffee"):
            scene = fg.moving_face(d / f"bg{bg}.mp4", scale=0.6, seconds=8.0, bg=bg)
            cases.append(video_case(f"(a) moving face 57 px over {bg}", scene))
        for label, kw in (
            ("head tilting +-25 deg", {"roll": 25.0}),
            ("head tilting +-40 deg", {"roll": 40.0}),
            ("dim and noisy", {"dim": 0.35}),
            ("motion blur 9 px", {"blur": 9}),
        ):
            scene = fg.moving_face(d / f"hard{len(cases)}.mp4", scale=0.8, seconds=8.0, **kw)
            cases.append(video_case(f"(a) moving face 76 px, {label}", scene))
        cases.append(video_case("(a) two faces", fg.two_faces(d / "two.mp4", seconds=4.0)))
        photo = fg.false_face_photo(d / "photo.mp4", seconds=3.0)
        cases.append(video_case("(b) still photo, 56 px face + false cup face", photo))
        cases += photo_cases()
        cases += lfw_cases()

    header = ["scene", "frames", "Haar found", "Haar false/frame", "Haar CPU ms (wall)"]
    header += ["YuNet found", "YuNet false/frame", "YuNet CPU ms (wall)"]
    print("| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    totals = {"haar": Score(), "yunet": Score()}
    generated = {"haar": Score(), "yunet": Score()}
    for case in cases:
        haar = run(case, detect_faces_haar, track_filter=False)
        yunet = run(case, detect_faces, track_filter=True)
        row = [case.name, str(len(case.frames)), *haar.cells(), *yunet.cells()]
        print("| " + " | ".join(row) + " |", flush=True)
        for key, sc in (("haar", haar), ("yunet", yunet)):
            totals[key].add(sc)
            if case.name.startswith("(a)"):
                generated[key].add(sc)
    for label, agg in (("all (a) generated", generated), ("all scenes", totals)):
        row = [label, str(agg["haar"].frames), *agg["haar"].cells(), *agg["yunet"].cells()]
        print("| " + " | ".join(row) + " |")
    # What the size-dependent score buys: the same photo with one threshold for all sizes.
    (still,) = [c for c in cases if c.name.startswith("(b)")]
    flat = run(still, lambda f: detect_faces(f, large_score=0.6), track_filter=True)
    print(
        f"\n(b) with one score threshold (0.6) for all sizes: found, false/frame, ms: {flat.cells()}"
    )


if __name__ == "__main__":
    main()
