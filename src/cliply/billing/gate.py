"""The one gate every plan-limited action goes through.

- `check_feature(db, ws, "scheduling")`: the plan has the feature, or 402
  `plan-feature-unavailable` (feature, plan, upgrade_to).
- `check_limit(db, ws, "connected_accounts", current=n)`: `current + adding` stays within the
  plan's number, or 402 `plan-limit-exceeded` (limit, limit_value, usage, requested, plan,
  upgrade_to). For a size-type limit (longest source video, render height) pass the size as
  `current` and `adding=0`.
- `consume(db, ws, "source_minutes", 42.5, event_key=...)`: monthly metered usage, checked and
  added in one statement so parallel callers cannot overshoot; each `event_key` counts once.
- `release(...)` gives an event's usage back (a failed upload); `usage_summary` for the API.

The billing period for metered usage is the calendar month in UTC.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from cliply.billing.models import UsageEvent, WorkspaceUsage
from cliply.billing.plans import FEATURES, LIMITS, METERED, PLANS, Plan, lifting_plan
from cliply.billing.service import resolve_workspace_plan
from cliply.errors import PlanLimitExceeded
from cliply.jobs import service as jobs_service

__all__ = [
    "FEATURES",
    "LIMITS",
    "METERED",
    "PlanLimitExceeded",
    "check_feature",
    "check_limit",
    "consume",
    "current_usage",
    "period_bounds",
    "release",
    "usage_summary",
]

_LIMIT_WORDS = {
    "source_minutes_per_month": "minutes of source video this month",
    "max_source_minutes": "minutes for one source video",
    "projects_per_month": "new projects this month",
    "clips_per_project": "clips in one project",
    "connected_accounts": "connected accounts",
    "concurrent_jobs": "jobs running at once",
    "max_render_height": "pixels of render resolution (short side)",
    "experiment_variants": "variants in one experiment",
    "running_experiments": "experiments running at once",
}


def period_bounds(now: datetime | None = None) -> tuple[date, date]:
    """[start, end) of the billing period holding `now`: the calendar month in UTC."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    start = date(now.year, now.month, 1)
    end = date(now.year + 1, 1, 1) if now.month == 12 else date(now.year, now.month + 1, 1)
    return start, end


def _fmt(value: float) -> str:
    return f"{value:g}"


def _upgrade_hint(upgrade_to: str | None) -> str:
    return f" Upgrade to {PLANS[upgrade_to].title} to lift it." if upgrade_to else ""


def check_feature(db: Session, workspace_id: uuid.UUID, feature: str) -> None:
    if feature not in FEATURES:
        raise ValueError(f"unknown plan feature {feature!r}")
    plan = resolve_workspace_plan(db, workspace_id)
    if getattr(plan, feature):
        return
    upgrade_to = lifting_plan(feature, True)
    raise PlanLimitExceeded(
        f"The {plan.title} plan does not include {feature}.{_upgrade_hint(upgrade_to)}",
        code="plan-feature-unavailable",
        feature=feature,
        plan=plan.name,
        upgrade_to=upgrade_to,
    )


def _exceeded(
    plan: Plan, limit: str, limit_value: float, usage: float, requested: float
) -> PlanLimitExceeded:
    needed = usage + requested
    upgrade_to = lifting_plan(limit, needed)
    words = _LIMIT_WORDS.get(limit, limit)
    detail = (
        f"The {plan.title} plan allows {_fmt(limit_value)} {words}; this needs {_fmt(needed)}."
        f"{_upgrade_hint(upgrade_to)}"
    )
    return PlanLimitExceeded(
        detail,
        code="plan-limit-exceeded",
        limit=limit,
        limit_value=limit_value,
        usage=usage,
        requested=requested,
        plan=plan.name,
        upgrade_to=upgrade_to,
    )


def check_limit(
    db: Session, workspace_id: uuid.UUID, limit: str, current: float, adding: float = 1
) -> None:
    """Allow when `current + adding` is within the plan's `limit` (a Plan field name)."""
    if limit not in LIMITS:
        raise ValueError(f"unknown plan limit {limit!r}")
    plan = resolve_workspace_plan(db, workspace_id)
    value: int = getattr(plan, limit)
    if current + adding > value:
        raise _exceeded(plan, limit, value, current, adding)


def _metered_field(metric: str) -> str:
    try:
        return METERED[metric]
    except KeyError:
        raise ValueError(f"unknown metered metric {metric!r}") from None


def current_usage(
    db: Session, workspace_id: uuid.UUID, metric: str, *, now: datetime | None = None
) -> float:
    _metered_field(metric)
    start, _ = period_bounds(now)
    used = db.scalar(
        select(WorkspaceUsage.quantity).where(
            WorkspaceUsage.workspace_id == workspace_id,
            WorkspaceUsage.metric == metric,
            WorkspaceUsage.period_start == start,
        )
    )
    return float(used or 0.0)


def consume(
    db: Session,
    workspace_id: uuid.UUID,
    metric: str,
    amount: float,
    *,
    event_key: str,
    now: datetime | None = None,
) -> bool:
    """Record `amount` of `metric` once per `event_key`, within the plan's monthly limit.

    Returns False when this event_key was already counted (a retried job), True when it was
    counted now; raises PlanLimitExceeded (nothing recorded) when it would exceed the limit.
    Runs in a savepoint of the caller's transaction: the usage commits with the caller's work.
    """
    field = _metered_field(metric)
    if amount < 0:
        raise ValueError("amount must not be negative")
    if not event_key or len(event_key) > 200:
        raise ValueError("event_key must be 1-200 characters")
    plan = resolve_workspace_plan(db, workspace_id, now=now)
    limit_value: int = getattr(plan, field)
    start, _ = period_bounds(now)
    # Raising inside the savepoint rolls back the event row with it.
    with db.begin_nested():
        # The unique key makes a concurrent duplicate wait for us, then find our row.
        new_event = db.scalar(
            insert(UsageEvent)
            .values(
                workspace_id=workspace_id,
                metric=metric,
                event_key=event_key,
                quantity=amount,
                period_start=start,
            )
            .on_conflict_do_nothing(index_elements=["workspace_id", "metric", "event_key"])
            .returning(UsageEvent.id)
        )
        if new_event is None:
            return False
        db.execute(
            insert(WorkspaceUsage)
            .values(workspace_id=workspace_id, metric=metric, period_start=start, quantity=0)
            .on_conflict_do_nothing()
        )
        # Check and add in one UPDATE: the row lock serialises parallel consumers and each
        # re-evaluates the WHERE against the committed total.
        total = db.scalar(
            update(WorkspaceUsage)
            .where(
                WorkspaceUsage.workspace_id == workspace_id,
                WorkspaceUsage.metric == metric,
                WorkspaceUsage.period_start == start,
                WorkspaceUsage.quantity + amount <= limit_value,
            )
            .values(quantity=WorkspaceUsage.quantity + amount, updated_at=func.now())
            .returning(WorkspaceUsage.quantity)
        )
        if total is None:
            used = current_usage(db, workspace_id, metric, now=now)
            raise _exceeded(plan, field, limit_value, used, amount)
    return True


def release(db: Session, workspace_id: uuid.UUID, metric: str, *, event_key: str) -> bool:
    """Give back the usage recorded under `event_key` (e.g. an upload that failed).

    Returns False when nothing was recorded under that key. The key is forgotten, so a later
    successful attempt with the same key counts again.
    """
    _metered_field(metric)
    row = db.execute(
        delete(UsageEvent)
        .where(
            UsageEvent.workspace_id == workspace_id,
            UsageEvent.metric == metric,
            UsageEvent.event_key == event_key,
        )
        .returning(UsageEvent.quantity, UsageEvent.period_start)
    ).first()
    if row is None:
        return False
    quantity, start = row
    db.execute(
        update(WorkspaceUsage)
        .where(
            WorkspaceUsage.workspace_id == workspace_id,
            WorkspaceUsage.metric == metric,
            WorkspaceUsage.period_start == start,
        )
        .values(
            quantity=func.greatest(WorkspaceUsage.quantity - quantity, 0), updated_at=func.now()
        )
    )
    return True


# Counters of things other domains own that a plan limits "right now" (not per period).
# The gate sits below those domains (they check their limits here), so each counter is handed
# in by the assembly (`cliply.app.install_hooks`), never imported from above.
CurrentCounter = Callable[[Session, uuid.UUID], int]
_current_counters: dict[str, CurrentCounter] = {}


def set_current_counter(limit: str, counter: CurrentCounter) -> None:
    if limit not in LIMITS:
        raise ValueError(f"unknown plan limit {limit!r}")
    _current_counters[limit] = counter


def _current(db: Session, workspace_id: uuid.UUID, limit: str) -> int:
    counter = _current_counters.get(limit)
    if counter is None:
        raise RuntimeError(f"no counter for {limit!r} (call cliply.app.install_hooks())")
    return counter(db, workspace_id)


def usage_summary(
    db: Session, workspace_id: uuid.UUID, *, now: datetime | None = None
) -> dict[str, Any]:
    """The plan, the period, and usage against each limit, for GET /billing/usage."""
    plan = resolve_workspace_plan(db, workspace_id, now=now)
    start, end = period_bounds(now)
    lines: list[dict[str, Any]] = []
    for metric, field in METERED.items():
        used = current_usage(db, workspace_id, metric, now=now)
        limit_value: int = getattr(plan, field)
        lines.append(
            {
                "metric": metric,
                "limit_name": field,
                "scope": "period",
                "used": used,
                "limit": limit_value,
                "remaining": max(limit_value - used, 0),
            }
        )
    for field, used_now in (
        ("connected_accounts", _current(db, workspace_id, "connected_accounts")),
        ("concurrent_jobs", jobs_service.count_running(db, workspace_id)),
    ):
        limit_value = getattr(plan, field)
        lines.append(
            {
                "metric": field,
                "limit_name": field,
                "scope": "current",
                "used": float(used_now),
                "limit": limit_value,
                "remaining": max(limit_value - used_now, 0),
            }
        )
    return {
        "plan": plan.name,
        "plan_title": plan.title,
        "period_start": start,
        "period_end": end,
        "usage": lines,
        "limits": {name: getattr(plan, name) for name in LIMITS},
        "features": {name: getattr(plan, name) for name in FEATURES},
        "watermark": plan.watermark,
    }
