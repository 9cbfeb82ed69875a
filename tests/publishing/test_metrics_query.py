"""Each adapter's metrics query against its fake: the counters of published posts, and
`gone` for a post the platform no longer shows (the base of the analytics collection)."""

from __future__ import annotations

import uuid

import pytest
from tests.publishing.helpers import World, connect, posts_in_db, run_due_jobs, schedule

from cliply.accounts.service import account_ref, get_account
from cliply.db.engine import owner_session
from cliply.platforms import registry
from cliply.platforms.base import PostMetrics
from cliply.publishing.session import TokenSession

# Every test here needs the database (or a server process): integration tier.
pytestmark = pytest.mark.integration

PRIVACY = {"tiktok": "private", "youtube": "unlisted", "instagram": "public", "facebook": "public"}
GONE_REASON = {"tiktok": "unavailable", "youtube": "deleted", "instagram": None, "facebook": None}
# What each fake reports for a fresh post (views, likes, comments, shares).
EXPECTED = {
    "tiktok": (1500, 90, 12, 5),
    "youtube": (800, 40, 3, None),
    "instagram": (120, 7, 2, 1),
    "facebook": (340, 12, 4, 2),
}


@pytest.mark.parametrize("platform", ["tiktok", "youtube", "instagram", "facebook"])
def test_metrics_query(world: World, platform: str) -> None:
    account = connect(world, platform)
    schedule(world, platform, scheduled_at=None, privacy=PRIVACY[platform])
    assert [r.status for r in run_due_jobs()] == ["succeeded"]
    (post,) = posts_in_db(world.workspace_id)
    assert post.platform_post_id
    adapter = registry.get(platform)
    account_id = uuid.UUID(account["id"])
    with owner_session() as db:
        ref = account_ref(get_account(db, world.workspace_id, account_id))
    missing = "9" * len(post.platform_post_id)
    got = adapter.metrics(TokenSession(account_id), ref, [post.platform_post_id, missing])
    assert [m.platform_post_id for m in got] == [post.platform_post_id, missing]
    first, gone = got
    assert (first.views, first.likes, first.comments, first.shares) == EXPECTED[platform]
    assert not first.gone
    # Which of deleted/private, where the platform tells (None: the collector's "unavailable").
    assert gone == PostMetrics(
        platform_post_id=missing, gone=True, gone_reason=GONE_REASON[platform]
    )
