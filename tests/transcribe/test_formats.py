from __future__ import annotations

import itertools
import re

import pytest

from cliply.transcribe.base import TranscriptionError
from cliply.transcribe.formats import (
    build_cues,
    format_timestamp,
    from_json,
    render,
    sentences,
    to_json,
    to_srt,
    to_vtt,
)
from cliply.transcribe.models import Segment, Transcript, Word


def seg(words: list[tuple[str, float, float]]) -> Segment:
    ws = [Word(text=t, start=s, end=e) for t, s, e in words]
    return Segment(start=ws[0].start, end=ws[-1].end, text=" ".join(w.text for w in ws), words=ws)


SAMPLE = Transcript(
    duration=12.0,
    engine="local",
    segments=[
        seg([("Hello", 0.5, 0.9), ("there.", 0.9, 1.4), ("How", 1.8, 2.0), ("are", 2.0, 2.2)]),
        seg(
            [
                ("you?", 2.2, 2.6),
                ("Dr.", 3.0, 3.3),
                ("Who", 3.3, 3.6),
                ("&", 3.6, 3.7),
                ("<friends>", 3.7, 4.2),
                ("agree!", 4.2, 4.8),
            ]
        ),
        seg([("Trailing", 6.0, 6.5), ("words", 6.5, 7.0)]),
    ],
)


@pytest.mark.parametrize(
    ("seconds", "srt", "vtt"),
    [
        (0, "00:00:00,000", "00:00:00.000"),
        (1.5, "00:00:01,500", "00:00:01.500"),
        (59.9996, "00:01:00,000", "00:01:00.000"),
        (3661.2345, "01:01:01,234", "01:01:01.234"),
        (36000.001, "10:00:00,001", "10:00:00.001"),
        (-2, "00:00:00,000", "00:00:00.000"),
    ],
)
def test_timestamps(seconds: float, srt: str, vtt: str) -> None:
    assert format_timestamp(seconds) == srt
    assert format_timestamp(seconds, separator=".") == vtt


def test_sentences_follow_punctuation_across_segments() -> None:
    out = sentences(SAMPLE)
    assert [s.text for s in out] == [
        "Hello there.",
        "How are you?",
        "Dr. Who & <friends> agree!",
        "Trailing words",
    ]
    how = out[1]
    assert (how.start, how.end) == (1.8, 2.6)
    assert [w.text for w in how.words] == ["How", "are", "you?"]
    assert out[2].start == 3.0 and out[2].end == 4.8


def test_sentences_without_punctuation_use_segments() -> None:
    bare = Transcript(segments=[seg([("one", 0, 1), ("two", 1, 2)]), seg([("three", 3, 4)])])
    assert [s.text for s in sentences(bare)] == ["one two", "three"]


def test_sentences_split_on_long_pauses_when_asked() -> None:
    t = Transcript(segments=[seg([("a", 0, 1), ("b", 1, 2), ("c.", 5, 6)])])
    assert [s.text for s in sentences(t)] == ["a b c."]
    assert [s.text for s in sentences(t, max_gap=2.0)] == ["a b", "c."]


def test_sentences_from_segments_without_words() -> None:
    t = Transcript(segments=[Segment(start=0, end=2, text=" Hi there. ")])
    assert [(s.start, s.end, s.text) for s in sentences(t)] == [(0, 2, "Hi there.")]


CUE = re.compile(
    r"^(\d+)\n(\d{2}:\d{2}:\d{2},\d{3}) --> (\d{2}:\d{2}:\d{2},\d{3})\n((?:.+\n?){1,2})$"
)


def test_srt_structure() -> None:
    srt = to_srt(SAMPLE)
    blocks = srt.strip("\n").split("\n\n")
    assert len(blocks) == 3
    for i, block in enumerate(blocks, start=1):
        m = CUE.match(block)
        assert m, block
        assert int(m.group(1)) == i
        assert m.group(2) < m.group(3)
    assert blocks[0].split("\n")[1] == "00:00:00,500 --> 00:00:02,200"
    assert "<friends>" in srt  # SRT is not escaped


def test_vtt_structure_and_escaping() -> None:
    vtt = to_vtt(SAMPLE)
    assert vtt.startswith("WEBVTT\n\n")
    cues = vtt.removeprefix("WEBVTT\n\n").strip("\n").split("\n\n")
    assert len(cues) == 3
    assert cues[1].split("\n")[0] == "00:00:02.200 --> 00:00:04.800"
    assert "&amp; &lt;friends&gt;" in cues[1]
    assert all(
        re.match(r"^\d{2}:\d{2}:\d{2}\.\d{3} --> \d{2}:\d{2}:\d{2}\.\d{3}$", c.split("\n")[0])
        for c in cues
    )


def test_long_segments_are_split_into_short_cues() -> None:
    words = [(f"word{i}", i * 0.4, i * 0.4 + 0.35) for i in range(60)]  # 24 s, ~400 chars
    t = Transcript(segments=[seg(words)])
    cues = build_cues(t, max_chars=84, max_duration=7.0)
    assert len(cues) >= 5
    assert all(len(c.text) <= 84 and c.end - c.start <= 7.0 for c in cues)
    assert " ".join(c.text for c in cues) == t.segments[0].text
    assert all(a.end <= b.start for a, b in itertools.pairwise(cues))
    for line_block in to_srt(t).strip().split("\n\n"):
        text_lines = line_block.split("\n")[2:]
        assert 1 <= len(text_lines) <= 2 and all(len(x) <= 42 for x in text_lines)


def test_long_segment_without_words_is_split_by_text() -> None:
    text = " ".join(["lorem ipsum dolor sit amet"] * 10)
    t = Transcript(segments=[Segment(start=10, end=30, text=text)])
    cues = build_cues(t)
    assert len(cues) >= 3
    assert cues[0].start == 10 and cues[-1].end == pytest.approx(30)
    assert " ".join(c.text for c in cues) == text


def test_json_round_trip_and_errors() -> None:
    again = from_json(to_json(SAMPLE))
    assert again == SAMPLE
    assert render(SAMPLE, "json") == to_json(SAMPLE)
    assert render(SAMPLE, "vtt").startswith("WEBVTT")
    with pytest.raises(TranscriptionError) as err:
        from_json(b'{"segments": "nope"}')
    assert err.value.code == "invalid-transcript-json"
    with pytest.raises(TranscriptionError):
        render(SAMPLE, "docx")
