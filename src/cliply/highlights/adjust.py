"""Score adjustments after the weighted features: boilerplate, boundaries, the user's prompt.

Each adjustment changes the score and adds its own reason whose `points` are exactly the
change, so the reasons still add up to the score ("why this clip" stays honest):

- **boilerplate**: the share of the clip's speech that is automated-prompt/menu wording or
  repeated phrases scales the score down (at most to 30 %);
- **boundary**: a clip that crosses a speaker/audio change into speech on another subject
  keeps 40 % of its score; one whose two sides stay on one subject (an interview answer)
  keeps 85 %, and the reason says so; a long pause inside the clip costs 10 %;
- **prompt**: with a user prompt, the score is blended half-and-half with how well the clip
  matches the prompt (cosine of embeddings, scaled between the video's median and best
  match), and the reason quotes the raw similarity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from cliply.highlights.boundaries import BoundaryMap
from cliply.highlights.candidates import Candidate
from cliply.highlights.features import TranscriptProfile
from cliply.highlights.models import Reason
from cliply.highlights.scoring import ScoredCandidate

BOILERPLATE_MAX_CUT = 0.7  # an all-boilerplate clip keeps 30 % of its score
UNRELATED_CHANGE_KEEP = 0.4
RELATED_CHANGE_KEEP = 0.85
LONG_PAUSE_KEEP = 0.9
PROMPT_WEIGHT = 0.5
PROMPT_QUOTE_CHARS = 60
NO_MATCH_SPREAD = 0.02  # best minus median similarity below this: the prompt matches nothing


def _with(
    sc: ScoredCandidate, name: str, value: float, weight: float, new: float, why: str
) -> ScoredCandidate:
    new = round(min(100.0, max(0.0, new)), 2)
    delta = round(new - sc.score, 2)
    reason = Reason(
        name=name,
        value=round(value, 4),
        weight=round(weight, 4),
        points=delta,
        reason=f"{why}: {delta:+.0f} points",
    )
    return ScoredCandidate(sc.candidate, round(sc.score + delta, 2), [*sc.reasons, reason])


def boilerplate_adjustment(profile: TranscriptProfile, sc: ScoredCandidate) -> ScoredCandidate:
    c = sc.candidate
    if not profile.boilerplate:
        return sc
    window = range(c.first, c.last + 1)
    total = sum(profile.sentences[k].duration for k in window) or 1e-9
    junk = [k for k in window if profile.boilerplate[k].is_boilerplate]
    if not junk:
        return sc
    share = sum(profile.sentences[k].duration for k in junk) / total
    keep = 1.0 - BOILERPLATE_MAX_CUT * share
    why = (
        f"{share:.0%} of the clip is boilerplate, e.g. {profile.boilerplate[junk[0]].describe()}; "
        f"score x{keep:.2f}"
    )
    return _with(sc, "boilerplate", share, 0.0, sc.score * keep, why)


def _side_similarity(profile: TranscriptProfile, c: Candidate, gap: int) -> float | None:
    """Cosine of the window's sentence embeddings before and after sentence gap `gap`."""
    left = profile.emb_prefix[gap + 1] - profile.emb_prefix[c.first]
    right = profile.emb_prefix[c.last + 1] - profile.emb_prefix[gap + 1]
    denom = float(np.linalg.norm(left) * np.linalg.norm(right))
    return float(left @ right) / denom if denom > 0 else None


def boundary_adjustment(
    profile: TranscriptProfile, boundaries: BoundaryMap, sc: ScoredCandidate
) -> ScoredCandidate:
    c = sc.candidate
    crossed = boundaries.crossed(c.first, c.last)
    if not crossed:
        return sc
    keep = 1.0
    notes: list[str] = []
    worst = 0.0
    for b in crossed:
        if b.change:
            sim = _side_similarity(profile, c, b.gap)
            related = sim is not None and sim >= profile.topic_similarity
            sim_note = "n/a" if sim is None else f"{sim:.2f}"
            if related:
                keep *= RELATED_CHANGE_KEEP
                notes.append(
                    f"crosses a {b.describe()}, but both sides stay on one subject "
                    f"({sim_note} alike, same-topic {profile.topic_similarity:.2f}): kept as one "
                    "exchange"
                )
            else:
                keep *= UNRELATED_CHANGE_KEEP
                notes.append(
                    f"crosses a {b.describe()} into unrelated speech ({sim_note} alike, "
                    f"same-topic {profile.topic_similarity:.2f})"
                )
            worst = max(worst, 1.0)
        elif b.long_pause:
            keep *= LONG_PAUSE_KEEP
            notes.append(f"crosses a {b.describe()}")
            worst = max(worst, 0.5)
    why = "; ".join(notes) + f"; score x{keep:.2f}"
    return _with(sc, "boundary", worst, 0.0, sc.score * keep, why)


@dataclass(frozen=True)
class PromptMatch:
    """How each candidate matches the user's prompt, scaled within this video."""

    prompt: str
    prefix: NDArray[np.float64]  # prefix sums of the sentence embeddings (prompt's space)
    vector: NDArray[np.float64]  # the prompt's embedding (unit length, or zeros)
    floor: float  # median candidate similarity: scaled to 0
    best: float  # best candidate similarity: scaled to 1

    def similarity(self, c: Candidate) -> float:
        """Cosine of the window's sentence centroid with the prompt."""
        centroid = self.prefix[c.last + 1] - self.prefix[c.first]
        norm = float(np.linalg.norm(centroid))
        return float(centroid @ self.vector) / norm if norm > 0 else 0.0

    @property
    def quoted(self) -> str:
        p = self.prompt if len(self.prompt) <= PROMPT_QUOTE_CHARS else self.prompt[:59] + "…"
        return f"'{p}'"


def prompt_match(
    prompt: str,
    sentences: NDArray[np.float64],
    vector: NDArray[np.float64],
    candidates: list[Candidate],
) -> PromptMatch:
    norm = float(np.linalg.norm(vector))
    unit = vector / norm if norm > 0 else vector
    d = sentences.shape[1] if sentences.ndim == 2 else 1
    prefix = np.vstack([np.zeros((1, d)), np.cumsum(sentences.reshape(-1, d), axis=0)])
    probe = PromptMatch(prompt, prefix, unit, 0.0, 1.0)
    sims = [probe.similarity(c) for c in candidates]
    if not sims:
        return probe
    return PromptMatch(prompt, prefix, unit, float(np.median(sims)), float(max(sims)))


def prompt_adjustment(match: PromptMatch, sc: ScoredCandidate) -> ScoredCandidate:
    sim = match.similarity(sc.candidate)
    if match.best - match.floor < NO_MATCH_SPREAD:
        # Nothing stands out: blending would only shrink every score alike.
        why = (
            f"nothing in this video matches your prompt {match.quoted} better than the rest "
            f"(this clip {sim:.2f}, best {match.best:.2f}); ranking unchanged"
        )
        return _with(sc, "prompt", 0.0, 0.0, sc.score, why)
    spread = max(match.best - match.floor, 0.05)
    value = min(1.0, max(0.0, (sim - match.floor) / spread))
    new = (1.0 - PROMPT_WEIGHT) * sc.score + PROMPT_WEIGHT * 100.0 * value
    why = (
        f"matches your prompt {match.quoted}: {sim:.2f} (best in this video {match.best:.2f}, "
        f"median {match.floor:.2f}); score blended {PROMPT_WEIGHT:.0%} with the match"
    )
    return _with(sc, "prompt", value, PROMPT_WEIGHT, new, why)
