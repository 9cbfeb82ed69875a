"""Weighted sum of named features, scaled to 0-100, with every contribution reported."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cliply.highlights.candidates import Candidate
from cliply.highlights.features import (
    FeatureValue,
    TranscriptProfile,
    audience_reaction,
    emotional_intensity,
    hook_strength,
    information_density,
    pace,
    self_containedness,
    speech_energy,
    topic_coherence,
)
from cliply.highlights.models import Reason

FeatureFn = Callable[[TranscriptProfile, Candidate], FeatureValue]

FEATURES: dict[str, FeatureFn] = {
    "hook": hook_strength,
    "self_contained": self_containedness,
    "coherence": topic_coherence,
    "density": information_density,
    "emotion": emotional_intensity,
    "speech_energy": speech_energy,
    "pace": pace,
    "laughter_applause": audience_reaction,
}

# Base weights (sum 1). Weights of unavailable features are shared out among the others in
# proportion, so a clip scored without audio still uses the whole 0-100 range.
DEFAULT_WEIGHTS: dict[str, float] = {
    "hook": 0.22,
    "self_contained": 0.20,
    "coherence": 0.17,
    "density": 0.14,
    "emotion": 0.11,
    "speech_energy": 0.06,
    "pace": 0.05,
    "laughter_applause": 0.05,
}


@dataclass(frozen=True)
class ScoredCandidate:
    candidate: Candidate
    score: float
    reasons: list[Reason]


def score_candidate(
    profile: TranscriptProfile,
    candidate: Candidate,
    weights: Mapping[str, float] = DEFAULT_WEIGHTS,
) -> ScoredCandidate:
    unknown = set(weights) - set(FEATURES)
    if unknown:
        raise ValueError(f"unknown feature weights: {sorted(unknown)}")
    values = [FEATURES[name](profile, candidate) for name in weights]
    available = sum(weights[f.name] for f in values if f.value is not None)
    reasons: list[Reason] = []
    for f in values:
        if f.value is None or available <= 0:
            reasons.append(
                Reason(
                    name=f.name,
                    value=None,
                    weight=0.0,
                    points=0.0,
                    available=False,
                    reason=f.reason,
                )
            )
            continue
        weight = weights[f.name] / available
        reasons.append(
            Reason(
                name=f.name,
                value=round(f.value, 4),
                weight=round(weight, 4),
                points=round(100.0 * weight * f.value, 2),
                reason=f.reason,
            )
        )
    score = round(sum(r.points for r in reasons), 2)
    if score > 100.0:
        # Rounding can overshoot by a hundredth; take it off the largest share.
        top = max(reasons, key=lambda r: r.points)
        top.points = round(top.points - (score - 100.0), 2)
        score = 100.0
    return ScoredCandidate(candidate, score, reasons)
