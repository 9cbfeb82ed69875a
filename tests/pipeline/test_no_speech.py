"""Every empty result says why: silence and music fail with `no-speech`, a few words with
`too-little-speech`, both through the step functions and `cliply process`."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from cliply.config import get_settings
from cliply.highlights.models import HighlightResult
from cliply.pipeline import config, steps
from cliply.transcribe.models import Segment, Transcript, Word
from tests.mediagen import H264_FAST, ffmpeg_lavfi

_MEDIA = Path(tempfile.mkdtemp(prefix="cliply-nospeech-"))
# A chord with a beat: tonal, rhythmic, no words.
_MUSIC = (
    "aevalsrc='0.25*sin(2*PI*220*t)+0.2*sin(2*PI*277.2*t)+0.2*sin(2*PI*329.6*t)"
    "*(0.5+0.5*sin(2*PI*2*t))':s=16000"
)
_SOURCES = {"silence": "anullsrc=r=16000:cl=mono", "music": _MUSIC}


@pytest.fixture(scope="module", params=sorted(_SOURCES))
def wordless_video(request: pytest.FixtureRequest) -> Path:
    kind = str(request.param)
    out = _MEDIA / f"{kind}.mp4"
    if not out.exists():
        ffmpeg_lavfi(
            out,
            ["color=c=0x304a6e:size=320x240:rate=25", _SOURCES[kind]],
            *("-t", "12", *H264_FAST, "-c:a", "aac", "-shortest"),
        )
    return out


def _words(*spans: tuple[str, float, float]) -> Transcript:
    words = [Word(text=t, start=s, end=e) for t, s, e in spans]
    return Transcript(segments=[Segment(start=0, end=30, text="", words=words)])


def test_non_speech_tokens_are_not_speech() -> None:
    t = _words(("[Music]", 0, 5), ("♪", 5, 9), ("...", 9, 10))
    assert steps.speech_seconds(t.words()) == 0
    with pytest.raises(steps.NoSpeech) as err:
        steps.require_speech(t)
    assert err.value.code == "no-speech" and "music" in err.value.detail
    assert err.value.retryable is False
    assert steps.require_speech(_words(("Hello", 1, 1.5), ("there.", 1.5, 2))) == 1.0


def test_zero_clips_with_some_words_says_too_little_speech() -> None:
    t = _words(("Hello", 1, 1.5), ("there.", 1.6, 2.0))
    empty = HighlightResult(highlights=[], segments=[], embedder_name="tfidf")
    with pytest.raises(steps.TooLittleSpeech) as err:
        steps.require_clips(empty, t)
    assert err.value.code == "too-little-speech" and "0.9 s of speech" in err.value.detail
    with pytest.raises(steps.NoSpeech):
        steps.require_clips(empty, Transcript())


def test_steps_find_no_speech_in_silence_and_music(wordless_video: Path, tmp_path: Path) -> None:
    wav = steps.speech_wav(wordless_video, tmp_path / "audio.wav")
    result = steps.transcribe(wav, config.transcriber_chain(get_settings()))
    with pytest.raises(steps.NoSpeech):
        steps.require_speech(result.transcript)


def test_process_exits_nonzero_with_the_reason(wordless_video: Path, tmp_path: Path) -> None:
    env = {**os.environ, "RENDER_PRESET": "ultrafast", "CLIPLY_DATA_DIR": str(tmp_path / "d")}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "cliply", "process", str(wordless_video), "--out", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    said = " ".join((done.stdout + done.stderr).split())
    assert "no-speech" in said and "No speech was found" in said
    assert not (tmp_path / "clips.json").exists()
