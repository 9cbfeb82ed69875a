from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from cliply.highlights import AudioReadError, TfidfEmbedder, detect_highlights
from cliply.highlights.analysis import analyse_transcript
from cliply.highlights.audio import analyse_wav
from cliply.highlights.candidates import generate_candidates
from cliply.highlights.scoring import score_candidate
from cliply.transcribe.models import Transcript
from tests.highlights.topics import topic_talk

RATE = 16_000


def write_wav(path: Path, samples: np.ndarray, *, rate: int = RATE, channels: int = 1) -> Path:
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return path


def voiced(seconds: float, amp: float, rng: np.random.Generator) -> np.ndarray:
    """Speech-like: a 140 Hz harmonic series with a syllable-rate wobble (not noise-like)."""
    t = np.arange(int(seconds * RATE)) / RATE
    tone = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 12))
    wobble = 0.6 + 0.4 * np.sin(2 * np.pi * 4 * t)
    return amp * tone * wobble / 2.5 + 0.002 * rng.standard_normal(t.size)


def render_talk(
    transcript: Transcript,
    *,
    burst: tuple[float, float] | None = None,
    loud: tuple[float, float] | None = None,
) -> np.ndarray:
    """Voiced sound where the transcript has words, a noise burst (applause) where asked."""
    rng = np.random.default_rng(7)
    out = 0.001 * rng.standard_normal(int((transcript.duration + 1) * RATE))
    for w in transcript.words():
        a, b = int(w.start * RATE), int(w.end * RATE)
        amp = 0.6 if loud and loud[0] <= w.start < loud[1] else 0.2
        out[a:b] = voiced((b - a) / RATE, amp, rng)
    if burst:
        a, b = int(burst[0] * RATE), int(burst[1] * RATE)
        out[a:b] = 0.3 * rng.standard_normal(b - a)
    return out


def test_noise_burst_is_found_and_speech_is_not(tmp_path: Path) -> None:
    talk = topic_talk()
    wav = write_wav(tmp_path / "talk.wav", render_talk(talk, burst=(60.0, 62.0)))
    audio = analyse_wav(wav)
    assert len(audio.bursts) == 1
    start, end = audio.bursts[0]
    assert start == pytest.approx(60.0, abs=0.1) and end == pytest.approx(62.0, abs=0.1)
    assert audio.duration == pytest.approx(talk.duration + 1, abs=0.1)
    assert audio.window(59.0, 63.0).burst_seconds == pytest.approx(2.0, abs=0.2)
    assert audio.window(0.0, 30.0).burst_count == 0


def test_stereo_and_other_rates_are_mixed_down(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    mono = np.concatenate(
        [voiced(1.0, 0.3, rng), 0.3 * rng.standard_normal(RATE), voiced(1.0, 0.3, rng)]
    )
    stereo = np.repeat(mono, 2)
    audio = analyse_wav(write_wav(tmp_path / "st.wav", stereo, channels=2))
    assert [(round(a), round(b)) for a, b in audio.bursts] == [(1, 2)]
    audio_8k = analyse_wav(write_wav(tmp_path / "8k.wav", mono, rate=8000))
    assert audio_8k.duration == pytest.approx(6.0, abs=0.1)


def test_unreadable_audio_raises_typed_error(tmp_path: Path) -> None:
    garbage = tmp_path / "x.wav"
    garbage.write_bytes(b"not a wav at all")
    for path in (garbage, tmp_path / "missing.wav"):
        with pytest.raises(AudioReadError) as info:
            analyse_wav(path)
        assert info.value.code == "audio-unreadable"
    with wave.open(str(tmp_path / "24.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(3)
        w.setframerate(RATE)
        w.writeframes(b"\x00" * 3000)
    with pytest.raises(AudioReadError, match="24-bit"):
        analyse_wav(tmp_path / "24.wav")


def test_audio_features_score_reaction_and_energy(tmp_path: Path) -> None:
    talk = topic_talk()
    third_topic = talk.segments[16].start
    wav = write_wav(
        tmp_path / "talk.wav",
        render_talk(talk, burst=(third_topic + 20.0, third_topic + 22.0), loud=(44.0, 80.0)),
    )
    analysis = analyse_transcript(talk, embedder=TfidfEmbedder(), wav_path=wav)
    cands = generate_candidates(analysis.sentences, analysis.segmentation.sentence_segment)

    def reasons(c):
        return {r.name: r for r in score_candidate(analysis.profile, c).reasons}

    with_burst = [c for c in cands if c.start <= third_topic + 20.0 and c.end >= third_topic + 22.0]
    far = [c for c in cands if c.end < 40.0]
    assert with_burst and far
    for c in with_burst:
        r = reasons(c)["laughter_applause"]
        assert r.available and r.value is not None and r.value > 0.5
        assert "laughter/applause" in r.reason
    for c in far:
        assert reasons(c)["laughter_applause"].value == 0.0
    # The money topic (44-80 s) was said louder than the rest.
    loud = [c for c in cands if c.start >= 44.0 and c.end <= 80.0]
    quiet = [c for c in cands if c.end < 44.0]
    energy = lambda c: reasons(c)["speech_energy"].value  # noqa: E731
    assert min(map(energy, loud)) > max(map(energy, quiet))

    result = detect_highlights(talk, embedder=TfidfEmbedder(), wav_path=wav, top_k=3)
    for h in result.highlights:
        names = {r.name: r for r in h.reasons}
        assert names["speech_energy"].available and names["laughter_applause"].available
        assert sum(r.points for r in h.reasons) == pytest.approx(h.score, abs=1e-6)
    assert not any("no audio" in n for n in result.notes)
