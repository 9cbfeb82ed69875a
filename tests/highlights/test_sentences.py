from __future__ import annotations

import itertools

import pytest

from cliply.highlights.sentences import ends_sentence, split_sentences
from cliply.transcribe.models import Word


def words(spec: list[tuple[str, float]], dur: float = 0.3) -> list[Word]:
    return [Word(text=t, start=s, end=s + dur) for t, s in spec]


def test_splits_on_terminal_punctuation_and_keeps_words_whole() -> None:
    ws = words(
        [
            ("Is", 0.0),
            ("it", 0.4),
            ("true?", 0.8),
            ("Yes!", 1.2),
            ("Dr.", 1.6),
            ("Smith", 2.0),
            ("agrees.", 2.4),
            ("Fine", 2.8),
        ]
    )
    sents = split_sentences(ws)
    assert [s.text for s in sents] == ["Is it true?", "Yes!", "Dr. Smith agrees.", "Fine"]
    assert [s.terminal for s in sents] == [True, True, True, False]
    # Contiguous word ranges that cover every word: no word is ever cut or lost.
    assert sents[0].word_start == 0 and sents[-1].word_end == len(ws)
    for a, b in itertools.pairwise(sents):
        assert a.word_end == b.word_start
    assert (sents[2].start, sents[2].end) == pytest.approx((1.6, 2.7))


def test_long_pause_splits_unpunctuated_speech() -> None:
    ws = words(
        [("so", 0.0), ("we", 0.4), ("waited", 0.8), ("then", 3.0), ("it", 3.4), ("rained", 3.8)]
    )
    sents = split_sentences(ws, pause_s=1.0)
    assert [s.text for s in sents] == ["so we waited", "then it rained"]
    assert not any(s.terminal for s in sents)


def test_overlong_sentence_is_cut_at_its_widest_pause() -> None:
    spec = [(f"w{i}", i * 0.4) for i in range(100)]  # 40 s without punctuation or pauses
    spec = [(t, s + (0.6 if i >= 60 else 0.0)) for i, (t, s) in enumerate(spec)]
    sents = split_sentences(words(spec), pause_s=5.0, max_sentence_s=30.0)
    assert all(s.duration <= 30.0 for s in sents)
    assert sents[0].word_end == 60  # the 0.7 s gap, not an arbitrary word
    assert sum(s.n_words for s in sents) == 100


def test_cleaning_drops_blank_words_and_strips_whisper_spaces() -> None:
    ws = [
        Word(text=" Hello", start=0.0, end=0.3),
        Word(text=" ", start=0.3, end=0.4),
        Word(text=" world.", start=0.5, end=0.4),
    ]
    (s,) = split_sentences(ws)
    assert s.text == "Hello world."
    assert s.end >= s.start


def test_ends_sentence_handles_quotes_and_initials() -> None:
    assert ends_sentence('done."')
    assert ends_sentence("right?)")
    assert not ends_sentence("J.")
    assert not ends_sentence("e.g.")
    assert not ends_sentence("hello,")
