"""/api/v1/analytics: overview, a post's series, a clip's posts, top lists; each also as CSV
(`?format=csv` or `Accept: text/csv`)."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import AfterValidator, BaseModel, BeforeValidator

from cliply.analytics import calibration, learning, service
from cliply.analytics.schemas import (
    CalibrationOut,
    ClipAnalyticsOut,
    ClipStatsOut,
    FitOut,
    KeyedTotals,
    OverviewOut,
    PostStatsOut,
    SnapshotOut,
    TotalsOut,
    WeightsOut,
)
from cliply.api.deps import DB
from cliply.db.pagination import Page, decode_offset, encode_offset
from cliply.highlights.scoring import DEFAULT_WEIGHTS
from cliply.workspaces.deps import HeaderTenant

router = APIRouter(prefix="/analytics", tags=["analytics"])
Format = Annotated[Literal["json", "csv"] | None, Query()]
Cursor = Annotated[str | None, Query(max_length=500)]
Limit = Annotated[int, Query(ge=1, le=100)]


# Every list or total here also comes as CSV (`?format=csv` or `Accept: text/csv`).
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": "JSON, or CSV with `format=csv` / `Accept: text/csv`",
    }
}


def _iso_only(value: object) -> object:
    """A moment as ISO 8601: pydantic would read a bare number as a Unix time."""
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return value
        raise ValueError("expected an ISO 8601 date-time, e.g. 2026-01-31T12:00:00Z")
    return value


def _utc(value: datetime | None) -> datetime | None:
    """A moment without a time zone is UTC (comparing it with stored times would fail)."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


Moment = Annotated[datetime | None, BeforeValidator(_iso_only), AfterValidator(_utc)]


def _wants_csv(request: Request, fmt: str | None) -> bool:
    return fmt == "csv" or (fmt is None and "text/csv" in request.headers.get("accept", ""))


def _csv(rows: Sequence[BaseModel], name: str) -> Response:
    buf = io.StringIO()
    dicts = [r.model_dump(mode="json") for r in rows]
    fields = list(dicts[0]) if dicts else []
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    for d in dicts:
        writer.writerow({k: v for k, v in d.items() if not isinstance(v, list | dict)})
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def _offset(cursor: str | None) -> int:
    return decode_offset(cursor)


def _cursor(offset: int | None) -> str | None:
    return None if offset is None else encode_offset(offset)


@router.get("/overview", response_model=OverviewOut, responses=CSV_RESPONSE)
def overview(
    request: Request,
    tenant: HeaderTenant,
    db: DB,
    from_: Annotated[Moment, Query(alias="from")] = None,
    to: Annotated[Moment, Query()] = None,
    account_id: uuid.UUID | None = None,
    platform: Annotated[str | None, Query(max_length=20)] = None,
    format: Format = None,
) -> Any:
    tenant.require("posts.read")
    o = service.overview(
        db, tenant.workspace_id, from_, to, account_id=account_id, platform=platform
    )

    def keyed(key: object, t: service.Totals) -> KeyedTotals:
        return KeyedTotals(key=str(key), engagement_rate=t.engagement_rate, **vars(t))

    out = OverviewOut(
        start=o.start,
        end=o.end,
        history_limited=o.history_limited,
        total=TotalsOut(engagement_rate=o.total.engagement_rate, **vars(o.total)),
        platforms=[keyed(k, t) for k, t in sorted(o.platforms.items())],
        accounts=[keyed(k, t) for k, t in sorted(o.accounts.items(), key=lambda x: str(x[0]))],
    )
    if _wants_csv(request, format):
        rows = [KeyedTotals(key="total", **out.total.model_dump()), *out.platforms, *out.accounts]
        return _csv(rows, "overview")
    return out


@router.get("/posts/{post_id}/series", response_model=Page[SnapshotOut], responses=CSV_RESPONSE)
def post_series(
    post_id: uuid.UUID,
    request: Request,
    tenant: HeaderTenant,
    db: DB,
    cursor: Cursor = None,
    limit: Limit = 100,
    format: Format = None,
) -> Any:
    tenant.require("posts.read")
    rows, nxt = service.series(db, tenant.workspace_id, post_id, cursor, limit)
    items = [SnapshotOut.model_validate(r) for r in rows]
    if _wants_csv(request, format):
        return _csv(items, f"post-{post_id}")
    return Page[SnapshotOut](items=items, next_cursor=nxt)


@router.get("/clips/{clip_id}", response_model=ClipAnalyticsOut, responses=CSV_RESPONSE)
def clip(
    clip_id: uuid.UUID, request: Request, tenant: HeaderTenant, db: DB, format: Format = None
) -> Any:
    tenant.require("posts.read")
    stats = service.clip_posts(db, tenant.workspace_id, clip_id)
    items = [PostStatsOut.model_validate(s) for s in stats]
    if _wants_csv(request, format):
        return _csv(items, f"clip-{clip_id}")
    totals = {k: sum(getattr(s, k) for s in stats) for k in service.COUNTERS}
    return ClipAnalyticsOut(
        clip_id=clip_id,
        posts=len(stats),
        engagement_rate=service.engagement(**totals),
        items=items,
        **totals,
    )


@router.get("/top/posts", response_model=Page[PostStatsOut], responses=CSV_RESPONSE)
def top_posts(
    request: Request,
    tenant: HeaderTenant,
    db: DB,
    by: Literal["views", "engagement_rate", "watch_through"] = "views",
    cursor: Cursor = None,
    limit: Limit = 20,
    format: Format = None,
) -> Any:
    tenant.require("posts.read")
    rows, nxt = service.top_posts(db, tenant.workspace_id, by, _offset(cursor), limit)
    items = [PostStatsOut.model_validate(r) for r in rows]
    if _wants_csv(request, format):
        return _csv(items, f"top-posts-{by}")
    return Page[PostStatsOut](items=items, next_cursor=_cursor(nxt))


@router.get("/top/clips", response_model=Page[ClipStatsOut], responses=CSV_RESPONSE)
def top_clips(
    request: Request,
    tenant: HeaderTenant,
    db: DB,
    by: Literal["views", "engagement_rate"] = "views",
    cursor: Cursor = None,
    limit: Limit = 20,
    format: Format = None,
) -> Any:
    tenant.require("posts.read")
    rows, nxt = service.top_clips(db, tenant.workspace_id, by, _offset(cursor), limit)
    items = [ClipStatsOut.model_validate(r) for r in rows]
    if _wants_csv(request, format):
        return _csv(items, f"top-clips-{by}")
    return Page[ClipStatsOut](items=items, next_cursor=_cursor(nxt))


@router.get(
    "/score-calibration",
    response_model=CalibrationOut,
    summary="How well the highlight score ranked this workspace's posts by views",
)
def score_calibration(
    tenant: HeaderTenant, db: DB, days: Annotated[int, Query(ge=1, le=90)] = 7
) -> CalibrationOut:
    tenant.require("posts.read")
    return CalibrationOut.model_validate(calibration.calibrate(db, tenant.workspace_id, days))


def _weights(db: DB, workspace_id: uuid.UUID) -> WeightsOut:
    row = service.weights_row(db, workspace_id)
    return WeightsOut(
        weights=service.current_weights(db, workspace_id),
        default_weights=dict(DEFAULT_WEIGHTS),
        learnt=bool(row is not None and row.weights),
        sample_size=row.sample_size if row else None,
        fitted_corr=row.fitted_corr if row else None,
        default_corr=row.default_corr if row else None,
        fitted_at=row.fitted_at if row else None,
    )


@router.get("/score-weights", response_model=WeightsOut)
def score_weights(tenant: HeaderTenant, db: DB) -> WeightsOut:
    tenant.require("posts.read")
    return _weights(db, tenant.workspace_id)


@router.post("/score-weights/fit", response_model=FitOut)
def fit_score_weights(
    tenant: HeaderTenant, db: DB, days: Annotated[int, Query(ge=1, le=90)] = 7
) -> FitOut:
    """Learn this workspace's weights from its posts; adopted only when better held-out."""
    tenant.require("clips.write")
    return FitOut.model_validate(learning.learn(db, tenant.workspace_id, days))


@router.delete("/score-weights", response_model=WeightsOut)
def reset_score_weights(tenant: HeaderTenant, db: DB) -> WeightsOut:
    """Back to the default weights."""
    tenant.require("clips.write")
    service.reset_weights(db, tenant.workspace_id)
    return _weights(db, tenant.workspace_id)
