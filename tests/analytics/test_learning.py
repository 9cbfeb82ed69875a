"""Learning per-workspace score weights on a synthetic audience whose views follow a hidden
rule over the score's features (emotion and pace, not hook): the fitted weights must rank
held-out clips better than the defaults; the defaults come back on reset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from cliply.analytics import calibration, learning
from cliply.analytics.models import PostMetric
from cliply.clips.models import Clip
from cliply.db.engine import owner_session
from cliply.highlights.scoring import DEFAULT_WEIGHTS
from tests.analytics.helpers import add_posts
from tests.publishing.helpers import World, add_clip, connect

NAMES = list(DEFAULT_WEIGHTS)


def hidden_views(features: np.ndarray) -> np.ndarray:
    """The audience: views grow with emotion and pace; hook does not matter to it."""
    emotion, pace = features[:, NAMES.index("emotion")], features[:, NAMES.index("pace")]
    return np.round(np.exp(5.0 + 3.0 * emotion + 2.0 * pace))


def _features(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.0, 1.0, size=(n, len(NAMES)))


def _post_clips(world: World, account_id: str, features: np.ndarray) -> None:
    views = hidden_views(features)
    published = datetime.now(UTC) - timedelta(days=10)
    for i, row in enumerate(features):
        _, clip_id = add_clip(world.workspace_id, None, project_id=world.project_id)
        with owner_session() as db:
            clip = db.get(Clip, clip_id)
            assert clip is not None
            clip.reasons = [{"name": n, "value": float(v)} for n, v in zip(NAMES, row, strict=True)]
            clip.score = float(
                100 * sum(DEFAULT_WEIGHTS[n] * v for n, v in zip(NAMES, row, strict=True))
            )
        (post_id,) = add_posts(
            world.workspace_id, clip_id, account_id, "tiktok", [f"8{i:05d}"], age=timedelta(days=10)
        )
        with owner_session() as db:
            db.add(
                PostMetric(
                    workspace_id=world.workspace_id,
                    post_id=post_id,
                    collected_at=published + timedelta(days=7),
                    views=int(views[i]),
                )
            )


def test_learning_beats_the_default_weights_on_held_out_clips(world: World) -> None:
    account = connect(world, "tiktok")
    api, h = world.api, world.h
    assert api.get("/api/v1/analytics/score-weights", headers=h).json()["learnt"] is False
    few = api.post("/api/v1/analytics/score-weights/fit", headers=h).json()
    assert few["adopted"] is False and few["message"] == "not enough posts yet"

    _post_clips(world, account["id"], _features(60, seed=1))
    r = api.post("/api/v1/analytics/score-weights/fit", headers=h)
    assert r.status_code == 200, r.text
    fit = r.json()
    assert fit["posts"] == 60 and fit["adopted"] is True
    assert fit["fitted_corr"] > fit["default_corr"]
    w = fit["weights"]
    assert w["emotion"] > DEFAULT_WEIGHTS["emotion"] and w["hook"] < DEFAULT_WEIGHTS["hook"]
    assert abs(sum(w.values()) - 1.0) < 0.01

    # Clips the fit never saw: the learnt weights rank them better than the defaults.
    held_out = _features(40, seed=2)
    views = hidden_views(held_out)
    learnt = calibration.spearman(held_out @ np.array([w[n] for n in NAMES]), views)
    default = calibration.spearman(held_out @ np.array([DEFAULT_WEIGHTS[n] for n in NAMES]), views)
    assert learnt > default + 0.2, (learnt, default)

    stored = api.get("/api/v1/analytics/score-weights", headers=h).json()
    assert stored["learnt"] is True and stored["weights"] == w and stored["sample_size"] == 60
    assert stored["fitted_corr"] == fit["fitted_corr"] and stored["fitted_at"]
    reset = api.delete("/api/v1/analytics/score-weights", headers=h).json()
    assert reset["learnt"] is False and reset["weights"] == DEFAULT_WEIGHTS


def test_fitted_weights_not_adopted_when_defaults_rank_better() -> None:
    # An audience that follows the default score exactly: the defaults cannot be beaten.
    x = _features(60, seed=3)
    y = np.log1p(x @ np.array([DEFAULT_WEIGHTS[n] for n in NAMES]) * 1000)
    _, fitted, default = learning.fit_weights(x, y)
    assert default >= fitted and default > 0.99
