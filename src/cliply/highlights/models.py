"""Result shapes of highlight detection (pydantic, so jobs can store them as JSON)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Reason(BaseModel):
    """One named feature behind a score.

    `points` is this feature's share of the 0-100 score (weight * value * 100), so the
    points of all reasons add up to the highlight's score. A feature that could not be
    computed (e.g. audio features without audio) has `available=False`, `value=None`,
    zero weight and zero points; its base weight went to the available features.
    """

    name: str
    value: float | None
    weight: float
    points: float
    available: bool = True
    reason: str
    # Set when the workspace's learnt weights scored the clip: the points the default
    # weights would have given (the reason's text names the difference).
    default_points: float | None = None


class TopicSegment(BaseModel):
    """A run of sentences about one topic, found by TextTiling-style segmentation."""

    id: int
    start: float
    end: float
    first_sentence: int
    last_sentence: int
    keywords: list[str] = Field(default_factory=list)


class Highlight(BaseModel):
    start: float
    end: float
    score: float = Field(ge=0, le=100)
    reasons: list[Reason]
    title: str
    hashtags: list[str]
    text: str
    segment_id: int | None
    first_sentence: int
    last_sentence: int
    description: str | None = None
    llm_rank: int | None = None

    @property
    def duration(self) -> float:
        return self.end - self.start


class HighlightResult(BaseModel):
    highlights: list[Highlight]
    embedder_name: str
    segments: list[TopicSegment]
    llm_applied: bool = False
    llm_fallback_reason: str | None = None
    notes: list[str] = Field(default_factory=list)
