"""The local faster-whisper engine on espeak-ng speech with a known timeline."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from cliply.transcribe.audio import SAMPLE_RATE, extract_wav, iter_windows
from cliply.transcribe.base import Transcriber, TranscriptionError
from cliply.transcribe.local import LocalTranscriber
from cliply.transcribe.models import Transcript
from tests import mediagen
from tests.transcribe.conftest import Talk, norm


def check_words_and_timing(transcript: Transcript, talk: Talk) -> None:
    words = transcript.words()
    assert words, "no words recognised"
    starts = [w.start for w in words]
    assert starts == sorted(starts), "word times go backwards"
    assert all(w.end >= w.start for w in words)
    heard = {norm(w.text) for w in words}
    expected = [norm(x) for _, _, s in talk.timeline for x in s.split()]
    recall = sum(1 for x in expected if x in heard) / len(expected)
    assert recall >= 0.8, f"only {recall:.0%} of the spoken words recognised"
    # No duplicated or lost stretches: about as many words as were spoken.
    assert 0.85 * len(expected) <= len(words) <= 1.15 * len(expected)
    for (start, end, sentence), onset in zip(talk.timeline, talk.onsets, strict=True):
        inside = [w for w in words if start - 1.0 <= w.start <= end]
        assert inside, f"nothing heard during {sentence!r}"
        assert abs(inside[0].start - onset) <= 0.5, (
            f"{sentence!r}: first word {inside[0].text!r} at {inside[0].start:.2f}s, "
            f"speech starts at {onset:.2f}s"
        )
        # Most of the sentence's words are timed inside the sentence.
        timed = {norm(w.text) for w in words if start - 0.5 <= w.start <= end + 0.5}
        said = [norm(x) for x in sentence.split()]
        assert sum(1 for x in said if x in timed) >= 0.6 * len(said), sentence


def test_local_engine_on_a_video(long_talk: Talk, tmp_path: Path) -> None:
    video = mediagen.video_with_audio(tmp_path / "talk.mp4", long_talk.wav, size="160x90")
    progress: list[float] = []
    engine = LocalTranscriber()
    assert isinstance(engine, Transcriber)
    transcript = engine.transcribe(video, language="en", progress=progress.append)
    assert transcript.engine == "local" and transcript.model == "tiny.en"
    assert transcript.language == "en"
    assert transcript.duration == pytest.approx(long_talk.timeline[-1][1] + 0.6, abs=0.3)
    check_words_and_timing(transcript, long_talk)
    assert progress[0] == 0.0 and progress[-1] == 1.0
    assert progress == sorted(progress)


def test_streamed_in_small_windows(long_talk: Talk) -> None:
    """20 s windows over the ~54 s talk: at least three model calls, words still timed
    on the whole file's clock, nothing lost or doubled at the seams."""
    progress: list[float] = []
    transcript = LocalTranscriber(chunk_seconds=20).transcribe(
        long_talk.wav, progress=progress.append
    )
    check_words_and_timing(transcript, long_talk)
    inner = [p for p in progress if 0.0 < p < 1.0]
    assert len(inner) >= 2, progress  # one report per finished window
    assert progress == sorted(progress)


def test_windows_cover_the_file_and_cut_in_pauses(long_talk: Talk, tmp_path: Path) -> None:
    wav = extract_wav(long_talk.wav, tmp_path / "a.wav")
    with wave.open(str(wav), "rb") as w:
        total = w.getnframes()
        everything = np.frombuffer(w.readframes(total), dtype=np.int16).astype(np.float32)
    windows = list(iter_windows(wav, 20.0))
    assert len(windows) >= 3
    assert sum(len(x.samples) for x in windows) == total
    position = 0
    for win in windows:
        assert win.offset == position / SAMPLE_RATE
        assert np.array_equal(
            win.samples * 32768.0, everything[position : position + len(win.samples)]
        )
        position += len(win.samples)
    peak = float(np.abs(everything).max())
    for win in windows[1:]:  # every cut is in a quiet stretch, not inside a word
        cut = int(win.offset * SAMPLE_RATE)
        around = np.abs(everything[cut - 800 : cut + 800])
        assert float(around.max()) < 0.05 * peak


def test_missing_file() -> None:
    with pytest.raises(TranscriptionError) as err:
        LocalTranscriber().transcribe(Path("/nonexistent/talk.mp4"))
    assert err.value.code == "audio-not-found" and not err.value.retryable


def test_not_media(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.mp4"
    bogus.write_text("this is not a video")
    with pytest.raises(TranscriptionError) as err:
        LocalTranscriber().transcribe(bogus)
    assert err.value.code == "audio-decode-failed"


def test_video_without_audio(tmp_path: Path) -> None:
    video = mediagen.silent_video(tmp_path / "mute.mp4", seconds=1.0)
    with pytest.raises(TranscriptionError) as err:
        LocalTranscriber().transcribe(video)
    assert err.value.code == "audio-decode-failed"


def test_unknown_model(short_talk: Talk, tmp_path: Path) -> None:
    engine = LocalTranscriber(model=str(tmp_path / "no-such-model"))
    with pytest.raises(TranscriptionError) as err:
        engine.transcribe(short_talk.wav)
    assert err.value.code == "model-load-failed"
