"""Highlight detection: find the moments of a transcript worth sharing, scored 0-100 with
named reasons. `detect_highlights` is the entry point."""

from cliply.highlights.embeddings import (
    MINILM_NAME,
    TFIDF_NAME,
    Embedder,
    SentenceTransformerEmbedder,
    TfidfEmbedder,
    choose_embedder,
)
from cliply.highlights.errors import AudioReadError, HighlightError, InvalidHighlightParams
from cliply.highlights.models import Highlight, HighlightResult, Reason, TopicSegment
from cliply.highlights.ranking import detect_highlights

__all__ = [
    "MINILM_NAME",
    "TFIDF_NAME",
    "AudioReadError",
    "Embedder",
    "Highlight",
    "HighlightError",
    "HighlightResult",
    "InvalidHighlightParams",
    "Reason",
    "SentenceTransformerEmbedder",
    "TfidfEmbedder",
    "TopicSegment",
    "choose_embedder",
    "detect_highlights",
]
