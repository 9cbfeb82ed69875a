"""Transcripts with plausible word timings, built from sentences without any audio."""

from __future__ import annotations

from cliply.transcribe.models import Segment, Transcript, Word


def build_transcript(
    sentences: list[str],
    *,
    words_per_s: float = 2.5,
    gap_s: float = 0.6,
    start_s: float = 0.0,
) -> Transcript:
    """One segment per sentence; each word lasts 80% of its slot, sentences part by gap_s."""
    slot = 1.0 / words_per_s
    t = start_s
    segments: list[Segment] = []
    for sentence in sentences:
        words: list[Word] = []
        for token in sentence.split():
            words.append(
                Word(text=token, start=round(t, 3), end=round(t + 0.8 * slot, 3), confidence=0.95)
            )
            t += slot
        segments.append(
            Segment(start=words[0].start, end=words[-1].end, text=sentence, words=words)
        )
        t += gap_s
    return Transcript(language="en", duration=round(t, 3), engine="test", segments=segments)


def sentence_times(transcript: Transcript) -> tuple[set[float], set[float]]:
    """Start and end times of every sentence (segment) of a transcript built above."""
    return {s.start for s in transcript.segments}, {s.end for s in transcript.segments}
