"""Fixtures shared by the pipeline, projects and clips tests (imported by their conftests)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mediagen import (
    H264_FAST,
    TOPIC_SENTENCES,
    ffmpeg_lavfi,
    silent_video,
    talk_audio,
    video_with_audio,
)

_MEDIA = Path(tempfile.mkdtemp(prefix="cliply-pipeline-media-"))


def _talk(name: str, sentences: list[str]) -> tuple[Path, list[tuple[float, float, str]]]:
    folder = _MEDIA / name
    folder.mkdir(exist_ok=True)
    wav, timeline = talk_audio(folder, sentences)
    # A flat picture encodes fast; reframing falls back to its no-face layout.
    return video_with_audio(folder / f"{name}.mp4", wav, size="640x360", source="color"), timeline


@pytest.fixture(scope="session")
def talk_video() -> tuple[Path, list[tuple[float, float, str]]]:
    """~36 s: two topics of four spoken sentences each, and when each sentence was said."""
    return _talk("talk", TOPIC_SENTENCES[0] + TOPIC_SENTENCES[1])


@pytest.fixture(scope="session")
def bad_inputs() -> dict[str, Path]:
    """One file per way a source can be unusable, keyed by the expected error code."""
    folder = _MEDIA / "bad"
    folder.mkdir(exist_ok=True)
    text = folder / "notes.mp4"
    text.write_text("this is not a video at all\n" * 50)
    mute = silent_video(folder / "mute.mp4", seconds=2.0)
    tiny = folder / "tiny.mp4"
    ffmpeg_lavfi(
        tiny,
        ["color=size=64x64:rate=25", "sine=f=440"],
        *("-t", "0.2", *H264_FAST, "-c:a", "aac", "-shortest"),
    )
    full = folder / "full.mp4"
    ffmpeg_lavfi(
        full,
        ["testsrc2=size=320x240:rate=25", "sine=f=440"],
        *("-t", "4", *H264_FAST, "-c:a", "aac", "-shortest"),
    )
    cut = folder / "cut.mp4"  # moov at the end (no faststart), so cutting drops the index
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    return {
        "not-a-video": text,
        "no-audio-stream": mute,
        "zero-length": tiny,
        "truncated": cut,
        "ok": full,
    }


@pytest.fixture
def fast_render(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from tests.conftest import reset_caches

    monkeypatch.setenv("RENDER_PRESET", "ultrafast")
    reset_caches()
    yield
    reset_caches()
