"""Clicks on tracked product links and click-through rate (clicks / views) per product, clip
and post. Clicks come from the products domain, posts from publishing, views from this
domain's latest snapshot of each post; bot clicks are reported apart and left out of CTR.

Only posts whose caption carried a tracked link count towards a product's or clip's views:
the CTR is of the audience that could click.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy.orm import Session

from cliply.analytics import service
from cliply.products import service as products
from cliply.publishing import service as posts

By = Literal["product", "clip", "post"]


@dataclass
class ClickStats:
    id: uuid.UUID
    label: str
    clicks: int = 0
    bot_clicks: int = 0
    views: int = 0
    post_ids: set[uuid.UUID] = field(default_factory=set)

    @property
    def posts(self) -> int:
        return len(self.post_ids)

    @property
    def ctr(self) -> float | None:
        return round(self.clicks / self.views, 6) if self.views > 0 else None


def click_stats(db: Session, workspace_id: uuid.UUID, by: By) -> list[ClickStats]:
    """One row per product (every product, clicked or not), clip or post (those with tracked
    links), most clicked first."""
    by_schedule = products.product_schedules(db, workspace_id)
    schedule_ids = sorted({s for ss in by_schedule.values() for s in ss})
    post_of = posts.posts_for_schedules(db, schedule_ids)
    views = {
        pid: int(m.views)
        for pid, m in service.latest_snapshots(db, [p.id for p in post_of.values()]).items()
    }
    rows: dict[uuid.UUID, ClickStats] = {}
    if by == "product":
        counts = products.clicks_by_product(db, workspace_id)
        for product in products.all_products(db, workspace_id):
            row = rows[product.id] = ClickStats(product.id, product.name)
            row.clicks, row.bot_clicks = counts.get(product.id, (0, 0))
            row.post_ids = {
                post_of[s].id for s in by_schedule.get(product.id, set()) if s in post_of
            }
    elif by == "clip":
        counts = products.clicks_by_clip(db, workspace_id)
        for post in post_of.values():
            if post.clip_id is not None:
                rows.setdefault(post.clip_id, ClickStats(post.clip_id, str(post.clip_id)))
                rows[post.clip_id].post_ids.add(post.id)
        for clip_id, (clicks, bots) in counts.items():
            row = rows.setdefault(clip_id, ClickStats(clip_id, str(clip_id)))
            row.clicks, row.bot_clicks = clicks, bots
    else:
        counts = products.clicks_by_post(db, workspace_id)
        for post in post_of.values():
            row = rows[post.id] = ClickStats(post.id, f"{post.platform} {post.url or ''}".strip())
            row.post_ids = {post.id}
            row.clicks, row.bot_clicks = counts.get(post.id, (0, 0))
    for row in rows.values():
        row.views = sum(views.get(p, 0) for p in row.post_ids)
    return sorted(rows.values(), key=lambda r: (-r.clicks, -r.views, r.label, str(r.id)))
