"""Clip length adapts to the source: >= 10 s of speech gives a clip even under the minimum
length, >= 5 minutes of speech gives at least 4 clips unless the user asked for fewer."""

from __future__ import annotations

import itertools

from cliply.highlights import TfidfEmbedder, detect_highlights
from cliply.highlights.candidates import relaxed_minimums, wanted_clips
from cliply.highlights.sentences import speech_seconds
from cliply.transcribe.models import Transcript
from tests.highlights.builders import build_transcript
from tests.mediagen import TOPIC_SENTENCES

SHORT = [
    "Most people think bread needs a whole day of work.",
    "It does not, you only need flour, water, salt and yeast.",
    "Mix them, wait an hour, and bake it hot for half an hour.",
]


def _long_talk(minutes: float) -> Transcript:
    sentences = [s for topic in TOPIC_SENTENCES for s in topic]
    talk: list[str] = []
    while True:
        t = build_transcript(talk)
        if speech_seconds(t.words()) >= minutes * 60:
            return t
        talk.extend(sentences)


def test_wanted_clips_and_relaxed_minimums() -> None:
    assert wanted_clips(9.9, 10) == 0 and wanted_clips(10.0, 10) == 1
    assert wanted_clips(300.0, 10) == 4 and wanted_clips(300.0, 2) == 2
    assert relaxed_minimums(20.0) == [10.0, 5.0, 1.0]
    assert relaxed_minimums(8.0) == [5.0, 4.0, 1.0]


def test_ten_seconds_of_speech_give_a_clip_under_the_minimum() -> None:
    talk = build_transcript(SHORT)
    assert speech_seconds(talk.words()) >= 10 and talk.duration < 20
    result = detect_highlights(talk, embedder=TfidfEmbedder(), min_s=20, max_s=60)
    assert len(result.highlights) == 1
    clip = result.highlights[0]
    starts = {s.start for s in talk.segments}
    ends = {s.end for s in talk.segments}
    assert clip.start in starts and clip.end in ends and clip.end - clip.start >= 5
    assert any("clips as short as" in n for n in result.notes)


def test_under_ten_seconds_of_speech_gives_none() -> None:
    talk = build_transcript(SHORT[:1])
    assert speech_seconds(talk.words()) < 10
    assert detect_highlights(talk, embedder=TfidfEmbedder()).highlights == []


def test_five_minutes_of_speech_give_at_least_four_clips() -> None:
    talk = _long_talk(5.2)
    # Long clips asked for: only three 120 s windows fit, so shorter ones fill up.
    result = detect_highlights(
        talk, embedder=TfidfEmbedder(), min_s=120, max_s=150, top_k=10, max_overlap=0.0
    )
    assert len(result.highlights) >= 4
    spans = sorted((h.start, h.end) for h in result.highlights)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    scores = [h.score for h in result.highlights]
    assert scores == sorted(scores, reverse=True)
    fewer = detect_highlights(
        talk, embedder=TfidfEmbedder(), min_s=120, max_s=150, top_k=2, max_overlap=0.0
    )
    assert len(fewer.highlights) == 2
