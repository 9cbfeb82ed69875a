from __future__ import annotations

import pytest

from cliply.highlights import (
    HighlightError,
    InvalidHighlightParams,
    TfidfEmbedder,
    detect_highlights,
)
from cliply.highlights.candidates import PLATFORM_MAX_S, Candidate, generate_candidates
from cliply.highlights.ranking import make_title, overlap_fraction, suppress_overlaps
from cliply.highlights.scoring import ScoredCandidate
from cliply.highlights.sentences import split_sentences
from cliply.transcribe.models import Transcript
from tests.highlights.builders import build_transcript, sentence_times
from tests.highlights.topics import topic_talk


def test_candidates_fit_length_and_sentence_boundaries() -> None:
    talk = topic_talk()
    sentences = split_sentences(talk.words())
    starts, ends = sentence_times(talk)
    cands = generate_candidates(sentences, min_s=20, max_s=40)
    assert cands
    for c in cands:
        assert 20 <= c.duration <= 40
        assert c.start in starts and c.end in ends
    # Every fitting window is there: one starting at each sentence that has room for one.
    assert {c.first for c in cands} >= {0, 1, 2}


def test_platform_cap_limits_the_length() -> None:
    sentences = split_sentences(topic_talk().words())
    capped = generate_candidates(sentences, min_s=10, max_s=600, platform_max_s=25)
    assert capped and max(c.duration for c in capped) <= 25
    assert PLATFORM_MAX_S["youtube_shorts"] == 180.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_s": 70, "max_s": 60},
        {"min_s": -1, "max_s": 60},
        {"min_s": 30, "max_s": 60, "platform_max_s": 20},
        {"top_k": 0},
        {"max_overlap": 1.5},
        {"weights": {"virality": 1.0}},
        {"weights": {"hook": -1.0}},
    ],
)
def test_impossible_parameters_raise_a_typed_error(kwargs) -> None:
    with pytest.raises(InvalidHighlightParams) as info:
        detect_highlights(topic_talk(), embedder=TfidfEmbedder(), **kwargs)
    assert info.value.code == "invalid-highlight-params"
    assert isinstance(info.value, HighlightError) and info.value.message


@pytest.mark.parametrize("max_overlap", [0.0, 0.3, 0.6])
def test_detected_clips_sit_on_sentence_boundaries_and_respect_overlap(max_overlap) -> None:
    talk = topic_talk()
    starts, ends = sentence_times(talk)
    result = detect_highlights(talk, embedder=TfidfEmbedder(), top_k=8, max_overlap=max_overlap)
    hs = result.highlights
    assert 1 <= len(hs) <= 8
    for h in hs:
        assert h.start in starts and h.end in ends
        assert 20 <= h.end - h.start <= 60
        assert h.title and len(h.title) <= 70
        assert h.hashtags and all(t.startswith("#") and t[1:].isalpha() for t in h.hashtags)
        assert sum(r.points for r in h.reasons) == pytest.approx(h.score, abs=1e-6)
        assert (
            h.text.split()[0] == talk.words()[[w.start for w in talk.words()].index(h.start)].text
        )
    for i, a in enumerate(hs):
        for b in hs[i + 1 :]:
            shared = min(a.end, b.end) - max(a.start, b.start)
            shorter = min(a.end - a.start, b.end - b.start)
            assert shared / shorter <= max_overlap + 1e-9
    assert [h.score for h in hs] == sorted((h.score for h in hs), reverse=True)


def test_best_clips_stay_in_one_topic_and_are_labelled() -> None:
    result = detect_highlights(topic_talk(), embedder=TfidfEmbedder(), top_k=3, max_overlap=0.0)
    assert result.embedder_name == "tfidf"
    assert any("TF-IDF fallback" in n for n in result.notes)
    assert len(result.segments) == 3
    assert {"dough", "yeast"} & set(result.segments[0].keywords)
    for h in result.highlights:
        seg = result.segments[h.segment_id]
        assert seg.start <= h.start and h.end <= seg.end
    # The bread clip opens on the question, and the title says so.
    bread = next(h for h in result.highlights if h.segment_id == 0)
    assert bread.title == "Have you ever wondered why bread rises in the oven?"
    assert {"#bread", "#yeast", "#dough"} & set(bread.hashtags)


def test_empty_and_too_short_transcripts_give_empty_results() -> None:
    empty = detect_highlights(Transcript(), embedder=TfidfEmbedder())
    assert empty.highlights == [] and "transcript has no words" in empty.notes
    short = detect_highlights(
        build_transcript(["Hello there.", "Bye now."]), embedder=TfidfEmbedder()
    )
    assert short.highlights == []
    assert any("between 20 and 60 s" in n for n in short.notes)


def _scored(start: float, end: float, score: float) -> ScoredCandidate:
    return ScoredCandidate(Candidate(0, 0, start, end, None, 1.0), score, [])


def test_overlap_suppression_keeps_the_best_and_drops_near_duplicates() -> None:
    a, b, c, d = _scored(0, 30, 90), _scored(5, 35, 80), _scored(30, 60, 70), _scored(25, 55, 60)
    assert overlap_fraction(a.candidate, b.candidate) == pytest.approx(25 / 30)
    assert overlap_fraction(a.candidate, c.candidate) == 0.0
    kept = suppress_overlaps([d, c, b, a], max_overlap=0.2, top_k=10)
    assert [k.score for k in kept] == [90, 70]
    assert [k.score for k in suppress_overlaps([d, c, b, a], max_overlap=1.0, top_k=3)] == [
        90,
        80,
        70,
    ]


def test_title_drops_dangling_opener_and_trims_at_a_word() -> None:
    sentences = split_sentences(
        build_transcript(
            [
                "But the real secret of great sourdough is patience and a very long "
                "cold fermentation in the fridge."
            ]
        ).words()
    )
    title = make_title(sentences)
    assert title.startswith("The real secret")
    assert len(title) <= 70 and title.endswith("…")
    assert not title[:-1].endswith(" ")


class BrokenEmbedder:
    """An embedder whose model fails at run time (e.g. a corrupt optional install)."""

    name = "broken-model"

    def embed(self, texts):
        raise RuntimeError("model weights missing")


def test_failing_embedder_falls_back_to_tfidf() -> None:
    result = detect_highlights(topic_talk(), embedder=BrokenEmbedder(), top_k=2)
    assert result.embedder_name == "tfidf"
    assert any("broken-model failed" in n for n in result.notes)
    assert len(result.highlights) == 2 and len(result.segments) == 3


def test_result_round_trips_through_json() -> None:
    from cliply.highlights import HighlightResult

    result = detect_highlights(topic_talk(), embedder=TfidfEmbedder(), top_k=3)
    again = HighlightResult.model_validate_json(result.model_dump_json())
    assert again == result
