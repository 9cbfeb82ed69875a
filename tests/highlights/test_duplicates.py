"""Near-duplicate clips are suppressed: shingled-word Jaccard over the clips' text, and the
same opening sentence twice."""

from __future__ import annotations

import itertools

from cliply.highlights import TfidfEmbedder, detect_highlights
from cliply.highlights.candidates import Candidate
from cliply.highlights.ranking import DUPLICATE_JACCARD, jaccard, shingles, suppress_overlaps
from cliply.highlights.scoring import ScoredCandidate
from tests.highlights.builders import build_transcript
from tests.mediagen import TOPIC_SENTENCES

REPEATED = "Ask not what your country can do for you, ask what you can do for your country."


def _scored(first: int, last: int, start: float, end: float, score: float) -> ScoredCandidate:
    return ScoredCandidate(Candidate(first, last, start, end, None, 1.0), score, [])


def test_shingle_jaccard() -> None:
    a = shingles("The quick brown fox jumps over the lazy dog.")
    assert jaccard(a, shingles("the QUICK brown fox, jumps over the lazy dog")) == 1.0
    assert jaccard(a, shingles("Bread needs flour, water and salt.")) == 0.0
    assert 0 < jaccard(a, shingles("The quick brown fox sleeps all day.")) < DUPLICATE_JACCARD


def test_windows_opening_with_the_same_sentence_are_not_both_kept() -> None:
    texts = [
        REPEATED,
        "Then he talked about the moon and the decade ahead.",
        "Hello, hello, I did not know you were on the line.",
        REPEATED,
        "Bread needs only flour, water, salt and some patience.",
        "The oven should be as hot as it can get.",
    ]
    first = _scored(0, 2, 0, 30, 90)
    again = _scored(3, 5, 40, 70, 85)  # no shared time, but the same opening line
    other = _scored(4, 5, 50, 70, 60)
    kept = suppress_overlaps([first, again, other], max_overlap=1.0, top_k=5)
    assert len(kept) == 3  # without texts only time is compared
    kept = suppress_overlaps([first, again, other], max_overlap=1.0, top_k=5, sentence_texts=texts)
    assert [k.score for k in kept] == [90, 60]


def test_a_repeated_passage_gives_one_clip() -> None:
    block = TOPIC_SENTENCES[0]
    talk = build_transcript(block + TOPIC_SENTENCES[1] + block + TOPIC_SENTENCES[2])
    result = detect_highlights(
        talk, embedder=TfidfEmbedder(), min_s=8, max_s=20, top_k=10, max_overlap=0.0
    )
    assert len(result.highlights) >= 3
    for a, b in itertools.combinations(result.highlights, 2):
        assert jaccard(shingles(a.text), shingles(b.text)) < DUPLICATE_JACCARD, (a.text, b.text)
