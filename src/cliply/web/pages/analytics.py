"""Studio analytics pages: the overview (totals and deltas, charts over time, per platform and
account, top posts and clips), a post's series, a clip's posts, and the score cards (how well
the score predicts views; the workspace's learnt weights, with fit and reset).

Pages read through the analytics services, the same ones the JSON API uses; the charts are
drawn by analytics.js (uPlot) from chart specs the page embeds as JSON.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from cliply.accounts import service as accounts
from cliply.analytics import calibration, learning, service, timeline
from cliply.analytics.models import PostMetric
from cliply.billing import service as billing
from cliply.clips import service as clips
from cliply.errors import CliplyError
from cliply.highlights.scoring import DEFAULT_WEIGHTS
from cliply.platforms import registry
from cliply.platforms.base import analytics_access, parse_scopes
from cliply.publishing import service as posts
from cliply.web.deps import PageRoute, Studio, StudioPage, is_htmx
from cliply.web.pages.gallery import REASON_LABELS
from cliply.web.pages.publishing import PLATFORM_NAMES

router = APIRouter(route_class=PageRoute)

PERIODS: Final = {"7": 7, "30": 30, "90": 90}
POST_RANKINGS: Final = {
    "views": "Views",
    "engagement_rate": "Engagement",
    "watch_through": "Watch-through",
}
CLIP_RANKINGS: Final = {"views": "Views", "engagement_rate": "Engagement"}
TOP_LIMIT: Final = 10
RANK_ALL: Final = 100_000
SERIES_PAGES: Final = 20  # a post's series: at most 20 pages of 100 snapshots
CALIBRATION_DAYS: Final = 7
GONE_REASONS: Final = {
    "deleted": "it was deleted",
    "private": "it was made private",
    "unavailable": "it is no longer available (the platform does not say why)",
}


@dataclass
class Filters:
    """The overview's period and filters, read from the query string."""

    period: str = "30"
    start: datetime | None = None
    end: datetime | None = None
    date_from: str = ""
    date_to: str = ""
    platform: str | None = None
    account_id: uuid.UUID | None = None
    errors: dict[str, str] = field(default_factory=dict)


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def read_filters(params: Any, now: datetime) -> Filters:
    f = Filters()
    period = params.get("period", "30")
    f.platform = params.get("platform") or None
    if f.platform not in (None, *PLATFORM_NAMES):
        f.errors["platform"] = "Choose a platform from the list."
        f.platform = None
    if params.get("account"):
        try:
            f.account_id = uuid.UUID(params["account"])
        except ValueError:
            f.errors["account"] = "Choose an account from the list."
    if period == "custom":
        f.period = "custom"
        f.date_from, f.date_to = params.get("from", ""), params.get("to", "")
        start, end = _date(f.date_from), _date(f.date_to)
        if start is None:
            f.errors["from"] = "Enter a start date."
        if end is None:
            f.errors["to"] = "Enter an end date."
        if start is not None and start > now.date():
            f.errors["from"] = "The start date is in the future."
        if start is not None and end is not None and end < start:
            f.errors["to"] = "The end date is before the start date."
        if not f.errors.get("from") and not f.errors.get("to") and start and end:
            f.start = datetime.combine(start, time.min, UTC)
            f.end = min(datetime.combine(end, time.min, UTC) + timedelta(days=1), now)
            return f
        f.period = "custom"  # shown again with its errors; the numbers use 30 days
    elif period in PERIODS:
        f.period = period
    days = PERIODS.get(f.period, 30)
    f.end = now
    f.start = now - timedelta(days=days)
    if f.period != "custom":
        f.date_from, f.date_to = f.start.date().isoformat(), now.date().isoformat()
    return f


def _query(params: Any, **changes: str | None) -> str:
    """The current query string with some keys changed (None drops one)."""
    q = {k: v for k, v in params.items() if v}
    for k, v in changes.items():
        if v is None:
            q.pop(k, None)
        else:
            q[k] = v
    return urlencode(q)


def _ts(at: datetime) -> int:
    return int(at.timestamp())


def _pct(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 3)


def _chart(
    chart_id: str, title: str, series: list[dict[str, Any]], unit: str = ""
) -> dict[str, Any]:
    return {"id": chart_id, "title": title, "series": series, "unit": unit}


def timeline_charts(points: Sequence[timeline.Point]) -> dict[str, Any]:
    """Chart specs for analytics.js: shared x (unix seconds), one spec per chart."""
    return {
        "x": [_ts(p.at) for p in points],
        "charts": [
            _chart("views", "Views", [{"label": "Views", "values": [p.views for p in points]}]),
            _chart(
                "interactions",
                "Likes, comments and shares",
                [
                    {"label": "Likes", "values": [p.likes for p in points]},
                    {"label": "Comments", "values": [p.comments for p in points]},
                    {"label": "Shares", "values": [p.shares for p in points]},
                ],
            ),
            _chart(
                "engagement",
                "Engagement rate",
                [{"label": "Engagement", "values": [_pct(p.engagement_rate) for p in points]}],
                unit="%",
            ),
        ],
    }


def _series(studio: Studio, post_id: uuid.UUID) -> list[PostMetric]:
    """A post's snapshots within the plan's history, oldest first."""
    rows: list[PostMetric] = []
    cursor = None
    for _ in range(SERIES_PAGES):
        page, cursor = service.series(studio.db, studio.workspace_id, post_id, cursor, 100)
        rows += page
        if cursor is None:
            break
    return sorted(rows, key=lambda m: (m.collected_at, m.id))


def post_charts(snaps: Sequence[PostMetric]) -> dict[str, Any]:
    rate = [service.engagement(m.views, m.likes, m.comments, m.shares) for m in snaps]
    charts = timeline_charts([])["charts"]
    charts[0]["series"][0]["values"] = [m.views for m in snaps]
    for s, key in zip(charts[1]["series"], ("likes", "comments", "shares"), strict=True):
        s["values"] = [getattr(m, key) for m in snaps]
    charts[2]["series"][0]["values"] = [_pct(r) for r in rate]
    if any(m.watch_time_s for m in snaps):
        minutes = [round(m.watch_time_s / 60, 1) for m in snaps]
        charts.append(
            _chart("watch", "Watch time (minutes)", [{"label": "Minutes", "values": minutes}])
        )
    # YouTube Analytics' figures, where the account allowed the report.
    if any(m.avg_view_percentage is not None for m in snaps):
        share = [m.avg_view_percentage for m in snaps]
        charts.append(
            _chart("watched", "Average share watched", [{"label": "Watched", "values": share}], "%")
        )
    if any(m.subscribers_gained is not None for m in snaps):
        subs = [m.subscribers_gained for m in snaps]
        charts.append(
            _chart("subscribers", "Subscribers gained", [{"label": "Subscribers", "values": subs}])
        )
    return {"x": [_ts(m.collected_at) for m in snaps], "charts": charts}


def clip_charts(labelled: Sequence[tuple[str, Sequence[PostMetric]]]) -> dict[str, Any]:
    """One line per post on a shared time axis; counters carry forward between snapshots
    (they are cumulative), nothing before a post's first snapshot."""
    xs = sorted({_ts(m.collected_at) for _, snaps in labelled for m in snaps})
    views: list[dict[str, Any]] = []
    rates: list[dict[str, Any]] = []
    for label, snaps in labelled:
        by_t = {_ts(m.collected_at): m for m in snaps}
        v: list[int | None] = []
        r: list[float | None] = []
        last: PostMetric | None = None
        for t in xs:
            last = by_t.get(t, last)
            v.append(last.views if last else None)
            r.append(
                _pct(service.engagement(last.views, last.likes, last.comments, last.shares))
                if last
                else None
            )
        views.append({"label": label, "values": v})
        rates.append({"label": label, "values": r})
    return {
        "x": xs,
        "charts": [
            _chart("views", "Views per post", views),
            _chart("engagement", "Engagement rate per post", rates, unit="%"),
        ],
    }


def not_measured(studio: Studio) -> list[tuple[str, str, bool]]:
    """(account name, why, blocking) for each account whose posts Cliply cannot fully measure:
    it must be reconnected (blocking: no numbers at all), it was connected before the
    platform's statistics scope was asked for (blocking), or it did not allow the optional
    analytics report (counters only: no watch time)."""
    out = []
    for a in accounts.list_accounts(studio.db, studio.workspace_id):
        if a.status == accounts.DISCONNECTED:
            continue
        name = f"{a.display_name or a.external_id} ({PLATFORM_NAMES.get(a.platform, a.platform)})"
        if a.status == accounts.NEEDS_RECONNECT:
            out.append((name, "it must be reconnected", True))
            continue
        try:
            access = analytics_access(registry.get(a.platform), parse_scopes(a.scopes))
        except CliplyError:
            continue  # a platform this server no longer offers
        if access == "reconnect":
            out.append((name, "it was connected before Cliply asked to read its statistics", True))
        elif access == "basic":
            out.append(
                (
                    name,
                    "views, likes and comments only: it did not allow watch-time analytics",
                    False,
                )
            )
    return out


def _names(studio: Studio) -> dict[uuid.UUID, str]:
    return {
        a.id: a.display_name or a.external_id
        for a in accounts.list_accounts(studio.db, studio.workspace_id)
    }


@dataclass(frozen=True)
class FeatureWeight:
    name: str
    label: str
    default: float
    fitted: float | None
    in_use: float

    @property
    def change(self) -> float:
        return 0.0 if self.fitted is None else self.fitted - self.default


def score_cards(
    studio: Studio, fit: learning.Fit | None = None, notice: str | None = None
) -> dict[str, Any]:
    """What the calibration and weights cards show."""
    row = service.weights_row(studio.db, studio.workspace_id)
    in_use = service.current_weights(studio.db, studio.workspace_id)
    features = [
        FeatureWeight(
            name=n,
            label=REASON_LABELS.get(n, n),
            default=DEFAULT_WEIGHTS[n],
            fitted=float(row.weights[n]) if row and row.weights and n in row.weights else None,
            in_use=in_use.get(n, 0.0),
        )
        for n in DEFAULT_WEIGHTS
    ]
    # The biggest moves, in points, as the reasons put them ("+9 instead of +7").
    changes = sorted(
        (w for w in features if abs(w.change) * 100 >= 2), key=lambda w: -abs(w.change)
    )
    return {
        "calibration": calibration.calibrate(studio.db, studio.workspace_id, CALIBRATION_DAYS),
        "changes": changes[:3],
        "min_posts": calibration.MIN_POSTS,
        "weights_row": row,
        "learnt": bool(row and row.weights),
        "features": features,
        "fit": fit,
        "notice": notice,
        "can_fit": studio.can("clips.write"),
    }


@router.get("/analytics", response_class=HTMLResponse)
def overview_page(studio: StudioPage) -> HTMLResponse:
    studio.require("posts.read")
    params = studio.request.query_params
    f = read_filters(params, service.now())
    db, ws = studio.db, studio.workspace_id
    names = _names(studio)
    if f.account_id is not None and f.account_id not in names:
        f.errors["account"] = "Choose an account from the list."
        f.account_id = None
    o = service.overview(db, ws, f.start, f.end, account_id=f.account_id, platform=f.platform)
    points = timeline.timeline(db, ws, o.start, o.end, account_id=f.account_id, platform=f.platform)
    top_by = params.get("top", "views")
    top_by = top_by if top_by in POST_RANKINGS else "views"
    clips_by = params.get("clips", "views")
    clips_by = clips_by if clips_by in CLIP_RANKINGS else "views"
    filtered = f.platform is not None or f.account_id is not None
    # The ranking is computed over every post anyway; with a filter, rank all and keep theirs.
    ranked, _ = service.top_posts(db, ws, top_by, 0, RANK_ALL if filtered else TOP_LIMIT)
    top_posts = [
        p
        for p in ranked
        if (f.platform is None or p.platform == f.platform)
        and (f.account_id is None or p.account_id == f.account_id)
    ][:TOP_LIMIT]
    top_clips, _ = service.top_clips(db, ws, clips_by, 0, TOP_LIMIT)
    clip_ids = list({p.clip_id for p in top_posts if p.clip_id} | {c.clip_id for c in top_clips})
    published, _ = posts.list_posts(db, ws, status="published", limit=1)
    plan = billing.resolve_workspace_plan(db, ws)
    csv_q: dict[str, str] = {"format": "csv", "from": o.start.isoformat(), "to": o.end.isoformat()}
    if f.platform:
        csv_q["platform"] = f.platform
    if f.account_id:
        csv_q["account_id"] = str(f.account_id)
    return studio.render(
        "analytics/index.html",
        f=f,
        o=o,
        has_posts=bool(published),
        not_measured=not_measured(studio),
        can_connect=studio.can("accounts.manage"),
        charts=timeline_charts(points),
        account_names=names,
        platform_names=PLATFORM_NAMES,
        top_posts=top_posts,
        top_by=top_by,
        filtered=filtered,
        top_clips=top_clips,
        clips_by=clips_by,
        post_rankings=POST_RANKINGS,
        clip_rankings=CLIP_RANKINGS,
        clip_titles=clips.titles(db, ws, clip_ids),
        query=lambda **kw: _query(params, **kw),
        overview_csv="/api/v1/analytics/overview?" + urlencode(csv_q),
        plan=plan,
        can_schedule=studio.can("schedules.write"),
        **score_cards(studio),
    )


@router.get("/analytics/posts/{post_id}", response_class=HTMLResponse)
def post_page(post_id: uuid.UUID, studio: StudioPage) -> HTMLResponse:
    studio.require("posts.read")
    db, ws = studio.db, studio.workspace_id
    post = posts.get_post(db, ws, post_id)  # 404 page for another workspace's post
    stats = service.post_stats(db, ws, [post])[0]
    snaps = _series(studio, post_id)
    titles = clips.titles(db, ws, [post.clip_id] if post.clip_id else [])
    return studio.render(
        "analytics/post.html",
        post=post,
        stats=stats,
        snaps=snaps,
        charts=post_charts(snaps),
        clip_title=titles.get(post.clip_id) if post.clip_id else None,
        account_name=_names(studio).get(post.account_id) if post.account_id else None,
        platform_names=PLATFORM_NAMES,
        gone_reasons=GONE_REASONS,
        history_days=billing.resolve_workspace_plan(db, ws).analytics_history_days,
    )


@router.get("/analytics/clips/{clip_id}", response_class=HTMLResponse)
def clip_page(clip_id: uuid.UUID, studio: StudioPage) -> HTMLResponse:
    studio.require("posts.read")
    db, ws = studio.db, studio.workspace_id
    clip = clips.get_clip(db, ws, clip_id)  # 404 page for another workspace's clip
    stats = service.clip_posts(db, ws, clip_id)
    names = _names(studio)
    labelled = []
    for s in stats:
        label = f"{PLATFORM_NAMES.get(s.platform, s.platform)} · {names.get(s.account_id, '') if s.account_id else ''}"
        labelled.append((label.strip(" ·"), _series(studio, s.post_id)))
    totals = {k: sum(getattr(s, k) for s in stats) for k in service.COUNTERS}
    return studio.render(
        "analytics/clip.html",
        clip=clip,
        stats=stats,
        totals=totals,
        engagement=service.engagement(**totals),
        charts=clip_charts(labelled),
        account_names=names,
        platform_names=PLATFORM_NAMES,
        can_schedule=studio.can("schedules.write"),
    )


def _weights_response(
    studio: Studio, fit: learning.Fit | None = None, notice: str | None = None
) -> HTMLResponse:
    cards = score_cards(studio, fit, notice)
    if is_htmx(studio.request):
        return studio.render("analytics/_weights.html", **cards)
    # Without htmx (a plain form post) the whole page is shown again with the result.
    return studio.render("analytics/weights.html", **cards)


@router.post("/analytics/weights/fit", response_class=HTMLResponse)
def fit_weights(studio: StudioPage) -> HTMLResponse:
    """Learn this workspace's weights from its posts; adopted only when better held-out."""
    studio.require("clips.write")
    fit = learning.learn(studio.db, studio.workspace_id, CALIBRATION_DAYS)
    return _weights_response(studio, fit)


@router.post("/analytics/weights/reset", response_class=HTMLResponse)
def reset_weights(studio: StudioPage) -> HTMLResponse:
    studio.require("clips.write")
    service.reset_weights(studio.db, studio.workspace_id)
    return _weights_response(
        studio, notice="Back to the default weights: new highlight detection uses them."
    )
