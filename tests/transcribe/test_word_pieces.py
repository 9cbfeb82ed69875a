"""Whole words and readable cues: split hyphenated words and contractions are joined in the
transcript files, sentences/titles and burned captions; cues last at least a second."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from cliply.highlights.ranking import make_title
from cliply.highlights.sentences import clean_words, split_sentences
from cliply.media.captions import TimedWord, min_duration_lines, parse_ass, write_ass
from cliply.transcribe.formats import MIN_CUE_S, Cue, build_cues, min_duration_cues, render
from cliply.transcribe.models import Segment, Transcript, Word, join_word_pieces


def _w(text: str, start: float, end: float) -> Word:
    return Word(text=text, start=start, end=end, confidence=0.9)


@pytest.mark.parametrize(
    "pieces, whole",
    [
        (["cold", "-hearted"], ["cold-hearted"]),
        (["old", "-sposed"], ["old-sposed"]),
        (["cold-", "hearted"], ["cold-hearted"]),
        (["don", "'t"], ["don't"]),
        (["it", "\u2019s"], ["it\u2019s"]),
        (["could", "n't"], ["couldn't"]),
        (["we", "'ll", "see."], ["we'll", "see."]),
        (["well", "-", "maybe"], ["well", "-", "maybe"]),
        (["she", "said", "'Sup"], ["she", "said", "'Sup"]),
        (["end.", "-", "Next"], ["end.", "-", "Next"]),
    ],
)
def test_join_word_pieces(pieces: list[str], whole: list[str]) -> None:
    words = [_w(t, i * 0.3, i * 0.3 + 0.25) for i, t in enumerate(pieces)]
    joined = join_word_pieces(words)
    assert [w.text for w in joined] == whole
    assert joined[0].start == 0.0 and joined[-1].end == words[-1].end


def _hearted() -> Transcript:
    words = [
        _w("He", 0.0, 0.2),
        _w("was", 0.3, 0.5),
        _w("cold", 0.6, 0.9),
        _w("-hearted.", 0.9, 1.4),
        _w("Yes.", 4.0, 4.2),  # alone: would be a 0.2 s cue
        _w("I", 4.3, 4.4),
        _w("don", 4.5, 4.7),
        _w("'t", 4.7, 4.8),
        _w("know.", 4.9, 5.3),
    ]
    return Transcript(
        duration=6.0,
        segments=[
            Segment(start=0.0, end=1.4, text="He was cold-hearted.", words=words[:4]),
            Segment(start=4.0, end=4.2, text="Yes.", words=words[4:5]),
            Segment(start=4.3, end=5.3, text="I don't know.", words=words[5:]),
        ],
    )


@pytest.mark.parametrize("fmt", ["srt", "vtt", "json"])
def test_transcript_files_keep_whole_words(fmt: str) -> None:
    text = render(_hearted(), fmt)
    assert "cold -hearted" not in text and "don 't" not in text
    if fmt != "json":
        assert "cold-hearted." in text and "don't" in text


def test_every_subtitle_cue_lasts_a_second() -> None:
    cues = build_cues(_hearted())
    assert all(c.end - c.start >= MIN_CUE_S - 1e-9 for c in cues), cues
    assert all(a.end <= b.start for a, b in itertools.pairwise(cues))
    # "Yes." has no room before "I don't know." (0.3 s later), so it is merged with it.
    assert [c.text for c in cues] == ["He was cold-hearted.", "Yes. I don't know."]


def test_min_duration_cues_hold_or_merge() -> None:
    held = min_duration_cues([Cue(0, 0.3, "a"), Cue(2, 3, "b")])
    assert held == [Cue(0, 1.0, "a"), Cue(2, 3, "b")]
    merged = min_duration_cues([Cue(0, 2, "a"), Cue(2.1, 2.4, "b")])
    assert merged == [Cue(0, 2.4, "a b")] or merged == [Cue(0, 2, "a"), Cue(2.1, 3.1, "b")]
    assert min_duration_cues([Cue(0, 2, "a"), Cue(2.1, 2.4, "b"), Cue(2.6, 4, "c")]) == [
        Cue(0, 2, "a"),
        Cue(2.1, 4, "b c"),
    ]


def test_sentences_and_titles_use_whole_words() -> None:
    words = clean_words(_hearted().words())
    sentences = split_sentences(words)
    assert sentences[0].text == "He was cold-hearted."
    assert make_title(sentences[:1]) == "He was cold-hearted"


def test_burned_captions_keep_whole_words_and_last_a_second(tmp_path: Path) -> None:
    ass = write_ass(_hearted().words(), tmp_path / "c.ass", clip_start=0.0, clip_end=6.0)
    events = parse_ass(ass).events
    text = " ".join(e.plain.lower() for e in events)
    assert "cold-hearted" in text and "don't" in text and "cold -hearted" not in text
    shown: dict[str, list[float]] = {}  # each caption line: when it is first and last shown
    for e in events:
        span = shown.setdefault(e.plain, [e.start, e.end])
        span[:] = [min(span[0], e.start), max(span[1], e.end)]
    assert len(shown) == 2 and all(b - a >= MIN_CUE_S for a, b in shown.values()), shown
    lines = min_duration_lines(
        [[TimedWord("Yes.", 4.0, 4.2)], [TimedWord("I", 4.3, 4.4)], [TimedWord("ok", 5.5, 5.8)]],
        7.0,
    )
    assert [[w.text for w in line] for line in lines] == [["Yes.", "I"], ["ok"]]
    # Too close to the clip's end to stay up a second: joins the line before it.
    lines = min_duration_lines([[TimedWord("a", 1.0, 3.0)], [TimedWord("b", 5.5, 5.8)]], 6.0)
    assert [[w.text for w in line] for line in lines] == [["a", "b"]]
