"""Studio pages: billing (plan, usage against each limit, upgrade, customer portal)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from cliply.billing import service as billing_service
from cliply.billing.gate import usage_summary
from cliply.billing.plans import ORDER, PLANS
from cliply.web.deps import PageRoute, StudioPage

router = APIRouter(route_class=PageRoute)

METRIC_LABELS = {
    "source_minutes": ("Video minutes this month", "min"),
    "projects": ("Projects this month", ""),
    "connected_accounts": ("Connected accounts", ""),
    "concurrent_jobs": ("Jobs running now", ""),
}
LIMIT_LABELS = {
    "source_minutes_per_month": "video minutes a month",
    "max_source_minutes": "minutes longest video",
    "projects_per_month": "projects a month",
    "clips_per_project": "clips per project",
    "connected_accounts": "connected accounts",
    "concurrent_jobs": "jobs at once",
    "max_render_height": "p render quality",
    "experiment_variants": "variants per experiment",
    "running_experiments": "experiments at once",
}


@router.get("/billing", response_class=HTMLResponse)
def billing(studio: StudioPage, upgrade: str = "", checkout: str = "") -> HTMLResponse:
    studio.require("billing.read")
    summary = usage_summary(studio.db, studio.workspace_id)
    sub = billing_service.current_subscription(studio.db, studio.workspace_id)
    prices = billing_service.plan_prices()
    rows = []
    for line in summary["usage"]:
        label, unit = METRIC_LABELS.get(line["metric"], (line["metric"], ""))
        limit = line["limit"] or 0
        pct = 100 if limit <= 0 else min(100, round(100 * line["used"] / limit))
        rows.append({**line, "label": label, "unit": unit, "pct": pct})
    return studio.render(
        "billing/index.html",
        summary=summary,
        usage=rows,
        sub=sub,
        plans=[PLANS[n] for n in ORDER],
        order=list(ORDER),
        purchasable=set(prices),
        limit_labels=LIMIT_LABELS,
        highlight=upgrade if upgrade in PLANS else "",
        checkout=checkout,
    )
