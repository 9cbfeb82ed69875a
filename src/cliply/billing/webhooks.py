"""Stripe webhook events -> the `subscriptions` mirror and the workspace's plan.

Runs as the owner role (no tenant context) and scopes every write by the workspace found
from the subscription row, the Stripe customer, or our metadata / client_reference_id.

Delivery is at-least-once and unordered, so:
- each event id is recorded once in `stripe_events`; a replay is a no-op;
- a subscription snapshot from an event applies only if it is newer (event `created`) than the
  state we hold (`subscriptions.stripe_state_at`); on a tie the subscription is re-read;
- checkout and invoice events carry no subscription snapshot, so the subscription is re-read
  from the API (always the latest state) and applied;
- a canceled subscription never comes back to life (Stripe treats canceled as terminal).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from cliply.audit.service import record
from cliply.billing.models import StripeEvent, Subscription
from cliply.billing.plans import PLANS
from cliply.billing.service import resolve_workspace_plan
from cliply.config import get_settings
from cliply.integrations.stripe_client import StripeBilling, StripeRequestFailed
from cliply.workspaces import service as workspaces
from cliply.workspaces.models import Workspace

log = structlog.get_logger(__name__)

SUBSCRIPTION_EVENTS = frozenset(
    {
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
    }
)
HANDLED_EVENTS = SUBSCRIPTION_EVENTS | {
    "checkout.session.completed",
    "invoice.paid",
    "invoice.payment_failed",
}


@dataclass
class WebhookContext:
    db: Session
    stripe: StripeBilling | None  # None: no API key, so nothing can be re-read
    price_plans: Mapping[str, str]  # Stripe price id -> plan name
    event: dict[str, Any]

    @property
    def created(self) -> int:
        return int(self.event.get("created") or 0)


@dataclass
class Outcome:
    result: str
    workspace_id: uuid.UUID | None = None


def _ts(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if isinstance(value, int | float) else None


def _id_of(value: Any) -> str | None:
    """An expandable field: the id string, or the expanded object's id."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, Mapping):
        inner = value.get("id")
        return inner if isinstance(inner, str) else None
    return None


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _metadata(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def find_workspace(
    db: Session,
    *,
    subscription_id: str | None = None,
    customer: str | None = None,
    hinted: list[Any] | None = None,
) -> Workspace | None:
    """The workspace an object belongs to: known subscription, then customer, then metadata."""
    if subscription_id:
        ws_id = db.scalar(
            select(Subscription.workspace_id).where(
                Subscription.stripe_subscription_id == subscription_id
            )
        )
        if ws_id is not None:
            return db.get(Workspace, ws_id)
    if customer:
        ws = db.scalar(select(Workspace).where(Workspace.stripe_customer_id == customer))
        if ws is not None:
            return ws
    for hint in hinted or []:
        ws_id = _uuid(hint)
        if ws_id is not None:
            ws = db.get(Workspace, ws_id)
            if ws is not None:
                # Metadata is ours, but a customer already tied to another workspace wins.
                if customer and ws.stripe_customer_id and ws.stripe_customer_id != customer:
                    continue
                return ws
    return None


def _link_customer(db: Session, ws: Workspace, customer: str | None) -> None:
    workspaces.link_stripe_customer(db, ws.id, customer)


def _plan_for(sub: Mapping[str, Any], price_id: str | None, price_plans: Mapping[str, str]) -> str:
    if price_id and price_id in price_plans:
        return price_plans[price_id]
    meta_plan = _metadata(sub).get("plan")
    if isinstance(meta_plan, str) and meta_plan in PLANS:
        return meta_plan
    log.warning("stripe_unknown_price", price_id=price_id, subscription=sub.get("id"))
    return get_settings().default_plan


def _items(sub: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    items = sub.get("items")
    data = items.get("data") if isinstance(items, Mapping) else None
    return [i for i in data if isinstance(i, Mapping)] if isinstance(data, list) else []


def _price_id(sub: Mapping[str, Any]) -> str | None:
    for item in _items(sub):
        price = item.get("price") or item.get("plan")
        found = _id_of(price)
        if found:
            return found
    return None


def _period(sub: Mapping[str, Any], key: str) -> datetime | None:
    # API 2025-03-31 and later keep billing periods on the items; older versions on top.
    if sub.get(key) is not None:
        return _ts(sub.get(key))
    values = [int(v) for i in _items(sub) if isinstance(v := i.get(key), int | float)]
    if not values:
        return None
    return _ts(max(values) if key == "current_period_end" else min(values))


def _locked_row(db: Session, ws: Workspace, sub_id: str) -> tuple[Subscription, bool]:
    created = db.scalar(
        insert(Subscription)
        .values(
            workspace_id=ws.id,
            stripe_subscription_id=sub_id,
            plan=get_settings().default_plan,
            status="incomplete",
            stripe_state_at=0,
        )
        .on_conflict_do_nothing(index_elements=["stripe_subscription_id"])
        .returning(Subscription.id)
    )
    row = db.scalar(
        select(Subscription)
        .where(Subscription.stripe_subscription_id == sub_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert row is not None
    return row, created is not None


def apply_subscription(
    ctx: WebhookContext, sub: Mapping[str, Any], *, state_at: int, fresh: bool
) -> Outcome:
    """Mirror one Stripe subscription object. `fresh`: read from the API just now."""
    db = ctx.db
    sub_id = sub.get("id")
    if not isinstance(sub_id, str) or not sub_id:
        return Outcome("ignored-no-subscription")
    customer = _id_of(sub.get("customer"))
    meta = _metadata(sub)
    ws = find_workspace(
        db, subscription_id=sub_id, customer=customer, hinted=[meta.get("workspace_id")]
    )
    if ws is None:
        log.warning("stripe_subscription_without_workspace", subscription=sub_id, customer=customer)
        return Outcome("workspace-not-found")
    row, is_new = _locked_row(db, ws, sub_id)
    status = str(sub.get("status") or "")
    if not fresh and not is_new:
        if state_at < row.stripe_state_at:
            return Outcome("stale", row.workspace_id)
        if state_at == row.stripe_state_at and ctx.stripe is not None:
            # Same second as the state we hold: only Stripe knows which came last.
            latest = _retrieve(ctx, sub_id)
            if latest is None:
                return Outcome("subscription-not-found", row.workspace_id)
            return apply_subscription(ctx, latest, state_at=state_at, fresh=True)
    if row.status == "canceled" and status != "canceled":
        return Outcome("stale", row.workspace_id)

    price_id = _price_id(sub)
    was_past_due = row.status == "past_due"
    row.stripe_customer_id = customer or row.stripe_customer_id
    row.price_id = price_id
    row.plan = _plan_for(sub, price_id, ctx.price_plans)
    row.status = status
    row.current_period_start = _period(sub, "current_period_start")
    row.current_period_end = _period(sub, "current_period_end")
    row.cancel_at_period_end = bool(sub.get("cancel_at_period_end"))
    row.canceled_at = _ts(sub.get("canceled_at"))
    row.ended_at = _ts(sub.get("ended_at"))
    if status == "past_due":
        # The grace period counts from the first moment we know it fell past due.
        if not (was_past_due and row.past_due_since):
            # Stripe's event time, but never later than our clock (skew must not extend grace).
            now = datetime.now(UTC)
            row.past_due_since = min(_ts(state_at) or now, now)
    else:
        row.past_due_since = None
    row.stripe_state_at = max(row.stripe_state_at, state_at)
    db.flush()

    owner = row.workspace_id
    workspaces.link_stripe_customer(db, owner, customer)
    plan = resolve_workspace_plan(db, owner).name
    before = workspaces.set_plan(db, owner, plan)
    if before is not None:
        record(
            db,
            "billing.plan_changed",
            workspace_id=owner,
            user_id=None,
            target_type="subscription",
            target_id=sub_id,
            data={"from": before, "to": plan, "status": status},
        )
    return Outcome(f"applied:{status}", owner)


def _retrieve(ctx: WebhookContext, sub_id: str) -> dict[str, Any] | None:
    assert ctx.stripe is not None
    try:
        return ctx.stripe.retrieve_subscription(sub_id)
    except StripeRequestFailed as exc:
        if exc.extra.get("stripe_status") == 404:
            return None
        raise


def _refresh(ctx: WebhookContext, sub_id: str | None, *, ws: Workspace | None) -> Outcome:
    """Re-read a subscription from the API and mirror it."""
    if not sub_id:
        return Outcome("ignored-no-subscription", ws.id if ws else None)
    if ctx.stripe is None:
        log.warning("stripe_cannot_refresh", subscription=sub_id, reason="no STRIPE_SECRET_KEY")
        return Outcome("not-refreshed", ws.id if ws else None)
    latest = _retrieve(ctx, sub_id)
    if latest is None:
        return Outcome("subscription-not-found", ws.id if ws else None)
    row_state = ctx.db.scalar(
        select(Subscription.stripe_state_at).where(Subscription.stripe_subscription_id == sub_id)
    )
    return apply_subscription(ctx, latest, state_at=max(ctx.created, row_state or 0), fresh=True)


def _on_subscription(ctx: WebhookContext, obj: Mapping[str, Any]) -> Outcome:
    return apply_subscription(ctx, obj, state_at=ctx.created, fresh=False)


def _on_checkout_completed(ctx: WebhookContext, obj: Mapping[str, Any]) -> Outcome:
    if obj.get("mode") != "subscription":
        return Outcome("ignored-not-subscription")
    customer = _id_of(obj.get("customer"))
    sub_id = _id_of(obj.get("subscription"))
    ws = find_workspace(
        ctx.db,
        subscription_id=sub_id,
        customer=customer,
        hinted=[_metadata(obj).get("workspace_id"), obj.get("client_reference_id")],
    )
    if ws is None:
        log.warning("stripe_checkout_without_workspace", session=obj.get("id"))
        return Outcome("workspace-not-found")
    _link_customer(ctx.db, ws, customer)
    ctx.db.flush()
    return _refresh(ctx, sub_id, ws=ws)


def _invoice_subscription(invoice: Mapping[str, Any]) -> str | None:
    parent = invoice.get("parent")
    if isinstance(parent, Mapping):
        details = parent.get("subscription_details")
        if isinstance(details, Mapping):
            found = _id_of(details.get("subscription"))
            if found:
                return found
    return _id_of(invoice.get("subscription"))  # API versions before 2025-03-31


def _on_invoice(ctx: WebhookContext, obj: Mapping[str, Any]) -> Outcome:
    sub_id = _invoice_subscription(obj)
    ws = find_workspace(ctx.db, subscription_id=sub_id, customer=_id_of(obj.get("customer")))
    return _refresh(ctx, sub_id, ws=ws)


HANDLERS: dict[str, Callable[[WebhookContext, Mapping[str, Any]], Outcome]] = {
    "customer.subscription.created": _on_subscription,
    "customer.subscription.updated": _on_subscription,
    "customer.subscription.deleted": _on_subscription,
    "checkout.session.completed": _on_checkout_completed,
    "invoice.paid": _on_invoice,
    "invoice.payment_failed": _on_invoice,
}


def handle_event(
    db: Session,
    event: dict[str, Any],
    *,
    stripe: StripeBilling | None,
    price_plans: Mapping[str, str],
) -> str:
    """Process one verified event once. Returns the outcome (also stored on the event row).

    An exception (e.g. Stripe unreachable while re-reading) propagates: the caller's
    transaction rolls back, the event stays unrecorded, and Stripe delivers it again.
    """
    event_id = str(event["id"])
    event_type = str(event["type"])
    fresh = db.scalar(
        insert(StripeEvent)
        .values(
            id=event_id,
            type=event_type,
            stripe_created=int(event.get("created") or 0),
            payload=event,
        )
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(StripeEvent.id)
    )
    if fresh is None:
        return "duplicate"
    handler = HANDLERS.get(event_type)
    data = event.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    if handler is None:
        outcome = Outcome("ignored")
    elif not isinstance(obj, Mapping):
        outcome = Outcome("ignored-no-object")
    else:
        ctx = WebhookContext(db=db, stripe=stripe, price_plans=price_plans, event=event)
        outcome = handler(ctx, obj)
    db.execute(
        update(StripeEvent)
        .where(StripeEvent.id == event_id)
        .values(outcome=outcome.result[:100], workspace_id=outcome.workspace_id)
    )
    log.info("stripe_event", event_id=event_id, type=event_type, outcome=outcome.result)
    return outcome.result
