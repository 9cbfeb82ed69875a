"""Generated scenes with known ground truth for the layout tests and benchmark.

Each scene is drawn frame by frame (numpy/OpenCV) and piped to ffmpeg; scenes are joined with
hard cuts (each has its own background colour). Faces are the astronaut photo (skimage); a face
"speaks" when a dark mouth ellipse opens and closes at syllable rate, in time with a tone burst
on the sound track, so who speaks when is known exactly. Nothing is downloaded.
"""

from __future__ import annotations

import math
import subprocess
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from tests.mediagen import ASTRONAUT_FACE, FFMPEG

Kind = Literal["one", "two", "screen", "none"]
EXPECTED: dict[str, str] = {"one": "track", "two": "split", "screen": "screen", "none": "fit"}
"""The layout `auto` should choose for each kind of scene."""

_PNG = (130, 20, 190, 200)  # x, y, w, h of the astronaut's head and shoulders in the photo
# Face box and mouth centre inside that picture.
FACE = (ASTRONAUT_FACE[0] - _PNG[0], ASTRONAUT_FACE[1] - _PNG[1], 95, 95)
_MOUTH = (FACE[0] + 47, FACE[1] + 79)


@dataclass(frozen=True)
class Scene:
    kind: Kind
    seconds: float
    bg: tuple[int, int, int] = (110, 74, 48)
    """BGR background."""
    move: float = 0.0
    """one: horizontal speed of the face (px/s)."""
    turn: float = 3.0
    """two: seconds each speaker talks before the other takes over."""
    y: int | None = None
    """one: top of the face picture (default: centred)."""


@dataclass
class Truth:
    """What a scene really shows, on the video's timeline."""

    start: float
    end: float
    kind: Kind
    faces: list[list[tuple[float, float, float, float]]] = field(default_factory=list)
    """Per frame: every face box (x, y, w, h)."""
    speaker: list[int | None] = field(default_factory=list)
    """Per frame: index into that frame's faces of the one speaking (None: nobody)."""
    fps: int = 25

    @property
    def layout(self) -> str:
        return EXPECTED[self.kind]

    def frame(self, t: float) -> int:
        return min(len(self.speaker) - 1, max(0, int((t - self.start) * self.fps)))

    def speaking_box(self, t: float) -> tuple[float, float, float, float] | None:
        i = self.frame(t)
        s = self.speaker[i]
        return None if s is None else self.faces[i][s]


def _astronaut() -> np.ndarray:
    from skimage import data

    x, y, w, h = _PNG
    img = data.astronaut()[y : y + h, x : x + w]
    return np.ascontiguousarray(cv2.cvtColor(img, cv2.COLOR_RGB2BGR))


def _mouth_open(t: float, phase: float) -> float:
    """Mouth opening 0..1 at time t while speaking: syllables at ~4.3 Hz, uneven."""
    v = 0.5 + 0.5 * math.sin(2 * math.pi * 4.3 * t + phase) * (0.7 + 0.3 * math.sin(1.7 * t))
    return max(0.0, min(1.0, v))


def _paste_face(frame: np.ndarray, face: np.ndarray, x: int, y: int, opening: float) -> None:
    h, w = face.shape[:2]
    region = frame[y : y + h, x : x + w]
    region[:] = face[: region.shape[0], : region.shape[1]]
    mx, my = _MOUTH
    height = 2 + round(11 * opening)
    cv2.ellipse(region, (mx, my), (19, height), 0, 0, 360, (30, 20, 60), -1)


def _slide(w: int, h: int) -> np.ndarray:
    slide = np.full((h, w, 3), 245, dtype=np.uint8)
    cv2.rectangle(slide, (0, 0), (w - 1, h - 1), (90, 90, 90), 2)
    cv2.putText(
        slide, "Quarterly results", (14, 34), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (40, 40, 40), 2
    )
    lines = [
        "- revenue grew 24% year on year",
        "- churn fell to 3.1% per month",
        "- two new regions opened",
        "- hiring: 12 engineers, 4 sales",
        "- next: pricing page redesign",
        "- Q&A at the end of the call",
    ]
    for i, line in enumerate(lines):
        y = 70 + i * 30
        cv2.putText(slide, line, (16, y), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (30, 30, 30), 1)
    for i, v in enumerate((40, 70, 55, 90)):  # a small bar chart
        x0 = w - 110 + i * 24
        cv2.rectangle(slide, (x0, h - 20 - v), (x0 + 16, h - 20), (160, 90, 40), -1)
    return slide


def make_video(
    out: Path, scenes: list[Scene], *, size: tuple[int, int] = (640, 360), fps: int = 25
) -> list[Truth]:
    """Draw `scenes` back to back into `out` (H.264 + AAC); return each scene's truth."""
    w, h = size
    face = _astronaut()
    fh, fw = face.shape[:2]
    truths: list[Truth] = []
    rate = 16000
    audio: list[np.ndarray] = []
    cmd = [
        FFMPEG,
        "-y",
        "-v",
        "error",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "bgr24",
        "-s",
        f"{w}x{h}",
        "-r",
        str(fps),
        "-i",
        "pipe:0",
        "-i",
        str(out.with_suffix(".wav")),
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-b:a",
        "64k",
        "-shortest",
        str(out),
    ]
    frames: list[bytes] = []
    t0 = 0.0
    for sc in scenes:
        n = round(sc.seconds * fps)
        truth = Truth(t0, t0 + n / fps, sc.kind, fps=fps)
        slide = _slide(int(w * 0.6), int(h * 0.8))
        # Dots moving over the background (no-face scenes) so the picture is not a still.
        for k in range(n):
            t = k / fps
            frame = np.empty((h, w, 3), dtype=np.uint8)
            frame[:] = sc.bg
            boxes: list[tuple[float, float, float, float]] = []
            speaker: int | None = None
            if sc.kind == "one":
                x = int(min(w - fw, max(0, w * 0.3 + sc.move * t)))
                y = (h - fh) // 2 if sc.y is None else sc.y
                _paste_face(frame, face, x, y, _mouth_open(t, 0.0))
                boxes.append((x + FACE[0], y + FACE[1], FACE[2], FACE[3]))
                speaker = 0
            elif sc.kind == "two":
                talking = int(t // sc.turn) % 2
                for j, x in enumerate((int(w * 0.04), w - fw - int(w * 0.04))):
                    y = (h - fh) // 2
                    opening = _mouth_open(t, 1.3 * j) if j == talking else 0.0
                    _paste_face(frame, face, x, y, opening)
                    boxes.append((x + FACE[0], y + FACE[1], FACE[2], FACE[3]))
                speaker = talking
            elif sc.kind == "screen":
                sx, sy = int(w * 0.03), int(h * 0.1)
                frame[sy : sy + slide.shape[0], sx : sx + slide.shape[1]] = slide
                x = w - fw - int(w * 0.02)
                y = (h - fh) // 2
                _paste_face(frame, face, x, y, _mouth_open(t, 0.5))
                boxes.append((x + FACE[0], y + FACE[1], FACE[2], FACE[3]))
                speaker = 0
            else:
                for j in range(4):
                    cx = int((0.2 + 0.2 * j) * w + 40 * math.sin(t * (1 + j)))
                    cy = int(h * (0.3 + 0.1 * j) + 30 * math.cos(t * (1.5 + j)))
                    color = (60 + 40 * j, 200 - 30 * j, 90 + 35 * j)
                    cv2.circle(frame, (cx, cy), 30 + 8 * j, color, -1)
            frames.append(frame.tobytes())
            truth.faces.append(boxes)
            truth.speaker.append(speaker)
        # Sound: a tone burst in time with the speaking mouth (pitch per speaker).
        ts = np.arange(round(sc.seconds * rate)) / rate
        wave_part = np.zeros_like(ts)
        if sc.kind != "none":
            who = (ts // sc.turn).astype(int) % 2 if sc.kind == "two" else np.zeros_like(ts, int)
            env = 0.5 + 0.5 * np.sin(2 * np.pi * 4.3 * ts + np.where(who == 1, 1.3, 0.0))
            pitch = np.where(who == 1, 310.0, 190.0)
            wave_part = 0.3 * env * np.sin(2 * np.pi * pitch * ts)
        audio.append(wave_part)
        truths.append(truth)
        t0 = truth.end
    pcm = (np.concatenate(audio) * 32767).astype(np.int16)
    with wave.open(str(out.with_suffix(".wav")), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.tobytes())
    subprocess.run(cmd, input=b"".join(frames), check=True, capture_output=True)
    out.with_suffix(".wav").unlink()
    return truths


def truth_at(truths: list[Truth], t: float) -> Truth:
    for tr in truths:
        if t < tr.end:
            return tr
    return truths[-1]


STANDARD = [
    Scene("one", 5.0, bg=(110, 74, 48), move=30.0),
    Scene("two", 9.0, bg=(60, 110, 70), turn=3.0),
    Scene("screen", 5.0, bg=(70, 60, 120)),
    Scene("none", 4.0, bg=(40, 40, 40)),
]
"""One scene of each kind, with cuts between them (23 s)."""
