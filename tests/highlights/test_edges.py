"""Clip edges at the acoustic onset/offset of speech, on synthesized speech whose onsets are
measured from the audio, with Whisper-like word times that start late and end early."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from cliply.highlights.edges import LEAD_IN_S, LEAD_OUT_S, speech_edges
from cliply.transcribe.models import Word
from tests import mediagen

SENTENCES = [
    "Bread rises because yeast breathes out carbon dioxide.",
    "Keep the dough warm for an hour.",
    "Then bake it until the crust is brown.",
]


@pytest.fixture(scope="module")
def talk(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[float, float]]]:
    """The WAV and, per sentence, where the voice really starts and stops."""
    wav, timeline = mediagen.talk_audio(tmp_path_factory.mktemp("edges"), SENTENCES, gap=0.8)
    with wave.open(str(wav), "rb") as w:
        rate = w.getframerate()
        x = np.abs(np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(float))
    threshold = 0.03 * x.max()
    spans = []
    for start, end, _ in timeline:
        loud = np.flatnonzero(x[int(start * rate) : int(end * rate)] > threshold)
        spans.append((start + loud[0] / rate, start + (loud[-1] + 1) / rate))
    return wav, spans


def _whisper_like(spans: list[tuple[float, float]], late: float, early: float) -> list[Word]:
    """Two words per sentence: the first starting `late` after the voice, the last ending
    `early` before it stops (what Whisper does to quiet first and last syllables)."""
    words = []
    for on, off in spans:
        mid = (on + off) / 2
        words.append(Word(text="first", start=round(max(0.0, on + late), 3), end=round(mid, 3)))
        words.append(Word(text="last.", start=round(mid + 0.05, 3), end=round(off - early, 3)))
    return words


@pytest.mark.parametrize("late, early", [(0.25, 0.2), (0.1, 0.0), (-0.1, -0.1)])
def test_edges_sit_at_the_voice_with_a_short_lead(
    talk: tuple[Path, list[tuple[float, float]]], late: float, early: float
) -> None:
    wav, spans = talk
    words = _whisper_like(spans, late, early)
    for k, (on, off) in enumerate(spans):
        if k == 0:
            continue  # the talk opens with its voice: no room for a lead-in
        first, last = words[2 * k], words[2 * k + 1]
        edges = speech_edges(wav, words, first.start, last.end)
        # The first syllable is in: the clip starts before the voice, by about the lead-in.
        assert on - LEAD_IN_S - 0.06 <= edges.start <= on - 0.03, (k, edges, on)
        assert off + 0.03 <= edges.end <= off + LEAD_OUT_S + 0.06, (k, edges, off)
        assert edges.onset is not None and abs(edges.onset - on) <= 0.04
        assert edges.offset is not None and abs(edges.offset - off) <= 0.06


def test_edges_never_reach_into_a_neighbouring_word(
    talk: tuple[Path, list[tuple[float, float]]],
) -> None:
    wav, spans = talk
    on, off = spans[1]
    before = Word(text="said", start=on - 0.5, end=on - 0.04)  # ends just before the voice
    after = Word(text="next", start=off + 0.05, end=off + 0.5)
    words = [before, Word(text="a", start=on + 0.2, end=off - 0.2), after]
    edges = speech_edges(wav, words, on + 0.2, off - 0.2)
    assert before.end < edges.start <= on
    assert off <= edges.end < after.start


def test_silence_keeps_the_word_times(tmp_path: Path) -> None:
    wav = mediagen.silence_wav(tmp_path / "quiet.wav", 5.0)
    words = [Word(text="hm", start=2.0, end=2.5)]
    edges = speech_edges(wav, words, 2.0, 2.5)
    assert edges.start <= 2.0 and edges.end >= 2.5
