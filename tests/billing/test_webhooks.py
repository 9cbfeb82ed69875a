"""Signed Stripe webhooks drive the subscription mirror and the workspace's plan."""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from cliply.billing import gate
from cliply.billing.models import StripeEvent, Subscription
from cliply.db.engine import owner_session
from cliply.errors import PlanLimitExceeded
from tests.billing.conftest import WEBHOOK_SECRET, StripeHarness, stale_timestamp
from tests.billing.helpers import plan_of, stored_plan
from tests.fakes.stripe import sign_payload
from tests.foundation.helpers import Account, make_workspace, signup_login

# Every test here needs the database (or a server process): integration tier.
pytestmark = pytest.mark.integration


def _checkout(h: StripeHarness, plan: str = "pro") -> tuple[Account, uuid.UUID, str]:
    owner = signup_login(h.api)
    ws = make_workspace(h.api, owner)
    r = h.api.post("/api/v1/billing/checkout", json={"plan": plan}, headers=owner.ws(ws["id"]))
    assert r.status_code == 200, r.text
    return owner, uuid.UUID(ws["id"]), r.json()["id"]


def _subscribed(h: StripeHarness, plan: str = "pro") -> tuple[Account, uuid.UUID, str]:
    owner, ws, session = _checkout(h, plan)
    h.deliver(*h.fake.complete_checkout(session))
    sub_id = h.fake.sessions[session]["subscription"]
    assert plan_of(ws) == plan
    return owner, ws, sub_id


def _event_count() -> int:
    with owner_session() as db:
        return int(db.scalar(select(func.count()).select_from(StripeEvent)) or 0)


def _row(sub_id: str) -> Subscription:
    with owner_session() as db:
        row = db.scalar(select(Subscription).where(Subscription.stripe_subscription_id == sub_id))
        assert row is not None
        return row


def test_basic_to_pro_through_checkout_and_back_after_cancellation(harness: StripeHarness) -> None:
    h = harness
    owner, ws, session = _checkout(h)
    hdr = owner.ws(str(ws))
    # Basic: scheduling is not included, the 11th project of the month is refused.
    with owner_session() as db:
        with pytest.raises(PlanLimitExceeded):
            gate.check_feature(db, ws, "scheduling")
        for i in range(10):
            gate.consume(db, ws, "projects", 1, event_key=f"p{i}")
        with pytest.raises(PlanLimitExceeded) as info:
            gate.consume(db, ws, "projects", 1, event_key="p10")
    assert info.value.extra["upgrade_to"] == "pro"

    # The customer pays; Stripe sends the checkout completion first this time.
    created, completed, paid = h.fake.complete_checkout(session)
    assert h.deliver(completed) == ["applied:active"]
    assert plan_of(ws) == "pro" and stored_plan(ws) == "pro"
    # Pro's limits apply at once.
    with owner_session() as db:
        gate.check_feature(db, ws, "scheduling")
        assert gate.consume(db, ws, "projects", 1, event_key="p10") is True
    usage = h.api.get("/api/v1/billing/usage", headers=hdr).json()
    assert usage["plan"] == "pro"
    assert {u["metric"]: u["limit"] for u in usage["usage"]}["projects"] == 100
    # The other two events arrive afterwards; they change nothing.
    h.deliver(created, paid)
    assert plan_of(ws) == "pro"
    state = h.api.get("/api/v1/billing", headers=hdr).json()
    assert state["subscription"]["status"] == "active" and state["stripe_customer"] is True

    # A second checkout is refused while subscribed: plan changes go through the portal.
    r = h.api.post("/api/v1/billing/checkout", json={"plan": "premium"}, headers=hdr)
    assert r.status_code == 409 and r.json()["type"].endswith("/subscription-exists")

    sub_id = h.fake.sessions[session]["subscription"]
    # Cancel in the portal: pro stays until the period ends.
    h.deliver(h.fake.cancel(sub_id, at_period_end=True))
    assert plan_of(ws) == "pro" and _row(sub_id).cancel_at_period_end is True
    h.deliver(*h.fake.end_period(sub_id))
    assert plan_of(ws) == "basic" and stored_plan(ws) == "basic"
    with owner_session() as db:
        with pytest.raises(PlanLimitExceeded) as info:
            gate.check_feature(db, ws, "scheduling")
        with pytest.raises(PlanLimitExceeded):
            gate.consume(db, ws, "projects", 1, event_key="p11")
    assert info.value.extra == {"feature": "scheduling", "plan": "basic", "upgrade_to": "pro"}


def test_plan_change_in_the_portal_follows_the_price(harness: StripeHarness) -> None:
    h = harness
    _, ws, sub_id = _subscribed(h)
    h.deliver(h.fake.change_price(sub_id, "price_premium"))
    assert plan_of(ws) == "premium" and _row(sub_id).price_id == "price_premium"


def test_immediate_cancellation_keeps_the_paid_period(harness: StripeHarness) -> None:
    h = harness
    _, ws, sub_id = _subscribed(h)
    assert h.deliver(h.fake.cancel(sub_id, at_period_end=False)) == ["applied:canceled"]
    assert plan_of(ws) == "pro"  # paid until the period end
    h.deliver(*h.fake.end_period(sub_id))
    assert plan_of(ws) == "basic"


def test_past_due_keeps_the_plan_for_the_grace_period(
    harness: StripeHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import reset_caches

    h = harness
    _, ws, sub_id = _subscribed(h)
    failed, updated = h.fake.fail_payment(sub_id)
    assert h.deliver(failed) == ["applied:past_due"]  # invoice event: re-read from the API
    assert plan_of(ws) == "pro"
    first_since = _row(sub_id).past_due_since
    assert first_since is not None
    assert h.deliver(updated) == ["applied:past_due"]
    assert _row(sub_id).past_due_since == first_since  # the grace clock does not restart
    monkeypatch.setenv("BILLING_GRACE_PERIOD_S", "0")
    reset_caches()
    assert plan_of(ws) == "basic"  # grace over
    h.deliver(*h.fake.pay(sub_id))
    assert plan_of(ws) == "pro" and _row(sub_id).past_due_since is None


@pytest.mark.parametrize(
    "header",
    [
        None,  # no header
        "",  # empty
        "v1=deadbeef",  # no timestamp
        "t=notanumber,v1=deadbeef",
        "garbage",
    ],
)
def test_unsigned_or_malformed_signatures_are_rejected(
    harness: StripeHarness, header: str | None
) -> None:
    h = harness
    _, ws, session = _checkout(h)
    _, completed, _ = h.fake.complete_checkout(session)
    payload = json.dumps(completed)
    hdrs = {"Content-Type": "application/json"}
    if header is not None:
        hdrs["Stripe-Signature"] = header
    r = h.api.post("/api/v1/webhooks/stripe", content=payload, headers=hdrs)
    assert r.status_code == 400
    assert r.json()["type"].endswith("/invalid-stripe-signature")
    assert _event_count() == 0 and plan_of(ws) == "basic"


def test_wrong_secret_tampered_body_and_stale_timestamp_change_nothing(
    harness: StripeHarness,
) -> None:
    h = harness
    _, ws, session = _checkout(h)
    _, completed, _ = h.fake.complete_checkout(session)
    payload = json.dumps(completed)
    attempts = [
        h.post_event(completed, secret="whsec_someone_else"),
        h.post_event(completed, timestamp=stale_timestamp()),
        # Signed correctly, then the body was changed on the way.
        h.post_event(
            completed,
            header=sign_payload(payload, WEBHOOK_SECRET),
            body=payload.replace('"complete"', '"open"'),
        ),
    ]
    for r in attempts:
        assert r.status_code == 400, r.text
        assert r.json()["type"].endswith("/invalid-stripe-signature")
    assert _event_count() == 0 and plan_of(ws) == "basic"
    # A valid signature over a body that is not JSON is refused as well.
    r = h.post_event({}, body="not json")
    assert r.status_code == 400
    # The same event, properly signed, goes through.
    assert h.deliver(completed) == ["applied:active"]


def test_replayed_event_is_a_no_op(harness: StripeHarness) -> None:
    h = harness
    _, _, sub_id = _subscribed(h)
    deleted = h.fake.cancel(sub_id, at_period_end=False)
    assert h.deliver(deleted) == ["applied:canceled"]
    count = _event_count()
    # Someone replays an older captured event with a fresh signature: recorded id, no-op.
    r = h.post_event(deleted)
    assert r.status_code == 200 and r.json()["outcome"] == "duplicate"
    assert _event_count() == count


def test_parallel_duplicate_deliveries_are_processed_once(harness: StripeHarness) -> None:
    from cliply.billing.service import price_plans, stripe_billing
    from cliply.billing.webhooks import handle_event

    h = harness
    _, ws, session = _checkout(h)
    _, completed, _ = h.fake.complete_checkout(session)
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def deliver() -> None:
        barrier.wait()
        with owner_session() as db:
            outcomes.append(
                handle_event(db, completed, stripe=stripe_billing(), price_plans=price_plans())
            )

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["applied:active"] + ["duplicate"] * 3
    assert plan_of(ws) == "pro"


def test_out_of_order_delivery_converges_to_the_latest_state(harness: StripeHarness) -> None:
    h = harness
    _, ws, sub_id = _subscribed(h)
    failed, went_past_due = h.fake.fail_payment(sub_id)
    paid, back_active = h.fake.pay(sub_id)
    canceled = h.fake.cancel(sub_id, at_period_end=False)
    # Newest first, then the older snapshots: those are recognised as stale.
    assert h.deliver(canceled) == ["applied:canceled"]
    assert h.deliver(back_active, went_past_due) == ["stale", "stale"]
    row = _row(sub_id)
    assert row.status == "canceled" and row.stripe_state_at == canceled["created"]
    # Invoice events re-read Stripe, which says canceled: still canceled.
    assert h.deliver(failed, paid) == ["applied:canceled", "applied:canceled"]
    assert _row(sub_id).status == "canceled"
    assert plan_of(ws) == "pro"  # canceled mid-period: paid time is kept


def test_older_snapshot_after_newer_one_is_ignored(harness: StripeHarness) -> None:
    h = harness
    _, ws, sub_id = _subscribed(h)
    to_premium = h.fake.change_price(sub_id, "price_premium")
    back_to_pro = h.fake.change_price(sub_id, "price_pro")
    assert h.deliver(back_to_pro, to_premium) == ["applied:active", "stale"]
    assert plan_of(ws) == "pro"


def test_same_second_events_are_settled_by_reading_stripe(harness: StripeHarness) -> None:
    h = harness
    _, ws, sub_id = _subscribed(h)
    second = int(time.time()) + 3600  # later than anything held, both in one second
    to_premium = h.fake.change_price(sub_id, "price_premium")
    to_premium["created"] = second
    back_to_pro = h.fake.change_price(sub_id, "price_pro")  # Stripe's state now: pro
    back_to_pro["created"] = second
    gets = h.fake.count("GET", f"/v1/subscriptions/{sub_id}")
    assert h.deliver(back_to_pro) == ["applied:active"]
    h.deliver(to_premium)  # a tie: the handler asks Stripe instead of trusting arrival order
    assert h.fake.count("GET", f"/v1/subscriptions/{sub_id}") == gets + 1
    assert plan_of(ws) == "pro"


def test_subscription_created_before_checkout_completed(harness: StripeHarness) -> None:
    h = harness
    _, ws, session = _checkout(h)
    created, completed, paid = h.fake.complete_checkout(session)
    # The subscription event alone is enough: the customer is already tied to the workspace.
    assert h.deliver(created) == ["applied:active"]
    assert plan_of(ws) == "pro"
    h.deliver(paid, completed)
    with owner_session() as db:
        assert db.scalar(select(func.count()).select_from(Subscription)) == 1


def test_unknown_and_unrelated_events_are_acknowledged(harness: StripeHarness) -> None:
    h = harness
    _, ws, _ = _checkout(h)
    unknown = h.fake.event("customer.tax_id.created", {"id": "txi_1", "object": "tax_id"})
    assert h.deliver(unknown) == ["ignored"]
    payment = h.fake.event(
        "checkout.session.completed",
        {"id": "cs_1", "object": "checkout.session", "mode": "payment"},
    )
    assert h.deliver(payment) == ["ignored-not-subscription"]
    stranger = h.fake.event(
        "customer.subscription.updated",
        {
            "id": "sub_elsewhere",
            "object": "subscription",
            "customer": "cus_unknown",
            "status": "active",
            "metadata": {},
            "items": {"object": "list", "data": []},
        },
    )
    assert h.deliver(stranger) == ["workspace-not-found"]
    lost = h.fake.event(
        "invoice.paid",
        {
            "id": "in_x",
            "object": "invoice",
            "customer": "cus_unknown",
            "parent": {
                "type": "subscription_details",
                "subscription_details": {"subscription": "sub_gone"},
            },
        },
    )
    assert h.deliver(lost) == ["subscription-not-found"]
    assert plan_of(ws) == "basic"
    with owner_session() as db:
        outcomes = dict(db.execute(select(StripeEvent.type, StripeEvent.outcome)).all())
    assert outcomes["customer.tax_id.created"] == "ignored"


def test_stripe_down_during_webhook_means_redelivery(harness: StripeHarness) -> None:
    h = harness
    _, ws, session = _checkout(h)
    _, completed, _ = h.fake.complete_checkout(session)
    h.server.faults.fail_next(
        "GET",
        "/v1/subscriptions/",
        status=503,
        count=3,
        body={"error": {"type": "api_error", "message": "down"}},
    )
    r = h.post_event(completed)
    assert r.status_code == 503  # Stripe will deliver again
    assert _event_count() == 0 and plan_of(ws) == "basic"
    assert h.deliver(completed) == ["applied:active"]
    assert plan_of(ws) == "pro"


def test_metadata_cannot_move_a_customer_to_another_workspace(harness: StripeHarness) -> None:
    """The subscription's customer belongs to workspace A; metadata naming B does not win."""
    h = harness
    _, ws_a, sub_id = _subscribed(h)
    _, ws_b, _ = _checkout(h)
    sub: dict[str, Any] = dict(h.fake.subscriptions[sub_id])
    sub["id"] = "sub_forged"
    sub["metadata"] = {"workspace_id": str(ws_b), "plan": "premium"}
    h.deliver(h.fake.event("customer.subscription.created", sub))
    assert plan_of(ws_b) == "basic"
    with owner_session() as db:
        row = db.scalar(
            select(Subscription).where(Subscription.stripe_subscription_id == "sub_forged")
        )
    assert row is not None and row.workspace_id == ws_a
