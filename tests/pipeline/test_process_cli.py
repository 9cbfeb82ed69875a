"""`cliply process` end to end in a subprocess: no server, no worker, no database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
import pytest

from cliply.media import probe


def _seconds(value: str | None) -> float:
    assert value is not None and value.endswith("s")
    return float(Fraction(value[:-1]))


def _process(args: list[str], tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RENDER_PRESET": "ultrafast", "CLIPLY_DATA_DIR": str(tmp / "data")}
    env.pop("DATABASE_URL", None)  # proves no database is needed
    return subprocess.run(
        [sys.executable, "-m", "cliply", "process", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_process_writes_transcript_and_clips(
    talk_video: tuple[Path, list[tuple[float, float, str]]], tmp_path: Path
) -> None:
    video, _ = talk_video
    out = tmp_path / "out"
    done = _process(
        [
            str(video),
            "--out",
            str(out),
            "--clips",
            "1",
            "--min-s",
            "8",
            "--max-s",
            "20",
            "--caption-style",
            "karaoke",
            "--export",
            "otio,fcpxml",
        ],
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    for fmt in ("json", "srt", "vtt"):
        assert (out / f"transcript.{fmt}").stat().st_size > 100
    assert "yeast" in (out / "transcript.vtt").read_text().lower()
    summary = json.loads((out / "clips.json").read_text())
    assert summary["transcript_engine"] == "local" and summary["embedder"]
    assert len(summary["clips"]) == 1
    clip = summary["clips"][0]
    assert clip["rank"] == 1 and 0 < clip["score"] <= 100 and clip["reasons"]
    assert 7 <= clip["duration"] <= 21
    mp4 = out / clip["file"]
    assert mp4.name.startswith("01-") and mp4.suffix == ".mp4"
    info = probe(mp4)
    assert (info.display_width, info.display_height) == (1080, 1920) and info.has_audio
    assert (out / clip["thumbnail"]).stat().st_size > 0
    # The flat picture has no face: one fit segment, reported per segment and as the layout.
    assert [s["layout"] for s in clip["layouts"]] == [clip["layout"]] == ["fit"]
    # Editor exports: the clip as a cut of the source, readable by their own parsers.
    assert set(clip["exports"]) == {"otio", "fcpxml", "srt"}
    timeline = otio.adapters.read_from_file(str(out / clip["exports"]["otio"]))
    (cut,) = timeline.video_tracks()[0].find_clips()
    assert cut.media_reference.target_url == video.resolve().as_uri()
    rng = cut.source_range
    assert rng.start_time.to_seconds() == pytest.approx(clip["start"], abs=0.05)
    assert rng.duration.to_seconds() == pytest.approx(clip["duration"], abs=0.05)
    assert cut.metadata["cliply"]["crop"]["keyframes"]
    xml = ET.parse(out / clip["exports"]["fcpxml"]).getroot()
    asset_clip = xml.find(".//spine/asset-clip")
    assert asset_clip is not None
    assert _seconds(asset_clip.get("start")) == pytest.approx(clip["start"], abs=0.05)
    assert _seconds(asset_clip.get("duration")) == pytest.approx(clip["duration"], abs=0.05)
    assert "-->" in (out / clip["exports"]["srt"]).read_text()
    assert clip["title"][:10] in done.stdout.replace("\n", " ") or "1 clip(s)" in done.stdout


@pytest.mark.parametrize(
    "kind, message",
    [
        ("missing", "no such file"),
        ("not_a_video", "not a video"),
        ("no_audio_stream", "no audio"),
        ("url", "URL refused"),
        ("options", "aspect"),
        ("language", "unknown language 'xx'"),
        ("layout", "auto"),
    ],
)
def test_process_bad_input_exits_2(
    kind: str, message: str, bad_inputs: dict[str, Path], tmp_path: Path
) -> None:
    args = {
        "missing": [str(tmp_path / "nope.mp4")],
        "not_a_video": [str(bad_inputs["not-a-video"])],
        "no_audio_stream": [str(bad_inputs["no-audio-stream"])],
        "url": ["http://127.0.0.1:9/video.mp4"],
        "options": [str(bad_inputs["ok"]), "--aspect", "4:3"],
        "language": [str(bad_inputs["ok"]), "--language", "xx"],
        "layout": [str(bad_inputs["ok"]), "--layout", "mosaic"],
    }[kind]
    done = _process([*args, "--out", str(tmp_path / "out")], tmp_path)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert message in done.stderr
