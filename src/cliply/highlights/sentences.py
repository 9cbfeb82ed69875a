"""Sentences from word-timed transcripts: split on . ? ! and long pauses, never mid-word."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from cliply.transcribe.models import Word, join_word_pieces

# Closing quotes/brackets may follow the terminal mark ("...done." or 'right?)').
_TRAILING_CLOSERS = "\"')]}»\u201d\u2019\u300d\u300f"
# Latin, CJK full-width, Arabic and Devanagari (danda) sentence ends.
_TERMINALS = (
    ".",
    "?",
    "!",
    "…",
    "\u3002",
    "\uff1f",
    "\uff01",
    "\u061f",
    "\u06d4",
    "\u0964",
    "\u0965",
)
# A period after these is an abbreviation, not the end of a sentence.
_ABBREVIATIONS = frozenset(
    {"mr.", "mrs.", "ms.", "dr.", "prof.", "st.", "vs.", "etc.", "e.g.", "i.e.", "jr.", "sr."}
)


@dataclass(frozen=True, slots=True)
class Sentence:
    index: int
    start: float
    end: float
    text: str
    # Half-open range into the cleaned word list the sentence was built from.
    word_start: int
    word_end: int
    # True when the sentence ends with . ? ! rather than being cut at a pause.
    terminal: bool

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def n_words(self) -> int:
        return self.word_end - self.word_start


def clean_words(words: Sequence[Word]) -> list[Word]:
    """Drop empty words, strip whitespace, sort by time, make every end >= start and join
    split words ("cold" + "-hearted")."""
    out: list[Word] = []
    for w in join_word_pieces(sorted(words, key=lambda w: (w.start, w.end))):
        text = w.text.strip()
        if not text:
            continue
        out.append(w.model_copy(update={"text": text, "end": max(w.end, w.start)}))
    return out


# Whisper writes these for music and noise; they are not speech.
_NON_SPEECH = re.compile(r"^[\W_]*$|^[\[(♪*].*[\])♪*]$")


def spoken_words(words: Sequence[Word]) -> list[Word]:
    """The words that are speech: no "[Music]", "(applause)", "♪" or bare punctuation."""
    return [w for w in words if not _NON_SPEECH.match(w.text.strip())]


def speech_seconds(words: Sequence[Word]) -> float:
    """Seconds covered by spoken words (overlaps counted once)."""
    total, reach = 0.0, 0.0
    for w in sorted(spoken_words(words), key=lambda w: w.start):
        start = max(w.start, reach)
        if w.end > start:
            total += w.end - start
        reach = max(reach, w.end)
    return round(total, 3)


def ends_sentence(text: str) -> bool:
    """Whether a word closes a sentence with terminal punctuation."""
    core = text.rstrip(_TRAILING_CLOSERS)
    if not core.endswith(_TERMINALS):
        return False
    lowered = core.lower()
    if lowered in _ABBREVIATIONS:
        return False
    # A single capital initial ("J.") is part of a name.
    return not (len(core) == 2 and core[0].isalpha() and core[0].isupper() and core[1] == ".")


def split_sentences(
    words: Sequence[Word], *, pause_s: float = 1.0, max_sentence_s: float = 30.0
) -> list[Sentence]:
    """Group words into sentences.

    A sentence ends after a word with terminal punctuation, or before a silence of at least
    `pause_s` (transcripts without punctuation still get boundaries). A sentence longer than
    `max_sentence_s` is cut at its longest inner pause, so clip windows can always be
    assembled from sentences. Cuts only ever fall between words.
    """
    cleaned = clean_words(words)
    spans: list[tuple[int, int, bool]] = []
    begin = 0
    for i, w in enumerate(cleaned):
        last = i == len(cleaned) - 1
        terminal = ends_sentence(w.text)
        long_pause = not last and cleaned[i + 1].start - w.end >= pause_s
        if terminal or long_pause or last:
            spans.append((begin, i + 1, terminal))
            begin = i + 1

    bounded: list[tuple[int, int, bool]] = []
    for span in spans:
        bounded.extend(_cut_long(cleaned, span, max_sentence_s))

    return [
        Sentence(
            index=k,
            start=cleaned[a].start,
            end=cleaned[b - 1].end,
            text=" ".join(w.text for w in cleaned[a:b]),
            word_start=a,
            word_end=b,
            terminal=terminal,
        )
        for k, (a, b, terminal) in enumerate(bounded)
    ]


def _cut_long(
    words: Sequence[Word], span: tuple[int, int, bool], max_s: float
) -> list[tuple[int, int, bool]]:
    a, b, terminal = span
    if b - a < 2 or words[b - 1].end - words[a].start <= max_s:
        return [span]
    # Cut at the widest gap between consecutive words; ties go to the middle-most gap.
    mid = (a + b) / 2
    cut = max(
        range(a + 1, b),
        key=lambda j: (words[j].start - words[j - 1].end, -abs(j - mid)),
    )
    return _cut_long(words, (a, cut, False), max_s) + _cut_long(words, (cut, b, terminal), max_s)
