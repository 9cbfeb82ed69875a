"""Which plan a workspace is on, and the Stripe flows that change it (checkout, portal).

The plan follows the workspace's Stripe subscriptions as mirrored in `subscriptions`:
active/trialing grant their plan; past_due keeps it for the grace period
(BILLING_GRACE_PERIOD_S) counted from when the subscription fell past due; canceled keeps it
until the end of the period already paid for. Time-based transitions are computed at read
time, so no timer has to fire for a workspace to fall back. A workspace that never had a
subscription keeps its stored `workspaces.plan` (the default plan, or one set by an operator).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from cliply.audit.service import record
from cliply.auth.models import User
from cliply.billing.models import Subscription
from cliply.billing.plans import ORDER, Plan, get_plan, rank
from cliply.config import Settings, get_settings
from cliply.errors import BadRequest, Conflict, NotFound
from cliply.integrations.stripe_client import BillingNotConfigured, StripeBilling, idempotency_key
from cliply.workspaces import service as workspaces
from cliply.workspaces.models import Workspace

GRANTING = frozenset({"active", "trialing"})


def _now() -> datetime:
    return datetime.now(UTC)


def subscription_grants(sub: Subscription, now: datetime, grace_s: int) -> bool:
    """Whether this subscription entitles its workspace to `sub.plan` at `now`."""
    if sub.status in GRANTING:
        return True
    if sub.status == "past_due":
        since = sub.past_due_since or now
        return now < since + timedelta(seconds=grace_s)
    if sub.status == "canceled":
        # Paid-for time is kept: the plan lasts until the end of the current period.
        return sub.current_period_end is not None and now < sub.current_period_end
    return False  # incomplete, incomplete_expired, unpaid, paused


def resolve_workspace_plans(
    db: Session, workspace_ids: Iterable[uuid.UUID], *, now: datetime | None = None
) -> dict[uuid.UUID, Plan]:
    """`resolve_workspace_plan` for many workspaces in two queries (job schedulers)."""
    ids = list(dict.fromkeys(workspace_ids))
    if not ids:
        return {}
    now = now or _now()
    settings = get_settings()
    stored = dict(
        db.execute(select(Workspace.id, Workspace.plan).where(Workspace.id.in_(ids))).all()
    )
    subs: dict[uuid.UUID, list[Subscription]] = {}
    for sub in db.scalars(select(Subscription).where(Subscription.workspace_id.in_(ids))):
        subs.setdefault(sub.workspace_id, []).append(sub)
    out: dict[uuid.UUID, Plan] = {}
    for ws_id in ids:
        mine = subs.get(ws_id)
        if not mine:
            out[ws_id] = get_plan(stored.get(ws_id) or settings.default_plan)
            continue
        granted = [
            s.plan for s in mine if subscription_grants(s, now, settings.billing_grace_period_s)
        ]
        out[ws_id] = get_plan(max(granted, key=rank) if granted else settings.default_plan)
    return out


def workspace_job_caps(db: Session, workspace_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
    """How many jobs each workspace may run at once (the job queue's cap resolver)."""
    return {ws: p.concurrent_jobs for ws, p in resolve_workspace_plans(db, workspace_ids).items()}


def resolve_workspace_plan(
    db: Session, workspace_id: uuid.UUID, *, now: datetime | None = None
) -> Plan:
    """The plan whose limits apply to this workspace now; every gate asks this."""
    return resolve_workspace_plans(db, [workspace_id], now=now)[workspace_id]


def concurrent_jobs_cap(db: Session, workspace_id: uuid.UUID) -> int:
    """How many of this workspace's jobs may run at once (its plan's `concurrent_jobs`)."""
    return resolve_workspace_plan(db, workspace_id).concurrent_jobs


def concurrent_jobs_caps(db: Session, workspace_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
    return {ws: p.concurrent_jobs for ws, p in resolve_workspace_plans(db, workspace_ids).items()}


def current_subscription(
    db: Session, workspace_id: uuid.UUID, *, now: datetime | None = None
) -> Subscription | None:
    """The subscription that decides the plan: the best granting one, else the newest."""
    now = now or _now()
    grace = get_settings().billing_grace_period_s
    subs = list(db.scalars(select(Subscription).where(Subscription.workspace_id == workspace_id)))
    if not subs:
        return None
    return max(
        subs,
        key=lambda s: (
            subscription_grants(s, now, grace),
            rank(s.plan),
            s.stripe_state_at,
            s.created_at,
        ),
    )


def sync_workspace_plans(db: Session, *, now: datetime | None = None) -> int:
    """Write each subscribed workspace's resolved plan to `workspaces.plan` (for display).

    Gates never read the column for subscribed workspaces; this only keeps it truthful after
    a grace period or a paid period ran out. Returns how many workspaces changed.
    """
    ids = list(db.scalars(select(Subscription.workspace_id).distinct()))
    changed = 0
    for ws_id, plan in resolve_workspace_plans(db, ids, now=now).items():
        if workspaces.set_plan(db, ws_id, plan.name) is not None:
            changed += 1
    return changed


# --- prices and the Stripe client -------------------------------------------------------------


def plan_prices(settings: Settings | None = None) -> dict[str, str]:
    """Plan name -> Stripe price id, for plans that have one."""
    s = settings or get_settings()
    raw = {
        "basic": s.stripe_price_basic,
        "pro": s.stripe_price_pro,
        "premium": s.stripe_price_premium,
    }
    return {plan: price for plan, price in raw.items() if price}


def price_plans(settings: Settings | None = None) -> dict[str, str]:
    """Stripe price id -> plan name."""
    return {price: plan for plan, price in plan_prices(settings).items()}


@lru_cache(maxsize=4)
def _billing_client(api_key: str, api_base: str) -> StripeBilling:
    # One client (and its HTTP connection pool) per key and base, not one per request.
    return StripeBilling(api_key, api_base=api_base)


def stripe_billing(settings: Settings | None = None) -> StripeBilling:
    """The Stripe client from settings; BillingNotConfigured (503) without a secret key."""
    s = settings or get_settings()
    if s.stripe_secret_key is None or not s.stripe_secret_key.get_secret_value():
        raise BillingNotConfigured("Set STRIPE_SECRET_KEY to enable billing.")
    return _billing_client(s.stripe_secret_key.get_secret_value(), s.stripe_api_base)


# --- checkout and portal ------------------------------------------------------------------------


def _locked_workspace(db: Session, workspace_id: uuid.UUID) -> Workspace:
    ws = db.scalar(select(Workspace).where(Workspace.id == workspace_id).with_for_update())
    if ws is None:
        raise NotFound("No such workspace.")
    return ws


def ensure_customer(
    db: Session, stripe: StripeBilling, workspace_id: uuid.UUID, *, email: str | None
) -> str:
    """The workspace's Stripe customer id, creating the customer the first time.

    The workspace row lock makes concurrent checkouts share one customer; the idempotency
    key makes a retried transaction reuse the customer Stripe already created.
    """
    ws = _locked_workspace(db, workspace_id)
    if ws.stripe_customer_id:
        return ws.stripe_customer_id
    metadata = {"workspace_id": str(ws.id)}
    key = idempotency_key(f"cliply-customer-{ws.id}", {"name": ws.name, "email": email})
    customer = stripe.create_customer(
        name=ws.name, email=email, metadata=metadata, idempotency_key=key
    )
    ws.stripe_customer_id = str(customer["id"])
    db.flush()
    return ws.stripe_customer_id


def price_for_plan(plan: str, prices: Mapping[str, str]) -> str:
    """The Stripe price of `plan`, or a 400 `plan-not-purchasable` naming those that have one."""
    price_id = prices.get(plan)
    if not price_id:
        raise BadRequest(
            f"The {get_plan(plan).title} plan cannot be bought: it has no Stripe price.",
            code="plan-not-purchasable",
            plan=plan,
            purchasable=[p for p in ORDER if p in prices],
        )
    return price_id


def start_checkout(
    db: Session,
    stripe: StripeBilling,
    *,
    workspace_id: uuid.UUID,
    user_id: uuid.UUID,
    plan: str,
    prices: Mapping[str, str],
    success_url: str,
    cancel_url: str,
) -> dict[str, object]:
    """A Stripe Checkout Session (subscription mode) that moves the workspace onto `plan`."""
    price_id = price_for_plan(plan, prices)
    active = current_subscription(db, workspace_id)
    if active is not None and active.status in GRANTING | {"past_due"}:
        raise Conflict(
            "This workspace already has a subscription; change plans in the billing portal.",
            code="subscription-exists",
            plan=active.plan,
            subscription_status=active.status,
        )
    email = db.scalar(select(User.email).where(User.id == user_id))
    customer = ensure_customer(db, stripe, workspace_id, email=email)
    meta = {"workspace_id": str(workspace_id), "plan": plan}
    session = stripe.create_checkout_session(
        customer=customer,
        price_id=price_id,
        client_reference_id=str(workspace_id),
        metadata=meta,
        subscription_metadata=meta,
        success_url=success_url,
        cancel_url=cancel_url,
    )
    record(
        db,
        "billing.checkout",
        workspace_id=workspace_id,
        user_id=user_id,
        target_type="checkout_session",
        target_id=str(session.get("id")),
        data={"plan": plan, "price_id": price_id},
    )
    return session


def open_portal(
    db: Session,
    stripe: StripeBilling,
    *,
    workspace_id: uuid.UUID,
    user_id: uuid.UUID,
    return_url: str,
) -> dict[str, object]:
    ws = db.get(Workspace, workspace_id)
    if ws is None:
        raise NotFound("No such workspace.")
    if not ws.stripe_customer_id:
        raise Conflict(
            "This workspace has no billing account yet; start a checkout first.",
            code="no-billing-account",
        )
    session = stripe.create_portal_session(customer=ws.stripe_customer_id, return_url=return_url)
    record(
        db,
        "billing.portal",
        workspace_id=workspace_id,
        user_id=user_id,
        target_type="customer",
        target_id=ws.stripe_customer_id,
    )
    return session
