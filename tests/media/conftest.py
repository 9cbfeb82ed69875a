"""Media fixtures: small videos made once per test session with ffmpeg lavfi / espeak-ng."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests import mediagen as mg


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


def make_tone_video(
    out: Path, *, seconds: float = 3.0, size: str = "640x360", extra: list[str] | None = None
) -> Path:
    return mg.ffmpeg_lavfi(
        out,
        [f"testsrc2=size={size}:rate=25:d={seconds}", f"sine=f=440:d={seconds}"],
        *("-shortest", *mg.H264_FAST, "-c:a", "aac", "-b:a", "64k", *(extra or [])),
    )


@pytest.fixture(scope="session")
def tone_video(media_dir: Path) -> Path:
    """3 s, 640x360, test pattern + 440 Hz tone; MP4 with its index at the end."""
    return make_tone_video(media_dir / "tone.mp4")


@pytest.fixture(scope="session")
def face_video(media_dir: Path) -> tuple[Path, tuple[float, float, float, float]]:
    """5 s, 640x360: the astronaut moving right at 50 px/s from x=40 (PNG top-left)."""
    d = media_dir / "face"
    d.mkdir()
    return mg.moving_face_video(d / "face.mp4", d, seconds=5.0, x_expr="40+50*t", y=80)


def face_centre(face: tuple[float, float, float, float], t: float) -> tuple[float, float]:
    """Centre of the astronaut's face at time t in `face_video`."""
    fx, fy, fw, fh = face
    return 40 + 50 * t + fx + fw / 2, 80 + fy + fh / 2


def ffprobe_json(path: Path) -> str:
    return subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
