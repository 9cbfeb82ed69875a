"""Overlap suppression, titles and hashtags, and `detect_highlights`, the one entry point."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from cliply.highlights.adjust import (
    NO_MATCH_SPREAD,
    PromptMatch,
    boilerplate_adjustment,
    boundary_adjustment,
    prompt_adjustment,
    prompt_match,
)
from cliply.highlights.analysis import TranscriptAnalysis, analyse_transcript
from cliply.highlights.candidates import (
    Candidate,
    generate_candidates,
    relaxed_minimums,
    wanted_clips,
    window_limits,
)
from cliply.highlights.edges import speech_edges
from cliply.highlights.embeddings import Embedder
from cliply.highlights.errors import InvalidHighlightParams
from cliply.highlights.features import TranscriptProfile, hook_facts
from cliply.highlights.keywords import KeywordExtractor, hashtags
from cliply.highlights.llm import ChatJsonClient, rerank_with_llm
from cliply.highlights.models import Highlight, HighlightResult
from cliply.highlights.scoring import (
    DEFAULT_WEIGHTS,
    FEATURES,
    ScoredCandidate,
    score_candidate,
)
from cliply.highlights.sentences import Sentence, speech_seconds
from cliply.highlights.text import dangling_opener, tokens
from cliply.transcribe.models import Transcript

TITLE_MAX_CHARS = 70
DUPLICATE_JACCARD = 0.5
"""Clips whose 3-word shingles (or opening sentences') overlap this much are near-duplicates."""
SHINGLE_WORDS = 3
MIN_OPENING_WORDS = 4


def overlap_fraction(a: Candidate, b: Candidate) -> float:
    """Shared time as a fraction of the shorter clip (1.0: one lies inside the other)."""
    shared = min(a.end, b.end) - max(a.start, b.start)
    if shared <= 0:
        return 0.0
    return shared / max(min(a.duration, b.duration), 1e-9)


def shingles(text: str, n: int = SHINGLE_WORDS) -> frozenset[tuple[str, ...]]:
    """The text's runs of `n` consecutive words (lower case, punctuation dropped)."""
    toks = tokens(text)
    if len(toks) < n:
        return frozenset({tuple(toks)}) if toks else frozenset()
    return frozenset(tuple(toks[i : i + n]) for i in range(len(toks) - n + 1))


def jaccard(a: frozenset[tuple[str, ...]], b: frozenset[tuple[str, ...]]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


class _Distinct:
    """Whether a clip differs from the kept ones: little shared time, and (given the
    sentence texts) neither mostly the same words nor the same opening sentence."""

    def __init__(self, max_overlap: float, sentence_texts: Sequence[str] | None) -> None:
        self.max_overlap = max_overlap
        self.texts = sentence_texts
        self._cache: dict[tuple[int, int], tuple[frozenset[tuple[str, ...]], ...]] = {}

    def _shingles(self, c: Candidate, *, keep: bool) -> tuple[frozenset[tuple[str, ...]], ...]:
        key = (c.first, c.last)
        found = self._cache.get(key)
        if found is None:
            assert self.texts is not None
            whole = shingles(" ".join(self.texts[c.first : c.last + 1]))
            opening = self.texts[c.first]
            # A short opener ("Right.") may repeat without the clips being alike.
            first = shingles(opening) if len(tokens(opening)) >= MIN_OPENING_WORDS else frozenset()
            found = (whole, first)
            if keep:
                self._cache[key] = found
        return found

    def __call__(self, c: Candidate, kept: Sequence[ScoredCandidate]) -> bool:
        mine: tuple[frozenset[tuple[str, ...]], ...] | None = None
        for k in kept:
            if overlap_fraction(c, k.candidate) > self.max_overlap:
                return False
            if self.texts is None:
                continue
            # Only the kept clips' shingles are cached: each candidate is judged once, and on
            # a repetitive source thousands are judged (and dropped) before top_k are kept.
            mine = mine or self._shingles(c, keep=False)
            (whole, first), (k_whole, k_first) = mine, self._shingles(k.candidate, keep=True)
            if jaccard(whole, k_whole) >= DUPLICATE_JACCARD:
                return False
            if jaccard(first, k_first) >= DUPLICATE_JACCARD:
                return False
        return True


def suppress_overlaps(
    scored: Sequence[ScoredCandidate],
    *,
    max_overlap: float,
    top_k: int,
    sentence_texts: Sequence[str] | None = None,
) -> list[ScoredCandidate]:
    """Greedy non-maximum suppression: best first, drop any clip overlapping a kept one by
    more than `max_overlap` (fraction of the shorter clip), stop at `top_k`. Given the
    sentence texts, near-duplicates are dropped too (see `_Distinct`)."""
    distinct = _Distinct(max_overlap, sentence_texts)
    ordered = sorted(scored, key=lambda s: (-s.score, s.candidate.start, s.candidate.end))
    kept: list[ScoredCandidate] = []
    for s in ordered:
        if len(kept) >= top_k:
            break
        if distinct(s.candidate, kept):
            kept.append(s)
    return kept


def fill_up(
    kept: Sequence[ScoredCandidate],
    extra: Sequence[ScoredCandidate],
    *,
    max_overlap: float,
    want: int,
    sentence_texts: Sequence[str] | None = None,
) -> list[ScoredCandidate]:
    """Add the best of `extra` that are distinct from the kept clips until there are `want`;
    the result is ordered by score like `suppress_overlaps`'."""
    distinct = _Distinct(max_overlap, sentence_texts)
    out = list(kept)
    for s in sorted(extra, key=lambda s: (-s.score, s.candidate.start, s.candidate.end)):
        if len(out) >= want:
            break
        if distinct(s.candidate, out):
            out.append(s)
    return sorted(out, key=lambda s: (-s.score, s.candidate.start, s.candidate.end))


def make_title(sentences: Sequence[Sentence], max_chars: int = TITLE_MAX_CHARS) -> str:
    """A title from the hook sentence: dangling connective dropped, cut at a word boundary."""
    text = " ".join(s.text for s in sentences).strip()
    opener = dangling_opener(tokens(text))
    if opener:
        words = text.split()
        text = " ".join(words[len(opener.split()) :]) or text
    text = text.strip(" ,;:-")
    if len(text) > max_chars:
        cut = text[: max_chars - 1].rsplit(" ", 1)[0].rstrip(" ,;:-")
        text = cut + "…"
    elif text.endswith("."):
        text = text[:-1]
    return text[:1].upper() + text[1:]


def detect_highlights(
    transcript: Transcript,
    *,
    wav_path: Path | str | None = None,
    min_s: float = 20.0,
    max_s: float = 60.0,
    platform_max_s: float | None = None,
    top_k: int = 10,
    max_overlap: float = 0.1,
    min_score: float = 0.0,
    embedder: Embedder | None = None,
    weights: Mapping[str, float] = DEFAULT_WEIGHTS,
    baseline: Mapping[str, float] | None = None,
    pause_s: float = 1.0,
    single_segment_only: bool = False,
    llm: ChatJsonClient | None = None,
    llm_top_n: int = 10,
    prompt: str | None = None,
) -> HighlightResult:
    """Find, score and rank the moments of a transcript worth clipping.

    `baseline`: with a workspace's own `weights`, the weights its reasons are compared with
    (the defaults), so each reason says what the workspace's audience changed.
    `prompt`: what the user wants clips about ("everything about pricing"); candidates are
    ranked towards it (a `prompt` reason) and the LLM pass is told.

    Raises InvalidHighlightParams for impossible limits and AudioReadError for a bad WAV.
    A transcript without words, or without any window of the wanted length, gives an empty
    result with a note rather than an error.
    """
    lo, hi = window_limits(min_s, max_s, platform_max_s)
    if top_k < 1:
        raise InvalidHighlightParams(f"top_k must be at least 1 (got {top_k})")
    if not 0.0 <= max_overlap <= 1.0:
        raise InvalidHighlightParams(f"max_overlap must be in 0..1 (got {max_overlap})")
    if pause_s <= 0:
        raise InvalidHighlightParams(f"pause_s must be positive (got {pause_s})")
    prompt = (prompt or "").strip() or None
    unknown = sorted(set(weights) - set(FEATURES))
    if unknown or any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
        raise InvalidHighlightParams(
            f"weights must be non-negative, not all zero, and name only {sorted(FEATURES)}"
        )

    analysis = analyse_transcript(
        transcript,
        embedder=embedder,
        wav_path=wav_path,
        pause_s=pause_s,
        max_sentence_s=min(30.0, hi),
        prompt=prompt,
    )
    notes = analysis.notes
    sentences, profile, segmentation = analysis.sentences, analysis.profile, analysis.segmentation
    if not sentences:
        return HighlightResult(
            highlights=[], embedder_name=analysis.embedder_name, segments=[], notes=notes
        )
    candidates = generate_candidates(
        sentences,
        segmentation.sentence_segment,
        min_s=lo,
        max_s=hi,
        single_segment_only=single_segment_only,
    )
    if not candidates:
        notes.append(f"no run of whole sentences lasts between {lo:g} and {hi:g} s")
    match = None
    if prompt is not None and analysis.prompt_space is not None:
        match = prompt_match(prompt, *analysis.prompt_space, candidates)
        if match.best - match.floor < NO_MATCH_SPREAD:
            notes.append(f"nothing in the video matches the prompt {match.quoted}")

    def rescore(cs: Sequence[Candidate]) -> list[ScoredCandidate]:
        return [
            _adjusted(analysis, score_candidate(profile, c, weights, baseline), match) for c in cs
        ]

    scored = [s for s in rescore(candidates) if s.score >= min_score]
    # Keep enough distinct clips for the LLM to promote one from below the local top_k.
    pool = max(top_k, llm_top_n if llm is not None else 0)
    texts = [s.text for s in sentences]
    kept = suppress_overlaps(scored, max_overlap=max_overlap, top_k=pool, sentence_texts=texts)
    # Clip length adapts to the source: a short talk still gives a clip, a long one several.
    speech_s = speech_seconds(transcript.words())
    want = wanted_clips(speech_s, top_k)
    for relaxed in relaxed_minimums(lo):
        if len(kept) >= want:
            break
        extra = generate_candidates(
            sentences,
            segmentation.sentence_segment,
            min_s=relaxed,
            max_s=hi,
            single_segment_only=single_segment_only,
        )
        more = rescore([c for c in extra if c.duration < lo])
        before = len(kept)
        kept = fill_up(kept, more, max_overlap=max_overlap, want=want, sentence_texts=texts)
        if len(kept) > before:
            notes.append(
                f"{speech_s:.0f} s of speech: clips as short as {relaxed:g} s allowed "
                f"to give {want} clip(s)"
            )
    highlights = [_to_highlight(profile, s, analysis.keywords) for s in kept]

    applied, fallback = False, None
    if llm is not None and highlights:
        outcome = rerank_with_llm(highlights, llm, top_n=llm_top_n, prompt=prompt)
        highlights, applied, fallback = outcome.highlights, outcome.applied, outcome.fallback_reason
        if fallback:
            notes.append(f"local ranking kept: {fallback}")
    highlights = highlights[:top_k]
    if wav_path is not None:
        # Cut where the voice starts and stops, not at Whisper's word times.
        duration = transcript.duration or None
        for i, h in enumerate(highlights):
            edges = speech_edges(Path(wav_path), profile.words, h.start, h.end, duration)
            highlights[i] = h.model_copy(update={"start": edges.start, "end": edges.end})
    return HighlightResult(
        highlights=highlights,
        embedder_name=analysis.embedder_name,
        segments=segmentation.segments,
        llm_applied=applied,
        llm_fallback_reason=fallback,
        notes=notes,
    )


def _adjusted(
    analysis: TranscriptAnalysis, scored: ScoredCandidate, match: PromptMatch | None
) -> ScoredCandidate:
    """The feature score with boilerplate, boundary and prompt adjustments, each a reason."""
    profile = analysis.profile
    scored = boilerplate_adjustment(profile, scored)
    if analysis.boundaries is not None:
        scored = boundary_adjustment(profile, analysis.boundaries, scored)
    if match is not None:
        scored = prompt_adjustment(match, scored)
    return scored


def _to_highlight(
    profile: TranscriptProfile, scored: ScoredCandidate, keywords: KeywordExtractor
) -> Highlight:
    c = scored.candidate
    window = profile.sentences[c.first : c.last + 1]
    text = " ".join(s.text for s in window)
    hook = hook_facts(profile, c.first, c.last)
    return Highlight(
        start=c.start,
        end=c.end,
        score=scored.score,
        reasons=scored.reasons,
        title=make_title(window[: hook.sentences_used]),
        hashtags=hashtags(keywords.top(text, 4)),
        text=text,
        segment_id=c.segment_id,
        first_sentence=c.first,
        last_sentence=c.last,
    )


__all__ = [
    "detect_highlights",
    "fill_up",
    "jaccard",
    "make_title",
    "overlap_fraction",
    "shingles",
    "suppress_overlaps",
]
