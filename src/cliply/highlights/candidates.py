"""Candidate clip windows: runs of whole sentences whose length fits the requested range."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from cliply.highlights.errors import InvalidHighlightParams
from cliply.highlights.sentences import Sentence

# Longest clip each platform accepts, for the `platform_max_s` cap.
PLATFORM_MAX_S: dict[str, float] = {
    "tiktok": 600.0,
    "youtube_shorts": 180.0,
    "instagram_reels": 180.0,
}

MIN_CLIP_SPEECH_S = 10.0
"""A source with at least this much speech gives at least one clip, whatever CLIP_MIN_S says."""
MANY_CLIPS_SPEECH_S = 300.0
MANY_CLIPS = 4
"""A source with MANY_CLIPS_SPEECH_S of speech gives at least MANY_CLIPS clips (or top_k)."""
RELAXED_MIN_S = (10.0, 5.0, 1.0)
"""Shorter minimum lengths tried, in order, when the requested one leaves too few clips."""


def wanted_clips(speech_s: float, top_k: int) -> int:
    """The fewest clips a source with `speech_s` seconds of speech should give."""
    if speech_s >= MANY_CLIPS_SPEECH_S:
        return min(top_k, MANY_CLIPS)
    if speech_s >= MIN_CLIP_SPEECH_S:
        return min(top_k, 1)
    return 0


def relaxed_minimums(min_s: float) -> list[float]:
    """Minimum lengths to fall back to, longest first, all below `min_s`."""
    return sorted({m for m in (min_s / 2, *RELAXED_MIN_S) if m < min_s}, reverse=True)


@dataclass(frozen=True, slots=True)
class Candidate:
    first: int  # index of the first sentence
    last: int  # index of the last sentence (inclusive)
    start: float
    end: float
    segment_id: int | None  # the topic segment holding most of the window
    purity: float  # share of the window's time inside that segment (1.0 = one topic)

    @property
    def duration(self) -> float:
        return self.end - self.start


def window_limits(
    min_s: float, max_s: float, platform_max_s: float | None = None
) -> tuple[float, float]:
    """Validated (min, max) clip length, the max capped by the platform's limit."""
    if not (min_s > 0 and max_s > 0):
        raise InvalidHighlightParams(f"clip lengths must be positive (got {min_s}-{max_s} s)")
    if platform_max_s is not None and platform_max_s <= 0:
        raise InvalidHighlightParams(f"platform cap must be positive (got {platform_max_s} s)")
    hi = min(max_s, platform_max_s) if platform_max_s is not None else max_s
    if min_s > hi:
        raise InvalidHighlightParams(
            f"minimum clip length {min_s} s is above the maximum {hi} s"
            + (" (platform cap)" if platform_max_s is not None and platform_max_s < max_s else "")
        )
    return min_s, hi


def generate_candidates(
    sentences: Sequence[Sentence],
    sentence_segment: Sequence[int] | None = None,
    *,
    min_s: float = 20.0,
    max_s: float = 60.0,
    platform_max_s: float | None = None,
    single_segment_only: bool = False,
) -> list[Candidate]:
    """Every window of consecutive sentences lasting between min_s and max_s.

    Windows inside one topic segment are preferred: with `single_segment_only` the others
    are dropped, otherwise they are kept with purity < 1, which the coherence feature
    penalises (a short segment must not make a good moment impossible to clip).
    """
    lo, hi = window_limits(min_s, max_s, platform_max_s)
    out: list[Candidate] = []
    n = len(sentences)
    for i in range(n):
        for j in range(i, n):
            duration = sentences[j].end - sentences[i].start
            if duration > hi:
                break
            if duration < lo:
                continue
            seg, purity = _dominant_segment(sentences, sentence_segment, i, j)
            if single_segment_only and purity < 1.0:
                continue
            out.append(Candidate(i, j, sentences[i].start, sentences[j].end, seg, purity))
    return out


def _dominant_segment(
    sentences: Sequence[Sentence], sentence_segment: Sequence[int] | None, i: int, j: int
) -> tuple[int | None, float]:
    if not sentence_segment:
        return None, 1.0
    seconds: dict[int, float] = defaultdict(float)
    for k in range(i, j + 1):
        # Pauses count towards the sentence they follow, so the shares add up to the window.
        until = sentences[k + 1].start if k < j else sentences[k].end
        seconds[sentence_segment[k]] += max(until - sentences[k].start, 1e-6)
    seg = max(seconds, key=lambda s: (seconds[s], -s))
    return seg, seconds[seg] / sum(seconds.values())
