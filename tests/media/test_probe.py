"""probe / validate: fields of a good file and a stable error code for each kind of bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cliply.media import MediaError, probe, validate
from tests import mediagen as mg
from tests.media.conftest import make_tone_video

LIMITS = {"max_duration_s": 3 * 3600.0, "max_width": 3840, "max_height": 2160}


def codes(fn: object) -> str:
    with pytest.raises(MediaError) as info:
        fn()  # type: ignore[operator]
    assert info.value.message
    return info.value.code


def test_probe_reads_a_normal_video(tone_video: Path) -> None:
    r = probe(tone_video)
    assert "mp4" in r.format_name
    assert r.duration == pytest.approx(3.0, abs=0.1)
    assert (r.width, r.height, r.rotation) == (640, 360, 0)
    assert r.fps == pytest.approx(25.0)
    assert r.video_codec == "h264"
    assert r.has_audio and r.audio_codec == "aac" and r.sample_rate == 44100
    assert r.size_bytes == tone_video.stat().st_size
    validate(r, **LIMITS)


def test_rotation_is_read_and_dimensions_follow_it(media_dir: Path, tone_video: Path) -> None:
    rotated = media_dir / "rotated.mp4"
    mg.run(
        [
            mg.FFMPEG,
            "-y",
            "-i",
            str(tone_video),
            "-c",
            "copy",
            "-metadata:s:v:0",
            "rotate=90",
            str(rotated),
        ]
    )
    r = probe(rotated)
    assert r.rotation in (90, 270)
    assert (r.display_width, r.display_height) == (360, 640)
    validate(r, **LIMITS)


def test_text_file_named_mp4_is_not_a_video(tmp_path: Path) -> None:
    fake = tmp_path / "movie.mp4"
    fake.write_text("this is not a video, just some text\n" * 50)
    assert codes(lambda: probe(fake)) == "not-a-video"


def test_image_is_not_a_video(tmp_path: Path) -> None:
    png, _ = mg.astronaut_png(tmp_path / "a.png")
    assert codes(lambda: probe(png)) == "not-a-video"


def test_missing_and_empty_files(tmp_path: Path) -> None:
    assert codes(lambda: probe(tmp_path / "nope.mp4")) == "media-not-found"
    empty = tmp_path / "empty.mp4"
    empty.touch()
    assert codes(lambda: probe(empty)) == "zero-length"


def test_audio_only_file_has_no_video_stream(tmp_path: Path) -> None:
    wav = mg.speech_wav(tmp_path / "s.wav", "only sound here")
    m4a = tmp_path / "s.m4a"
    mg.run([mg.FFMPEG, "-y", "-i", str(wav), "-c:a", "aac", str(m4a)])
    for f in (wav, m4a):
        assert codes(lambda f=f: validate(probe(f), **LIMITS)) == "no-video-stream"


def test_video_without_audio(tmp_path: Path) -> None:
    silent = mg.silent_video(tmp_path / "silent.mp4", seconds=1.0)
    assert codes(lambda: validate(probe(silent), **LIMITS)) == "no-audio-stream"
    validate(probe(silent), **LIMITS, require_audio=False)


@pytest.mark.parametrize("faststart", [False, True], ids=["index-at-end", "faststart"])
def test_file_cut_in_half_is_truncated(tmp_path: Path, tone_video: Path, faststart: bool) -> None:
    src = tone_video
    if faststart:
        src = tmp_path / "fs.mp4"
        mg.run(
            [
                mg.FFMPEG,
                "-y",
                "-i",
                str(tone_video),
                "-c",
                "copy",
                "-movflags",
                "+faststart",
                str(src),
            ]
        )
    half = tmp_path / "half.mp4"
    data = src.read_bytes()
    half.write_bytes(data[: len(data) // 2])
    assert codes(lambda: validate(probe(half), **LIMITS)) == "truncated"


def test_truncated_matroska(tmp_path: Path, tone_video: Path) -> None:
    mkv = tmp_path / "v.mkv"
    mg.run([mg.FFMPEG, "-y", "-i", str(tone_video), "-c", "copy", str(mkv)])
    validate(probe(mkv), **LIMITS)
    half = tmp_path / "half.mkv"
    half.write_bytes(mkv.read_bytes()[: mkv.stat().st_size // 2])
    assert codes(lambda: validate(probe(half), **LIMITS)) == "truncated"


def test_too_short_is_zero_length(tmp_path: Path) -> None:
    blip = make_tone_video(tmp_path / "blip.mp4", seconds=0.2)
    assert codes(lambda: validate(probe(blip), **LIMITS)) == "zero-length"


def test_too_long(tone_video: Path) -> None:
    limits = {**LIMITS, "max_duration_s": 2.0}
    assert codes(lambda: validate(probe(tone_video), **limits)) == "too-long"


def test_bad_dimensions(tmp_path: Path, tone_video: Path) -> None:
    small_limits = {**LIMITS, "max_width": 320, "max_height": 240}
    assert codes(lambda: validate(probe(tone_video), **small_limits)) == "bad-dimensions"
    tiny = make_tone_video(tmp_path / "tiny.mp4", seconds=1.0, size="8x8")
    assert codes(lambda: validate(probe(tiny), **LIMITS)) == "bad-dimensions"


def test_probe_accepts_str_paths_and_odd_names(tmp_path: Path, tone_video: Path) -> None:
    odd = tmp_path / "wéird name, [1]'s.mp4"
    shutil.copy(tone_video, odd)
    assert probe(str(odd)).duration == pytest.approx(3.0, abs=0.1)
