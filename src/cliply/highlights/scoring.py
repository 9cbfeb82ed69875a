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


# How a workspace's own weights are explained next to the defaults ("your audience rewards
# strong hooks: +9 instead of +7").
AUDIENCE_LABELS: dict[str, str] = {
    "hook": "strong hooks",
    "self_contained": "self-contained clips",
    "coherence": "clips that stay on one topic",
    "density": "information-dense clips",
    "emotion": "emotional moments",
    "speech_energy": "energetic delivery",
    "pace": "a quick pace",
    "laughter_applause": "laughter and applause",
}


def _normalised(weights: Mapping[str, float], values: list[FeatureValue]) -> dict[str, float]:
    """Each available feature's share of the 0-100 range under `weights`."""
    available = sum(weights.get(f.name, 0.0) for f in values if f.value is not None)
    if available <= 0:
        return {}
    return {f.name: weights.get(f.name, 0.0) / available for f in values if f.value is not None}


def audience_note(name: str, points: float, default_points: float) -> str | None:
    """The sentence a workspace-weighted reason carries, or None when the points (rounded)
    are the defaults'."""
    mine, base = round(points), round(default_points)
    if mine == base:
        return None
    label = AUDIENCE_LABELS.get(name, name.replace("_", " "))
    verb = "rewards" if mine > base else "cares less about"
    return f"your audience {verb} {label}: +{mine} instead of +{base}"


@dataclass(frozen=True)
class ScoredCandidate:
    candidate: Candidate
    score: float
    reasons: list[Reason]


def score_candidate(
    profile: TranscriptProfile,
    candidate: Candidate,
    weights: Mapping[str, float] = DEFAULT_WEIGHTS,
    baseline: Mapping[str, float] | None = None,
) -> ScoredCandidate:
    """Score one candidate. With a `baseline` (a workspace's own weights are in `weights`,
    the defaults in `baseline`), each reason also carries the points the baseline would have
    given (`default_points`) and, where they differ, says so in its text."""
    unknown = set(weights) - set(FEATURES)
    if unknown:
        raise ValueError(f"unknown feature weights: {sorted(unknown)}")
    names = list(weights) + [n for n in (baseline or {}) if n not in weights and n in FEATURES]
    values = [FEATURES[name](profile, candidate) for name in names]
    available = sum(weights.get(f.name, 0.0) for f in values if f.value is not None)
    base_share = _normalised(baseline, values) if baseline is not None else None
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
        weight = weights.get(f.name, 0.0) / available
        points = round(100.0 * weight * f.value, 2)
        reason, default_points = f.reason, None
        if base_share is not None:
            default_points = round(100.0 * base_share.get(f.name, 0.0) * f.value, 2)
            note = audience_note(f.name, points, default_points)
            reason = f"{reason}; {note}" if note else reason
        reasons.append(
            Reason(
                name=f.name,
                value=round(f.value, 4),
                weight=round(weight, 4),
                points=points,
                reason=reason,
                default_points=default_points,
            )
        )
    score = round(sum(r.points for r in reasons), 2)
    if score > 100.0:
        # Rounding can overshoot by a hundredth; take it off the largest share.
        top = max(reasons, key=lambda r: r.points)
        top.points = round(top.points - (score - 100.0), 2)
        score = 100.0
    return ScoredCandidate(candidate, score, reasons)
