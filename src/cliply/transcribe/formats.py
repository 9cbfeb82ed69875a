"""Transcript serialisation (JSON, SRT, WebVTT) and sentence splitting over word timings."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, Field, ValidationError

from cliply.transcribe.base import TranscriptionError
from cliply.transcribe.models import Segment, Transcript, Word, join_word_pieces

SENTENCE_END = (".", "?", "!", "\u2026", "\u3002", "\uff1f", "\uff01")
_TRAILING = "\"')]}\u00bb\u201d\u2019"
# Words whose final period is not a sentence end.
_ABBREVIATIONS = frozenset(
    {"mr.", "mrs.", "ms.", "dr.", "prof.", "st.", "vs.", "e.g.", "i.e.", "jr.", "sr."}
)


class Sentence(BaseModel):
    start: float
    end: float
    text: str
    words: list[Word] = Field(default_factory=list)


# --- JSON -------------------------------------------------------------------------------


def to_json(transcript: Transcript, *, indent: int | None = None) -> str:
    return transcript.model_dump_json(indent=indent)


def from_json(data: str | bytes) -> Transcript:
    try:
        return Transcript.model_validate_json(data)
    except ValidationError as exc:
        raise TranscriptionError(
            f"not a transcript: {exc}", code="invalid-transcript-json"
        ) from exc


# --- sentences ----------------------------------------------------------------------------


def _ends_sentence(text: str) -> bool:
    t = text.rstrip(_TRAILING)
    return t.endswith(SENTENCE_END) and t.lower() not in _ABBREVIATIONS


def _make_sentence(words: Sequence[Word]) -> Sentence:
    return Sentence(
        start=words[0].start,
        end=max(w.end for w in words),
        text=" ".join(w.text for w in words),
        words=list(words),
    )


def sentences(transcript: Transcript, *, max_gap: float | None = None) -> list[Sentence]:
    """Split the transcript into sentences on words ending in . ? ! (keeping word timings).

    When the engine produced no sentence punctuation at all, segment boundaries are used
    instead, so an unpunctuated transcript still yields sentence-sized pieces. With
    `max_gap`, a silence longer than that between two words also ends a sentence.
    """
    words = transcript.words()
    if not words:
        return [
            Sentence(start=s.start, end=s.end, text=s.text.strip())
            for s in transcript.segments
            if s.text.strip()
        ]
    punctuated = any(_ends_sentence(w.text) for w in words)
    out: list[Sentence] = []
    for seg in transcript.segments:
        current: list[Word] = out.pop().words if out and punctuated and _open(out[-1]) else []
        for w in seg.words:
            if current and max_gap is not None and w.start - current[-1].end > max_gap:
                out.append(_make_sentence(current))
                current = []
            current.append(w)
            if punctuated and _ends_sentence(w.text):
                out.append(_make_sentence(current))
                current = []
        if current:
            out.append(_make_sentence(current))
    return out


def _open(sentence: Sentence) -> bool:
    """A sentence whose last word has no end mark continues into the next segment."""
    return not _ends_sentence(sentence.words[-1].text) if sentence.words else False


# --- subtitles ----------------------------------------------------------------------------


MIN_CUE_S = 1.0
"""Shortest subtitle or caption cue: shorter ones flash by unread."""


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


def _split_words(words: Sequence[Word], max_chars: int, max_duration: float) -> list[Cue]:
    cues: list[Cue] = []
    group: list[Word] = []
    for w in words:
        candidate = [*group, w]
        length = len(" ".join(x.text for x in candidate))
        too_long = length > max_chars or (candidate[-1].end - candidate[0].start) > max_duration
        if group and too_long:
            cues.append(Cue(group[0].start, group[-1].end, " ".join(x.text for x in group)))
            group = [w]
        else:
            group = candidate
    if group:
        cues.append(Cue(group[0].start, group[-1].end, " ".join(x.text for x in group)))
    return cues


def _split_text(seg: Segment, max_chars: int, max_duration: float) -> list[Cue]:
    """No word timings: cut the text at spaces and share the time out by characters."""
    text = " ".join(seg.text.split())
    duration = max(0.0, seg.end - seg.start)
    pieces_by_time = int(duration // max_duration) + 1 if max_duration > 0 else 1
    width = max(1, min(max_chars, -(-len(text) // pieces_by_time)))
    parts = textwrap.wrap(text, width=width, break_long_words=False) or [text]
    total = sum(len(p) for p in parts) or 1
    cues: list[Cue] = []
    t = seg.start
    for p in parts:
        d = duration * len(p) / total
        cues.append(Cue(t, t + d, p))
        t += d
    return cues


def min_duration_cues(cues: Sequence[Cue], min_s: float = MIN_CUE_S) -> list[Cue]:
    """Every cue lasts at least `min_s`: a short one is held longer when the pause after it
    allows, otherwise it is merged with the next cue (the last one with the previous)."""
    out = list(cues)
    i = 0
    while i < len(out):
        c = out[i]
        if c.end - c.start >= min_s or len(out) == 1:
            i += 1
            continue
        room = out[i + 1].start if i + 1 < len(out) else c.start + min_s
        if room - c.start >= min_s:
            out[i] = Cue(c.start, c.start + min_s, c.text)
            i += 1
        elif i + 1 < len(out):
            n = out.pop(i + 1)
            out[i] = Cue(c.start, max(c.end, n.end), f"{c.text} {n.text}")
        else:
            p = out.pop(i - 1)
            i -= 1
            out[i] = Cue(p.start, max(p.end, c.end), f"{p.text} {c.text}")
    return out


def build_cues(
    transcript: Transcript,
    *,
    max_chars: int = 84,
    max_duration: float = 7.0,
    min_s: float = MIN_CUE_S,
) -> list[Cue]:
    """Subtitle cues from segments, long segments split at word boundaries; each cue lasts
    at least `min_s` (held longer or merged with a neighbour)."""
    cues: list[Cue] = []
    for seg in transcript.segments:
        if not seg.text.strip():
            continue
        if seg.words:
            parts = _split_words(join_word_pieces(seg.words), max_chars, max_duration)
        elif len(seg.text) > max_chars or seg.end - seg.start > max_duration:
            parts = _split_text(seg, max_chars, max_duration)
        else:
            parts = [Cue(seg.start, seg.end, " ".join(seg.text.split()))]
        cues.extend(parts)
    cues = min_duration_cues(cues, min_s)
    fixed: list[Cue] = []
    for i, c in enumerate(cues):
        start = max(0.0, c.start)
        end = max(c.end, start + 0.001)
        if i + 1 < len(cues):  # players dislike overlapping cues
            end = max(start + 0.001, min(end, cues[i + 1].start))
        fixed.append(Cue(start, end, c.text))
    return fixed


def _wrap(text: str, line_chars: int) -> str:
    lines = textwrap.wrap(text, width=line_chars, break_long_words=False) or [text]
    if len(lines) > 2:  # keep at most two lines; balance the break roughly in the middle
        lines = textwrap.wrap(
            text, width=max(line_chars, -(-len(text) // 2)), break_long_words=False
        )
    return "\n".join(lines)


def format_timestamp(seconds: float, *, separator: str = ",") -> str:
    """HH:MM:SS,mmm (SRT) or HH:MM:SS.mmm (VTT, with separator=".")."""
    ms = max(0, round(seconds * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{separator}{ms:03d}"


def _cue_lines(cues: Iterable[Cue], sep: str, escape: bool, line_chars: int) -> list[str]:
    out: list[str] = []
    for c in cues:
        text = c.text.replace("-->", "->")
        if escape:
            text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        text = _wrap(text, line_chars)
        out.append(
            f"{format_timestamp(c.start, separator=sep)} --> "
            f"{format_timestamp(c.end, separator=sep)}\n{text}\n"
        )
    return out


def to_srt(
    transcript: Transcript, *, max_chars: int = 84, line_chars: int = 42, max_duration: float = 7.0
) -> str:
    cues = build_cues(transcript, max_chars=max_chars, max_duration=max_duration)
    blocks = _cue_lines(cues, ",", escape=False, line_chars=line_chars)
    return "\n".join(f"{i}\n{b}" for i, b in enumerate(blocks, start=1))


def to_vtt(
    transcript: Transcript, *, max_chars: int = 84, line_chars: int = 42, max_duration: float = 7.0
) -> str:
    cues = build_cues(transcript, max_chars=max_chars, max_duration=max_duration)
    blocks = _cue_lines(cues, ".", escape=True, line_chars=line_chars)
    return "WEBVTT\n\n" + "\n".join(blocks)


def render(transcript: Transcript, fmt: str) -> str:
    """`fmt` is json, srt or vtt."""
    if fmt == "json":
        return to_json(transcript)
    if fmt == "srt":
        return to_srt(transcript)
    if fmt == "vtt":
        return to_vtt(transcript)
    raise TranscriptionError(f"unknown transcript format {fmt!r}", code="unknown-format")
