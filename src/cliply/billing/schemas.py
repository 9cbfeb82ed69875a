"""API shapes for plans, usage, checkout, the portal and the Stripe webhook ack."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel

from cliply.schemas import Strict


class PlanOut(BaseModel):
    name: str
    title: str
    purchasable: bool
    limits: dict[str, int]
    features: dict[str, bool]
    watermark: bool


class UsageLine(BaseModel):
    metric: str
    limit_name: str
    scope: Literal["period", "current"]  # period: this billing month; current: right now
    used: float
    limit: int
    remaining: float


class UsageOut(BaseModel):
    plan: str
    plan_title: str
    period_start: date
    period_end: date
    usage: list[UsageLine]
    limits: dict[str, int]
    features: dict[str, bool]
    watermark: bool


class SubscriptionOut(BaseModel):
    plan: str
    status: str
    stripe_subscription_id: str
    current_period_end: datetime | None
    cancel_at_period_end: bool
    past_due_since: datetime | None


class BillingOut(BaseModel):
    plan: str
    stripe_customer: bool
    subscription: SubscriptionOut | None


class CheckoutIn(Strict):
    plan: Literal["basic", "pro", "premium"]


class CheckoutOut(BaseModel):
    id: str
    url: str


class PortalOut(BaseModel):
    url: str


class WebhookAck(BaseModel):
    received: bool = True
    outcome: str
