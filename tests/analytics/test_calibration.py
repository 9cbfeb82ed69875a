"""Score calibration: Spearman between clip scores and views N days after publishing, with a
fixed-seed bootstrap interval; "not enough posts yet" below 20."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from cliply.analytics.calibration import spearman
from cliply.analytics.models import PostMetric
from cliply.clips.models import Clip
from cliply.db.engine import owner_session
from tests.analytics.helpers import add_posts
from tests.publishing.helpers import World, add_clip, connect


def _scored_posts(world: World, account_id: str, n: int, views_of: list[int]) -> None:
    """n clips scored 1..n, each posted 10 days ago, with views 7 days after publishing."""
    published = datetime.now(UTC) - timedelta(days=10)
    for i in range(n):
        _, clip_id = add_clip(world.workspace_id, None, project_id=world.project_id)
        with owner_session() as db:
            clip = db.get(Clip, clip_id)
            assert clip is not None
            clip.score = float(i + 1)
        (post_id,) = add_posts(
            world.workspace_id,
            clip_id,
            account_id,
            "tiktok",
            [f"7{i:05d}"],
            age=timedelta(days=10),
        )
        with owner_session() as db:
            db.add_all(
                [
                    PostMetric(
                        workspace_id=world.workspace_id,
                        post_id=post_id,
                        collected_at=published + timedelta(days=6, hours=23),
                        views=views_of[i],
                    ),
                    # Later counts must not count (views after 7 days are asked).
                    PostMetric(
                        workspace_id=world.workspace_id,
                        post_id=post_id,
                        collected_at=published + timedelta(days=9),
                        views=10**9 - views_of[i],
                    ),
                ]
            )


def test_spearman_handles_ties_and_order() -> None:
    assert spearman(np.array([1, 2, 3.0]), np.array([10, 20, 30.0])) == 1.0
    assert spearman(np.array([1, 2, 3.0]), np.array([3, 2, 1.0])) == -1.0
    assert spearman(np.array([1, 1, 1.0]), np.array([3, 2, 1.0])) == 0.0


def test_calibration_needs_twenty_posts_then_reports_rank_correlation(world: World) -> None:
    account = connect(world, "tiktok")
    url = "/api/v1/analytics/score-calibration"
    _scored_posts(world, account["id"], 19, [100 * (i + 1) for i in range(19)])
    r = world.api.get(url, headers=world.h).json()
    assert r == {
        "days": 7,
        "posts": 19,
        "spearman": None,
        "ci_low": None,
        "ci_high": None,
        "message": "not enough posts yet",
    }
    # One more post, with views mostly following the score (two swapped pairs).
    views = [100 * (i + 1) for i in range(20)]
    views[2], views[3] = views[3], views[2]
    views[10], views[15] = views[15], views[10]
    with owner_session() as db:
        db.query(PostMetric).filter(PostMetric.workspace_id == world.workspace_id).delete()
    # The 19 earlier posts now have no count at 7 days: only the 20 new ones are ranked.
    _scored_posts(world, account["id"], 20, views)
    r = world.api.get(url, headers=world.h).json()
    assert r["posts"] == 20
    expected = spearman(np.arange(1.0, 21.0), np.array(views, dtype=float))
    assert 0.9 < expected < 1.0 and r["spearman"] == round(expected, 4)
    first = world.api.get(url, headers=world.h).json()
    assert first == r  # fixed seed: the same interval every time
    assert r["spearman"] is not None and r["ci_low"] <= r["spearman"] <= r["ci_high"]
    assert r["ci_high"] <= 1.0 and r["ci_low"] > -1.0
