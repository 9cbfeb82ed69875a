"""Checkout, portal and usage endpoints against the local fake Stripe."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.billing.conftest import StripeHarness
from tests.foundation.helpers import add_member, make_workspace, signup_login

# Every test here needs the database (or a server process): integration tier.
pytestmark = pytest.mark.integration


def test_checkout_creates_customer_once_and_a_subscription_session(harness: StripeHarness) -> None:
    api, fake = harness.api, harness.fake
    owner = signup_login(api)
    ws = make_workspace(api, owner, "Acme")
    r = api.post("/api/v1/billing/checkout", json={"plan": "pro"}, headers=owner.ws(ws["id"]))
    assert r.status_code == 200, r.text
    session_id = r.json()["id"]
    assert r.json()["url"].startswith("https://checkout.stripe.com/")

    assert fake.count("POST", "/v1/customers") == 1
    customer = next(iter(fake.customers.values()))
    assert customer["metadata"] == {"workspace_id": ws["id"]}
    assert customer["email"] == owner.email and customer["name"] == "Acme"
    sent = fake.last("POST", "/v1/checkout/sessions")
    assert sent["mode"] == "subscription"
    assert sent["customer"] == customer["id"]
    assert sent["client_reference_id"] == ws["id"]
    assert sent["line_items"] == [{"price": "price_pro", "quantity": "1"}]
    assert sent["metadata"] == {"workspace_id": ws["id"], "plan": "pro"}
    assert sent["subscription_data"] == {"metadata": {"workspace_id": ws["id"], "plan": "pro"}}
    assert sent["success_url"].startswith("https://cliply.example/billing?checkout=success")
    assert "{CHECKOUT_SESSION_ID}" in sent["success_url"]
    assert fake.sessions[session_id]["customer"] == customer["id"]

    # A second attempt (the customer closed the tab) reuses the Stripe customer.
    r = api.post("/api/v1/billing/checkout", json={"plan": "premium"}, headers=owner.ws(ws["id"]))
    assert r.status_code == 200, r.text
    assert fake.count("POST", "/v1/customers") == 1
    assert fake.last("POST", "/v1/checkout/sessions")["customer"] == customer["id"]


@pytest.mark.parametrize("role,status", [("viewer", 403), ("editor", 403), ("admin", 200)])
def test_only_owners_and_admins_manage_billing(
    harness: StripeHarness, role: str, status: int
) -> None:
    api = harness.api
    owner = signup_login(api)
    ws = make_workspace(api, owner)
    member = add_member(api, owner, ws["id"], role)
    r = api.post("/api/v1/billing/checkout", json={"plan": "pro"}, headers=member.ws(ws["id"]))
    assert r.status_code == status, r.text
    if status == 403:
        assert r.json()["type"].endswith("/insufficient-role")
        assert harness.fake.count("POST", "/v1/customers") == 0
    # Everyone may read usage.
    assert api.get("/api/v1/billing/usage", headers=member.ws(ws["id"])).status_code == 200


def test_checkout_for_a_plan_without_price_is_refused(harness: StripeHarness) -> None:
    api = harness.api
    owner = signup_login(api)
    ws = make_workspace(api, owner)
    r = api.post("/api/v1/billing/checkout", json={"plan": "basic"}, headers=owner.ws(ws["id"]))
    assert r.status_code == 400
    body = r.json()
    assert body["type"].endswith("/plan-not-purchasable")
    assert body["plan"] == "basic" and body["purchasable"] == ["pro", "premium"]
    r = api.post("/api/v1/billing/checkout", json={"plan": "gold"}, headers=owner.ws(ws["id"]))
    assert r.status_code == 422
    assert harness.fake.requests == []


def test_stripe_errors_become_clear_problems(harness: StripeHarness) -> None:
    api, fake, faults = harness.api, harness.fake, harness.server.faults
    owner = signup_login(api)
    ws = make_workspace(api, owner)
    h = owner.ws(ws["id"])
    # A price Stripe does not know (misconfiguration): Stripe's 400 becomes our 502.
    del fake.prices["price_pro"]
    r = api.post("/api/v1/billing/checkout", json={"plan": "pro"}, headers=h)
    assert r.status_code == 502, r.text
    body = r.json()
    assert body["type"].endswith("/stripe-request-failed")
    assert (body["stripe_code"], body["stripe_param"]) == (
        "resource_missing",
        "line_items[0][price]",
    )
    # One 503 is retried by the library (same idempotency key); persistent 503s are not hidden.
    faults.fail_next(
        "POST",
        "/v1/checkout/sessions",
        status=503,
        count=1,
        body={"error": {"type": "api_error", "message": "down"}},
    )
    r = api.post("/api/v1/billing/checkout", json={"plan": "premium"}, headers=h)
    assert r.status_code == 200, r.text
    faults.fail_next(
        "POST",
        "/v1/checkout/sessions",
        status=503,
        count=3,
        body={"error": {"type": "api_error", "message": "down"}},
    )
    r = api.post("/api/v1/billing/checkout", json={"plan": "premium"}, headers=h)
    assert r.status_code == 503
    assert r.json()["type"].endswith("/stripe-unavailable")


def test_failed_checkout_transaction_reuses_the_stripe_customer(harness: StripeHarness) -> None:
    """Customer created, then the session call fails and our transaction rolls back: the
    retry must not create a second Stripe customer (idempotency key on the customer)."""
    api, fake, faults = harness.api, harness.fake, harness.server.faults
    owner = signup_login(api)
    ws = make_workspace(api, owner)
    faults.fail_next(
        "POST",
        "/v1/checkout/sessions",
        status=400,
        count=1,
        body={"error": {"type": "invalid_request_error", "message": "nope"}},
    )
    r = api.post("/api/v1/billing/checkout", json={"plan": "pro"}, headers=owner.ws(ws["id"]))
    assert r.status_code == 502
    r = api.post("/api/v1/billing/checkout", json={"plan": "pro"}, headers=owner.ws(ws["id"]))
    assert r.status_code == 200, r.text
    assert fake.count("POST", "/v1/customers") == 2  # the second was an idempotent replay
    assert len(fake.customers) == 1


def test_portal_needs_a_billing_account(harness: StripeHarness) -> None:
    api, fake = harness.api, harness.fake
    owner = signup_login(api)
    ws = make_workspace(api, owner)
    h = owner.ws(ws["id"])
    r = api.post("/api/v1/billing/portal", headers=h)
    assert r.status_code == 409 and r.json()["type"].endswith("/no-billing-account")
    assert api.post("/api/v1/billing/checkout", json={"plan": "pro"}, headers=h).status_code == 200
    r = api.post("/api/v1/billing/portal", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["url"].startswith("https://billing.stripe.com/")
    sent = fake.last("POST", "/v1/billing_portal/sessions")
    assert sent == {
        "customer": next(iter(fake.customers)),
        "return_url": "https://cliply.example/billing",
    }
    viewer = add_member(api, owner, ws["id"], "viewer")
    assert api.post("/api/v1/billing/portal", headers=viewer.ws(ws["id"])).status_code == 403


def test_usage_endpoint_shows_usage_against_limits(harness: StripeHarness) -> None:
    import uuid

    from cliply.billing import gate
    from cliply.db.engine import owner_session

    api = harness.api
    owner = signup_login(api)
    ws = make_workspace(api, owner)
    with owner_session() as db:
        gate.consume(db, uuid.UUID(ws["id"]), "source_minutes", 42.5, event_key="u1")
    r = api.get("/api/v1/billing/usage", headers=owner.ws(ws["id"]))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["plan"] == "basic"
    lines = {line["metric"]: line for line in body["usage"]}
    assert lines["source_minutes"] | {} == {
        "metric": "source_minutes",
        "limit_name": "source_minutes_per_month",
        "scope": "period",
        "used": 42.5,
        "limit": 120,
        "remaining": 77.5,
    }
    assert lines["projects"]["used"] == 0 and lines["projects"]["limit"] == 10
    assert lines["connected_accounts"]["limit"] == 1
    assert lines["concurrent_jobs"]["limit"] == 2
    assert body["features"]["scheduling"] is False and body["watermark"] is True
    assert body["period_start"].endswith("-01")


def test_plans_listing_marks_purchasable_plans(harness: StripeHarness) -> None:
    r = harness.api.get("/api/v1/billing/plans")
    assert r.status_code == 200
    plans = {p["name"]: p for p in r.json()["items"]}
    assert [p["purchasable"] for p in r.json()["items"]] == [False, True, True]
    assert plans["pro"]["limits"]["projects_per_month"] == 100


def test_billing_not_configured(client: TestClient) -> None:
    owner = signup_login(client)
    ws = make_workspace(client, owner)
    r = client.post("/api/v1/billing/checkout", json={"plan": "pro"}, headers=owner.ws(ws["id"]))
    # No price configured in this environment.
    assert r.status_code == 400 and r.json()["purchasable"] == []
    r = client.post("/api/v1/billing/portal", headers=owner.ws(ws["id"]))
    assert r.status_code == 503 and r.json()["type"].endswith("/billing-not-configured")
    r = client.post("/api/v1/webhooks/stripe", content=b"{}", headers={"Stripe-Signature": "x"})
    assert r.status_code == 503 and r.json()["type"].endswith("/billing-not-configured")
