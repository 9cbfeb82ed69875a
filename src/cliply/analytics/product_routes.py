"""/api/v1/analytics/products and /api/v1/analytics/clicks: tracked-link clicks and CTR per
product, clip or post; each also as CSV (`?format=csv` or `Accept: text/csv`)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from cliply.analytics import product_stats
from cliply.analytics.routes import (
    CSV_RESPONSE,
    Cursor,
    Format,
    Limit,
    _csv,
    _cursor,
    _offset,
    _wants_csv,
)
from cliply.api.deps import DB
from cliply.db.pagination import Page
from cliply.workspaces.deps import HeaderTenant

router = APIRouter(prefix="/analytics", tags=["analytics"])


class ClickStatsOut(BaseModel):
    by: str
    id: uuid.UUID
    label: str
    clicks: int = Field(description="Clicks by people (bots left out)")
    bot_clicks: int
    posts: int = Field(description="Published posts that carried the tracked link")
    views: int
    ctr: float | None = Field(description="clicks / views; null without views")


def _page(
    request: Request,
    tenant: HeaderTenant,
    db: DB,
    by: product_stats.By,
    cursor: str | None,
    limit: int,
    fmt: str | None,
) -> Any:
    tenant.require("posts.read")
    stats = product_stats.click_stats(db, tenant.workspace_id, by)
    items = [
        ClickStatsOut(
            by=by,
            id=s.id,
            label=s.label,
            clicks=s.clicks,
            bot_clicks=s.bot_clicks,
            posts=s.posts,
            views=s.views,
            ctr=s.ctr,
        )
        for s in stats
    ]
    if _wants_csv(request, fmt):
        return _csv(items, f"clicks-by-{by}")
    start = _offset(cursor)
    end = start + limit
    return Page[ClickStatsOut](
        items=items[start:end], next_cursor=_cursor(end if end < len(items) else None)
    )


@router.get("/products", response_model=Page[ClickStatsOut], responses=CSV_RESPONSE)
def products(
    request: Request,
    tenant: HeaderTenant,
    db: DB,
    cursor: Cursor = None,
    limit: Limit = 50,
    format: Format = None,
) -> Any:
    """Every product: clicks on its tracked links, bot clicks, views of the posts carrying
    them, and CTR; most clicked first."""
    return _page(request, tenant, db, "product", cursor, limit, format)


@router.get("/clicks", response_model=Page[ClickStatsOut], responses=CSV_RESPONSE)
def clicks(
    request: Request,
    tenant: HeaderTenant,
    db: DB,
    by: product_stats.By = "post",
    cursor: Cursor = None,
    limit: Limit = 50,
    format: Format = None,
) -> Any:
    """Tracked-link clicks and CTR per product, clip or post."""
    return _page(request, tenant, db, by, cursor, limit, format)
