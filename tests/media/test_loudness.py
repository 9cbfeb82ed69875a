"""Two-pass loudness normalisation: every rendered clip lands at -14 +- 1 LUFS, measured
independently with ffmpeg's ebur128 filter."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from cliply.media.render import TARGET_LUFS, render_clip, second_pass_filter
from tests.mediagen import H264_FAST, ffmpeg_lavfi

# A loud speaker then a quiet one (the issue's -18.4 LUFS case), and a quiet clip overall.
_SOUNDS = {
    "mixed": "aevalsrc='if(lt(t,4),0.12,0.01)*sin(2*PI*300*t)*(0.6+0.4*sin(2*PI*3*t))':s=48000",
    "quiet": "aevalsrc='0.01*sin(2*PI*220*t)*(0.6+0.4*sin(2*PI*2*t))':s=48000",
}


def _ebur128(path: Path) -> float:
    done = subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-hide_banner",
            "-i",
            str(path),
            "-af",
            "ebur128",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.findall(r"I:\s+(-?[\d.]+) LUFS", done.stderr)
    return float(found[-1])


@pytest.mark.parametrize("kind", sorted(_SOUNDS))
def test_rendered_clip_is_at_target_loudness(kind: str, tmp_path: Path) -> None:
    src = ffmpeg_lavfi(
        tmp_path / f"{kind}.mp4",
        ["color=c=0x304a6e:size=320x240:rate=25", _SOUNDS[kind]],
        *("-t", "9", *H264_FAST, "-c:a", "aac", "-shortest"),
    )
    before = _ebur128(src)
    out = render_clip(
        src, tmp_path / "clip.mp4", start=0.5, end=8.5, width=180, height=320, preset="ultrafast"
    )
    after = _ebur128(out.path)
    assert abs(before - TARGET_LUFS) > 1.5  # the source itself was off target
    assert abs(after - TARGET_LUFS) <= 1.0, (before, after)
    assert out.loudness_lufs is not None and abs(out.loudness_lufs - after) <= 0.5


def test_silence_is_not_normalised() -> None:
    assert second_pass_filter(None) is None
    measured = {"input_i": -90.0, "input_tp": -90.0, "input_lra": 0.0}
    assert second_pass_filter(measured | {"input_thresh": -100.0, "target_offset": 0.0}) is None
