"""/api/v1/billing (plans, usage, checkout, portal) and /api/v1/webhooks/stripe."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request

from cliply.api.deps import DB
from cliply.billing import service, webhooks
from cliply.billing.gate import usage_summary
from cliply.billing.plans import FEATURES, LIMITS, ORDER, PLANS
from cliply.billing.schemas import (
    BillingOut,
    CheckoutIn,
    CheckoutOut,
    PlanOut,
    PortalOut,
    SubscriptionOut,
    UsageOut,
    WebhookAck,
)
from cliply.config import get_settings
from cliply.db.pagination import Page
from cliply.errors import PayloadTooLarge
from cliply.integrations.stripe_client import (
    BillingNotConfigured,
    StripeBilling,
    verify_webhook,
)
from cliply.workspaces.deps import HeaderTenant
from cliply.workspaces.models import Workspace

router = APIRouter(tags=["billing"])

MAX_WEBHOOK_BYTES = 1024 * 1024


@router.get("/billing/plans", response_model=Page[PlanOut])
def list_plans() -> Page[PlanOut]:
    """The plan catalogue: a handful of fixed entries, so always one page."""
    prices = service.plan_prices()
    items = [
        PlanOut(
            name=p.name,
            title=p.title,
            purchasable=p.name in prices,
            limits={k: getattr(p, k) for k in LIMITS},
            features={k: getattr(p, k) for k in FEATURES},
            watermark=p.watermark,
        )
        for p in (PLANS[n] for n in ORDER)
    ]
    return Page[PlanOut](items=items)


@router.get("/billing", response_model=BillingOut)
def billing_state(tenant: HeaderTenant, db: DB) -> BillingOut:
    tenant.require("billing.read")
    plan = service.resolve_workspace_plan(db, tenant.workspace_id)
    sub = service.current_subscription(db, tenant.workspace_id)
    ws = db.get(Workspace, tenant.workspace_id)
    return BillingOut(
        plan=plan.name,
        stripe_customer=bool(ws and ws.stripe_customer_id),
        subscription=None
        if sub is None
        else SubscriptionOut(
            plan=sub.plan,
            status=sub.status,
            stripe_subscription_id=sub.stripe_subscription_id,
            current_period_end=sub.current_period_end,
            cancel_at_period_end=sub.cancel_at_period_end,
            past_due_since=sub.past_due_since,
        ),
    )


@router.get("/billing/usage", response_model=UsageOut)
def get_usage(tenant: HeaderTenant, db: DB) -> UsageOut:
    tenant.require("billing.read")
    return UsageOut.model_validate(usage_summary(db, tenant.workspace_id))


def _return_url(suffix: str = "") -> str:
    return f"{get_settings().public_base_url.rstrip('/')}/billing{suffix}"


@router.post("/billing/checkout", response_model=CheckoutOut)
def checkout(body: CheckoutIn, tenant: HeaderTenant, db: DB) -> CheckoutOut:
    tenant.require("billing.manage")
    prices = service.plan_prices()
    service.price_for_plan(body.plan, prices)  # a plan without price is a 400 before anything
    session = service.start_checkout(
        db,
        service.stripe_billing(),
        workspace_id=tenant.workspace_id,
        user_id=tenant.user_id,
        plan=body.plan,
        prices=prices,
        # {CHECKOUT_SESSION_ID} is filled in by Stripe on redirect.
        success_url=_return_url("?checkout=success&session_id={CHECKOUT_SESSION_ID}"),
        cancel_url=_return_url("?checkout=cancelled"),
    )
    return CheckoutOut(id=str(session["id"]), url=str(session["url"]))


@router.post("/billing/portal", response_model=PortalOut)
def portal(tenant: HeaderTenant, db: DB) -> PortalOut:
    tenant.require("billing.manage")
    session = service.open_portal(
        db,
        service.stripe_billing(),
        workspace_id=tenant.workspace_id,
        user_id=tenant.user_id,
        return_url=_return_url(),
    )
    return PortalOut(url=str(session["url"]))


async def _raw_body(request: Request) -> bytes:
    # The signature covers the exact bytes, so the body is read raw, never re-serialised.
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_WEBHOOK_BYTES:
        raise PayloadTooLarge("Webhook body too large.")
    body = await request.body()
    if len(body) > MAX_WEBHOOK_BYTES:
        raise PayloadTooLarge("Webhook body too large.")
    return body


@router.post("/webhooks/stripe", response_model=WebhookAck)
def stripe_webhook(
    db: DB,
    body: Annotated[bytes, Depends(_raw_body)],
    stripe_signature: Annotated[str | None, Header()] = None,
) -> WebhookAck:
    """Stripe's events; runs as the owner role and scopes by the event's workspace."""
    settings = get_settings()
    secret = settings.stripe_webhook_secret
    if secret is None or not secret.get_secret_value():
        raise BillingNotConfigured("Set STRIPE_WEBHOOK_SECRET to receive Stripe webhooks.")
    event = verify_webhook(body, stripe_signature, secret.get_secret_value())
    client: StripeBilling | None
    try:
        client = service.stripe_billing(settings)
    except BillingNotConfigured:
        client = None
    outcome = webhooks.handle_event(
        db, event, stripe=client, price_plans=service.price_plans(settings)
    )
    return WebhookAck(outcome=outcome)
