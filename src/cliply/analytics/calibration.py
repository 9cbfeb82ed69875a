"""How well the highlight score ranks a workspace's posts: Spearman's rank correlation between
each posted clip's score and the post's views N days after publishing, with a 95% bootstrap
interval (fixed seed, so the same data gives the same interval)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

import numpy as np
from sqlalchemy.orm import Session

from cliply.analytics import service
from cliply.clips import service as clips
from cliply.publishing import service as posts

MIN_POSTS: Final = 20
BOOTSTRAP_SAMPLES: Final = 1000
SEED: Final = 13


@dataclass(frozen=True)
class Calibration:
    days: int
    posts: int
    spearman: float | None
    ci_low: float | None
    ci_high: float | None
    message: str


def ranks(a: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their average rank."""
    _, inverse, counts = np.unique(a, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return (ends - (counts - 1) / 2.0)[inverse]


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson's correlation of the ranks (0 when either side has no spread)."""
    rx, ry = ranks(x), ranks(y)
    if rx.std() == 0 or ry.std() == 0:
        return 0.0
    return float(np.corrcoef(rx, ry)[0, 1])


def bootstrap_ci(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    rng = np.random.default_rng(SEED)
    n = len(x)
    stats = []
    for _ in range(BOOTSTRAP_SAMPLES):
        idx = rng.integers(0, n, n)
        stats.append(spearman(x[idx], y[idx]))
    low, high = np.percentile(stats, [2.5, 97.5])
    return float(low), float(high)


def scored_views(
    db: Session, workspace_id: uuid.UUID, days: int
) -> list[tuple[uuid.UUID, uuid.UUID, float, int]]:
    """(post, clip, clip score, views `days` after publishing) of every post that old."""
    at = service.now()
    cutoff = at - timedelta(days=days)
    rows, _ = posts.list_posts(db, workspace_id, status="published", limit=100_000)
    old = [p for p in rows if p.published_at is not None and p.published_at <= cutoff and p.clip_id]
    scores = clips.scores(db, workspace_id, list({p.clip_id for p in old if p.clip_id}))
    out = []
    for p in old:
        if p.clip_id not in scores or p.published_at is None:
            continue
        views = service.views_at(db, workspace_id, p.id, p.published_at + timedelta(days=days))
        if views is not None:
            out.append((p.id, p.clip_id, scores[p.clip_id], views))
    return out


def calibrate(db: Session, workspace_id: uuid.UUID, days: int = 7) -> Calibration:
    data = scored_views(db, workspace_id, days)
    n = len(data)
    if n < MIN_POSTS:
        return Calibration(days, n, None, None, None, "not enough posts yet")
    x = np.array([d[2] for d in data], dtype=float)
    y = np.array([d[3] for d in data], dtype=float)
    rho = spearman(x, y)
    low, high = bootstrap_ci(x, y)
    return Calibration(
        days, n, round(rho, 4), round(low, 4), round(high, 4), f"Spearman over {n} posts"
    )
