"""Editor exports of a clip: OTIO and FCPXML read back with the right source, in/out points
and crop keyframes; SRT on the clip's clock."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
import pytest

from cliply.media import MediaError
from cliply.media.export import ClipTimeline, clip_srt, fcpxml, write_exports
from cliply.media.reframe import CropKeyframe
from cliply.transcribe.models import Word

KEYS = (
    CropKeyframe(10.0, 600, 0, 608, 1080),
    CropKeyframe(14.0, 700, 0, 608, 1080),
    CropKeyframe(30.0, 800, 0, 608, 1080),
)


def _timeline(fps: float = 29.97) -> ClipTimeline:
    return ClipTimeline(
        name="Why bread rises",
        source_url="file:///videos/talk.mp4",
        source_duration=120.0,
        fps=fps,
        source_width=1920,
        source_height=1080,
        start=12.5,
        end=27.25,
        out_width=1080,
        out_height=1920,
        keyframes=KEYS,
    )


def _seconds(value: str | None) -> float:
    assert value is not None and value.endswith("s")
    return float(Fraction(value[:-1]))


def test_otio_reads_back_with_source_and_in_out(tmp_path: Path) -> None:
    tl = _timeline()
    paths = write_exports(tl, [], tmp_path, "clip", ["otio"])
    timeline = otio.adapters.read_from_file(str(paths["otio"]))
    (clip,) = timeline.video_tracks()[0].find_clips()
    assert clip.media_reference.target_url == "file:///videos/talk.mp4"
    assert clip.source_range.start_time.to_seconds() == pytest.approx(12.5, abs=1 / 29.97)
    assert clip.source_range.end_time_exclusive().to_seconds() == pytest.approx(27.25, abs=0.04)
    assert clip.source_range.start_time.rate == pytest.approx(30000 / 1001)
    keys = clip.metadata["cliply"]["crop"]["keyframes"]
    # Edges plus the one keyframe inside; x interpolated at the in point (12.5 s: 662.5).
    assert [k["t"] for k in keys] == [0.0, 1.5, 14.75]
    assert keys[0]["x"] == pytest.approx(662.5) and keys[1]["x"] == 700
    assert len(timeline.audio_tracks()) == 1


def test_fcpxml_is_well_formed_with_in_out_and_keyframes() -> None:
    tl = _timeline(fps=25)
    root = ET.fromstring(fcpxml(tl).split("\n", 2)[2])
    assert root.tag == "fcpxml" and root.get("version") == "1.10"
    asset = root.find("./resources/asset")
    assert asset is not None and asset.find("media-rep").get("src") == tl.source_url  # type: ignore[union-attr]
    clip = root.find(".//spine/asset-clip")
    assert clip is not None and clip.get("ref") == asset.get("id")
    assert _seconds(clip.get("start")) == pytest.approx(12.5, abs=1 / 25)
    assert _seconds(clip.get("duration")) == pytest.approx(27.25 - 12.5, abs=0.04)
    seq = root.find(".//sequence")
    fmt = {f.get("id"): f for f in root.iter("format")}[seq.get("format")]  # type: ignore[union-attr]
    assert (fmt.get("width"), fmt.get("height")) == ("1080", "1920")
    left = clip.find("./adjust-crop/trim-rect/param[@name='left']/keyframeAnimation")
    assert left is not None
    times = [_seconds(k.get("time")) for k in left]
    assert times == pytest.approx([12.5, 14.0, 27.25], abs=1 / 25)
    values = [float(k.get("value") or 0) for k in left]
    assert values[1] == pytest.approx(100 * 700 / 1920, abs=0.01)


def test_srt_is_on_the_clips_clock() -> None:
    words = [Word(text=w, start=12.0 + i, end=12.6 + i) for i, w in enumerate(["a", "b", "c", "d"])]
    srt = clip_srt(words, 12.5, 16.0)
    assert srt.startswith("1\n00:00:00,000 --> ")
    assert "a b c d" in srt


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="unknown export format"):
        write_exports(_timeline(), [], tmp_path, "clip", ["edl"])
    with pytest.raises(MediaError):
        ClipTimeline("x", "file:///x", 10, 25, 100, 100, 5.0, 4.0, 10, 10)
