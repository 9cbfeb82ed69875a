from __future__ import annotations

import pytest

from cliply.highlights.analysis import analyse_transcript
from cliply.highlights.candidates import Candidate, generate_candidates
from cliply.highlights.embeddings import TfidfEmbedder
from cliply.highlights.scoring import DEFAULT_WEIGHTS, score_candidate
from tests.highlights.builders import build_transcript
from tests.highlights.topics import topic_talk

STORY = [
    "Our town has a small bakery on the main street.",
    "In two thousand eight I bought shares of a small local bank.",
    "But the bank collapsed three weeks later and I lost my savings.",
    "I had put my whole savings into that one company.",
    "The lesson is simple, never invest money you cannot afford to lose.",
    "Spread your savings across many companies and wait.",
]


def window(analysis, first: int, last: int) -> Candidate:
    (c,) = [
        c
        for c in generate_candidates(
            analysis.sentences, analysis.segmentation.sentence_segment, min_s=1, max_s=120
        )
        if (c.first, c.last) == (first, last)
    ]
    return c


@pytest.fixture
def story():
    return analyse_transcript(build_transcript(STORY), embedder=TfidfEmbedder())


def test_dangling_connective_opening_scores_lower_than_one_sentence_earlier(story) -> None:
    earlier = score_candidate(story.profile, window(story, 1, 5))
    dangling = score_candidate(story.profile, window(story, 2, 5))
    assert dangling.score < earlier.score
    reasons = {r.name: r for r in dangling.reasons}
    assert "opens mid-thought with 'but'" in reasons["self_contained"].reason
    assert (
        reasons["self_contained"].points
        < {r.name: r for r in earlier.reasons}["self_contained"].points
    )


def test_unresolved_pronoun_opening_is_penalised(story) -> None:
    clean = score_candidate(story.profile, window(story, 1, 4))
    assert {r.name: r for r in clean.reasons}["self_contained"].value == 1.0
    talk = analyse_transcript(
        build_transcript(["They said the bridge would never open.", *STORY[1:]]),
        embedder=TfidfEmbedder(),
    )
    they = score_candidate(talk.profile, window(talk, 0, 3))
    r = {x.name: x for x in they.reasons}["self_contained"]
    assert r.value is not None and r.value < 1.0
    assert "opens with 'they'" in r.reason


def test_reasons_sum_to_score_and_weights_to_one(story) -> None:
    for c in generate_candidates(story.sentences, story.segmentation.sentence_segment, min_s=5):
        scored = score_candidate(story.profile, c)
        assert 0.0 <= scored.score <= 100.0
        assert sum(r.points for r in scored.reasons) == pytest.approx(scored.score, abs=1e-6)
        available = [r for r in scored.reasons if r.available]
        assert sum(r.weight for r in available) == pytest.approx(1.0, abs=1e-3)
        for r in scored.reasons:
            assert r.reason
            if r.available:
                assert r.value is not None and 0.0 <= r.value <= 1.0
                assert r.points == pytest.approx(100 * r.weight * r.value, abs=0.02)


def test_audio_features_are_reported_unavailable_not_faked(story) -> None:
    scored = score_candidate(story.profile, window(story, 1, 5))
    by_name = {r.name: r for r in scored.reasons}
    assert set(by_name) == set(DEFAULT_WEIGHTS)
    for name in ("speech_energy", "laughter_applause"):
        r = by_name[name]
        assert not r.available and r.value is None and r.points == 0 and r.weight == 0
        assert "not available" in r.reason
    assert by_name["pace"].available


def test_hook_rewards_question_number_and_direct_address() -> None:
    talk = analyse_transcript(
        build_transcript(
            [
                "Did you know that ninety percent of startups fail in the first year?",
                "Many founders believe the product is what matters most.",
                "The weather was mild and the office was quiet.",
                "Many founders believe the product is what matters most.",
            ]
        ),
        embedder=TfidfEmbedder(),
    )
    hooky = {r.name: r for r in score_candidate(talk.profile, window(talk, 0, 1)).reasons}["hook"]
    flat = {r.name: r for r in score_candidate(talk.profile, window(talk, 2, 3)).reasons}["hook"]
    assert hooky.value is not None and flat.value is not None
    assert hooky.value > flat.value
    for signal in ("asks a question", "has a number", "addresses the viewer"):
        assert signal in hooky.reason
    assert flat.value == 0.0


def test_unknown_weight_is_rejected(story) -> None:
    with pytest.raises(ValueError, match="unknown feature"):
        score_candidate(story.profile, window(story, 1, 5), {"virality": 1.0})


def test_windows_spanning_topics_are_less_coherent() -> None:
    talk = analyse_transcript(topic_talk(), embedder=TfidfEmbedder())
    cands = generate_candidates(talk.sentences, talk.segmentation.sentence_segment)
    inside = [c for c in cands if c.purity == 1.0]
    across = [c for c in cands if c.purity < 0.6]
    assert inside and across

    def coherence(c: Candidate) -> float:
        r = {x.name: x for x in score_candidate(talk.profile, c).reasons}["coherence"]
        assert r.value is not None
        return r.value

    assert min(map(coherence, inside)) > max(map(coherence, across))
