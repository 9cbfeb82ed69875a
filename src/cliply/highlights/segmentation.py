"""Topic segmentation in the TextTiling manner, over sentence embeddings.

For each gap between sentences, compare the block of `block` sentences before it with the
block after it (cosine of summed embeddings). A topic change shows as a valley in that
similarity curve; its depth (how far it sits below the peaks on either side) says how sharp
the change is. Deep valleys become boundaries, keeping every segment at least
`min_segment_sentences` long.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from cliply.highlights.embeddings import (
    MINILM_NAME,
    TFIDF_NAME,
    Embedder,
    SentenceTransformerEmbedder,
    TfidfEmbedder,
    choose_embedder,
)
from cliply.highlights.models import TopicSegment
from cliply.highlights.sentences import Sentence

__all__ = [
    "MINILM_NAME",
    "TFIDF_NAME",
    "Embedder",
    "Segmentation",
    "SentenceTransformerEmbedder",
    "TfidfEmbedder",
    "choose_embedder",
    "depth_scores",
    "gap_similarities",
    "segment_topics",
]


@dataclass(frozen=True)
class Segmentation:
    segments: list[TopicSegment]
    # segment id of every sentence
    sentence_segment: list[int]
    # similarity and depth at gap g (between sentence g and g+1)
    gap_similarity: NDArray[np.float64]
    depth: NDArray[np.float64]


def gap_similarities(embeddings: NDArray[np.float64], block: int) -> NDArray[np.float64]:
    """Cosine similarity of the blocks either side of each of the n-1 gaps."""
    n = embeddings.shape[0]
    if n < 2:
        return np.zeros(0)
    cumulative = np.vstack([np.zeros((1, embeddings.shape[1])), np.cumsum(embeddings, axis=0)])
    sims = np.zeros(n - 1)
    for g in range(1, n):
        left = cumulative[g] - cumulative[max(0, g - block)]
        right = cumulative[min(n, g + block)] - cumulative[g]
        denom = float(np.linalg.norm(left) * np.linalg.norm(right))
        sims[g - 1] = float(left @ right) / denom if denom > 0 else 0.0
    return sims


def depth_scores(sims: NDArray[np.float64]) -> NDArray[np.float64]:
    """Hearst's depth: climb to the highest point on each side while it keeps rising."""
    depth = np.zeros_like(sims)
    for g, s in enumerate(sims):
        left = g
        while left > 0 and sims[left - 1] >= sims[left]:
            left -= 1
        right = g
        while right < len(sims) - 1 and sims[right + 1] >= sims[right]:
            right += 1
        depth[g] = (sims[left] - s) + (sims[right] - s)
    return depth


def _pick_boundaries(
    depth: NDArray[np.float64], n_sentences: int, min_depth: float, min_len: int
) -> list[int]:
    if depth.size == 0:
        return []
    # Hearst's liberal cut-off, floored so a flat transcript is not chopped by noise.
    cutoff = max(min_depth, float(depth.mean() - depth.std() / 2))
    chosen: list[int] = []  # sentence index where a new segment begins
    for g in sorted(range(depth.size), key=lambda i: -depth[i]):
        if depth[g] < cutoff:
            break
        start = g + 1
        edges = sorted([0, n_sentences, *chosen])
        if all(abs(start - e) >= min_len for e in edges):
            chosen.append(start)
    return sorted(chosen)


def segment_topics(
    sentences: Sequence[Sentence],
    embeddings: NDArray[np.float64],
    *,
    block: int = 3,
    min_depth: float = 0.15,
    min_segment_sentences: int = 3,
    keywords: Callable[[str], list[str]] | None = None,
) -> Segmentation:
    """Split sentences into topic segments (ids 0..k-1, in time order)."""
    n = len(sentences)
    if embeddings.shape[0] != n:
        raise ValueError("one embedding row per sentence expected")
    if n == 0:
        return Segmentation([], [], np.zeros(0), np.zeros(0))
    sims = gap_similarities(embeddings, max(1, block))
    depth = depth_scores(sims)
    starts = [0, *_pick_boundaries(depth, n, min_depth, max(1, min_segment_sentences))]
    ends = [*starts[1:], n]
    segments: list[TopicSegment] = []
    sentence_segment: list[int] = []
    for seg_id, (a, b) in enumerate(zip(starts, ends, strict=True)):
        text = " ".join(s.text for s in sentences[a:b])
        segments.append(
            TopicSegment(
                id=seg_id,
                start=sentences[a].start,
                end=sentences[b - 1].end,
                first_sentence=a,
                last_sentence=b - 1,
                keywords=keywords(text) if keywords else [],
            )
        )
        sentence_segment.extend([seg_id] * (b - a))
    return Segmentation(segments, sentence_segment, sims, depth)
