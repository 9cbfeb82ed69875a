"""The transcript data model shared by every engine, highlights and captions."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import BaseModel, Field

# A token that continues the word before it: "-hearted" after "cold", "'s"/"n't" after a stem.
_CONTINUES = re.compile(r"^(-\w|['\u2019](s|t|re|ve|ll|d|m)\b|n['\u2019]t\b)", re.IGNORECASE)


class Word(BaseModel):
    text: str
    start: float = Field(ge=0)
    end: float = Field(ge=0)
    confidence: float | None = None
    speaker: str | None = None


class Segment(BaseModel):
    start: float
    end: float
    text: str
    words: list[Word] = Field(default_factory=list)
    speaker: str | None = None


class Transcript(BaseModel):
    language: str = "en"
    language_probability: float | None = None
    """Language detection's confidence in `language`; None when it was given, not detected."""
    duration: float = 0.0
    engine: str = ""
    model: str | None = None
    segments: list[Segment] = Field(default_factory=list)
    decoding: str | None = None
    """How a local model decoded it ("sequential", "batched x8"); None for other engines."""

    def words(self) -> list[Word]:
        return [w for s in self.segments for w in s.words]

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments).strip()


def joins_previous(previous: str, piece: str) -> bool:
    """Whether `piece` is the rest of the word `previous` (a split hyphenated word or
    contraction), judged from the text alone."""
    if not previous or not piece:
        return False
    if previous.endswith("-") and previous.strip("-") and piece[0].isalnum():
        return True  # "cold-" + "hearted"
    return bool(_CONTINUES.match(piece)) and previous[-1].isalnum()


def join_word_pieces(words: Sequence[Word]) -> list[Word]:
    """Merge tokens into whole words, so "cold" + "-hearted" is one word "cold-hearted"
    and "don" + "'t" is "don't"; the merged word spans both tokens' times."""
    out: list[Word] = []
    for w in words:
        piece = w.text.strip()
        if out and joins_previous(out[-1].text, piece):
            prev = out[-1]
            confs = [c for c in (prev.confidence, w.confidence) if c is not None]
            out[-1] = prev.model_copy(
                update={
                    "text": prev.text + piece,
                    "end": max(prev.end, w.end),
                    "confidence": min(confs) if confs else None,
                }
            )
        else:
            out.append(w)
    return out
