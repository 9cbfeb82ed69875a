"""Audio extraction, chunked streaming, and loudness / burst features."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from cliply.media import MediaError, audio_features, extract_audio, iter_audio_chunks
from tests import mediagen as mg


@pytest.fixture(scope="module")
def speech_then_noise(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float, float]:
    """Speech, then 2 s of loud pink noise (applause-like), then speech again.

    Returns the WAV and the noise's (start, end)."""
    d = tmp_path_factory.mktemp("burst")
    talk, _timeline = mg.talk_audio(d, mg.TOPIC_SENTENCES[1][:2], gap=0.4)
    noise = mg.ffmpeg_lavfi(
        d / "noise.wav", ["anoisesrc=color=pink:amplitude=0.5:r=22050:d=2"], "-ac", "1"
    )
    mixed = mg.concat_wavs(d / "mixed.wav", [talk, noise, talk])
    first = mg.duration(talk)
    return mixed, first, first + 2.0


def test_extract_audio_is_16k_mono_wav(tmp_path: Path, tone_video: Path) -> None:
    out = extract_audio(tone_video, tmp_path / "sub" / "a.wav")
    with wave.open(str(out)) as w:
        assert w.getframerate() == 16000
        assert w.getnchannels() == 1
        assert w.getsampwidth() == 2
        assert w.getnframes() / 16000 == pytest.approx(3.0, abs=0.1)
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]


def test_extract_audio_from_video_without_sound_fails_cleanly(tmp_path: Path) -> None:
    silent = mg.silent_video(tmp_path / "silent.mp4", seconds=1.0)
    with pytest.raises(MediaError) as info:
        extract_audio(silent, tmp_path / "a.wav")
    assert info.value.code == "ffmpeg-failed"
    assert not (tmp_path / "a.wav").exists()


def test_chunks_cover_the_whole_file(tone_video: Path) -> None:
    chunks = list(iter_audio_chunks(tone_video, chunk_seconds=1.0))
    assert all(c.dtype == np.float32 for c in chunks)
    assert [c.size for c in chunks[:-1]] == [16000] * (len(chunks) - 1)
    total = sum(c.size for c in chunks) / 16000
    assert total == pytest.approx(3.0, abs=0.1)
    # A 440 Hz sine at ffmpeg's default amplitude (1/8): RMS = 0.125 / sqrt(2).
    rms = float(np.sqrt(np.mean(np.concatenate(chunks) ** 2)))
    assert rms == pytest.approx(0.125 / np.sqrt(2), rel=0.1)


def test_closing_the_stream_early_stops_reading(tone_video: Path) -> None:
    gen = iter_audio_chunks(tone_video, chunk_seconds=0.5)
    first = next(gen)
    gen.close()
    assert first.size == 8000


def test_unreadable_input_raises(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_text("nope")
    with pytest.raises(MediaError):
        list(iter_audio_chunks(bad))


def test_bursts_are_found_only_where_the_noise_is(
    speech_then_noise: tuple[Path, float, float],
) -> None:
    wav, n0, n1 = speech_then_noise
    total = mg.duration(wav)
    windows = [(0.0, n0 - 0.3), (n0, n1), (n1 + 0.3, total)]
    speech_a, noise, speech_b = audio_features(wav, windows)
    assert noise.burst_ratio > 0.6 and noise.burst_count == 1
    assert speech_a.burst_ratio == 0.0 and speech_b.burst_ratio == 0.0
    # Steady noise varies less in level than speech with its syllables and pauses.
    assert noise.loudness_var < speech_a.loudness_var


def test_rms_tracks_level(tmp_path: Path) -> None:
    wav = mg.ffmpeg_lavfi(
        tmp_path / "steps.wav",
        ["sine=f=300:d=4,volume='if(lt(t,2),0.1,1)':eval=frame"],
        *("-ac", "1"),
    )
    quiet, loud = audio_features(wav, [(0.2, 1.8), (2.2, 3.8)])
    assert loud.rms_db - quiet.rms_db == pytest.approx(20.0, abs=1.0)
    assert quiet.burst_ratio == 0.0 and loud.burst_ratio == 0.0


def test_empty_window_is_rejected(tone_video: Path) -> None:
    with pytest.raises(MediaError) as info:
        audio_features(tone_video, [(2.0, 1.0)])
    assert info.value.code == "bad-argument"
