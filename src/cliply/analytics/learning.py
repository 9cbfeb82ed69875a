"""Per-workspace score weights learnt from how its posts performed.

Ridge regression of log views (7 days after publishing) on the score's named features. The
fitted coefficients become weights like the defaults (non-negative, summing to 1), and are
compared with the defaults by 5-fold cross-validation: each fold scores its held-out posts
with both and ranks them against their views (Spearman). The fitted weights are adopted only
when they rank held-out posts better on average; both correlations are reported and kept.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold
from sqlalchemy.orm import Session

from cliply.analytics import calibration, service
from cliply.clips import service as clips
from cliply.highlights.scoring import DEFAULT_WEIGHTS

NAMES: Final = tuple(DEFAULT_WEIGHTS)
FOLDS: Final = 5
SEED: Final = 13


@dataclass(frozen=True)
class Fit:
    posts: int
    adopted: bool
    fitted_corr: float | None
    default_corr: float | None
    weights: dict[str, float]  # the ones now in use
    message: str


def to_weights(coef: np.ndarray) -> dict[str, float]:
    """Ridge coefficients (per feature) as score weights: negatives dropped, sum 1."""
    pos = np.clip(coef, 0.0, None)
    if pos.sum() <= 0:
        return dict(DEFAULT_WEIGHTS)
    pos = pos / pos.sum()
    return {n: round(float(w), 4) for n, w in zip(NAMES, pos, strict=True)}


def _scores(x: np.ndarray, weights: Mapping[str, float]) -> np.ndarray:
    return np.asarray(x @ np.array([weights.get(n, 0.0) for n in NAMES]), dtype=float)


def fit_weights(x: np.ndarray, y: np.ndarray) -> tuple[dict[str, float], float, float]:
    """(weights fitted on all posts, mean held-out Spearman of fitted, of default weights)."""
    fitted_corrs, default_corrs = [], []
    for train, test in KFold(FOLDS, shuffle=True, random_state=SEED).split(x):
        model = Ridge(alpha=1.0).fit(x[train], y[train])
        w = to_weights(model.coef_)
        fitted_corrs.append(calibration.spearman(_scores(x[test], w), y[test]))
        default_corrs.append(calibration.spearman(_scores(x[test], DEFAULT_WEIGHTS), y[test]))
    weights = to_weights(Ridge(alpha=1.0).fit(x, y).coef_)
    return weights, float(np.mean(fitted_corrs)), float(np.mean(default_corrs))


def training_data(db: Session, workspace_id: uuid.UUID, days: int) -> tuple[np.ndarray, np.ndarray]:
    data = calibration.scored_views(db, workspace_id, days)
    feats = clips.feature_values(db, workspace_id, list({d[1] for d in data}))
    rows = [(feats.get(d[1], {}), d[3]) for d in data]
    x = np.array([[f.get(n, 0.0) for n in NAMES] for f, _ in rows], dtype=float)
    y = np.log1p(np.array([v for _, v in rows], dtype=float))
    return x.reshape(len(rows), len(NAMES)), y


def learn(db: Session, workspace_id: uuid.UUID, days: int = 7) -> Fit:
    x, y = training_data(db, workspace_id, days)
    n = len(y)
    if n < calibration.MIN_POSTS:
        current = service.current_weights(db, workspace_id)
        return Fit(n, False, None, None, current, "not enough posts yet")
    weights, fitted, default = fit_weights(x, y)
    adopted = fitted > default
    service.store_weights(
        db, workspace_id, weights if adopted else None, n, round(fitted, 4), round(default, 4)
    )
    message = (
        "Adopted: the fitted weights rank held-out posts better than the defaults."
        if adopted
        else "Kept the defaults: the fitted weights did not rank held-out posts better."
    )
    return Fit(
        n,
        adopted,
        round(fitted, 4),
        round(default, 4),
        weights if adopted else service.current_weights(db, workspace_id),
        message,
    )
