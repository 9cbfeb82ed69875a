"""Stripe client (protocol only): customers, Checkout, the customer portal, subscriptions, webhooks.

Wraps the official `stripe` library with its API base passed in (tests point it at a local fake)
and answers plain dicts (the JSON objects Stripe documents) so callers need not know the
library's types. Library errors become typed `CliplyError`s with stable codes:

- connection failures, 429 and 5xx (after the library's own retries): `StripeUnavailable` (503)
- other 4xx: `StripeRequestFailed` (502; Stripe's `type`, `code` and `param` ride along)

Webhook verification uses `stripe.Webhook.construct_event` (HMAC-SHA256 of ``t.payload`` with
the endpoint secret, timestamp tolerance in seconds).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Final

import stripe
import structlog

from cliply.errors import BadRequest, CliplyError, ServiceUnavailable

log = structlog.get_logger(__name__)

DEFAULT_TOLERANCE_S: Final = 300


class StripeRequestFailed(CliplyError):
    """Stripe refused the request (4xx): a configuration or data problem on our side."""

    status, code, title = 502, "stripe-request-failed", "Payment provider refused the request"


class StripeUnavailable(ServiceUnavailable):
    status, code, title = 503, "stripe-unavailable", "Payment provider unavailable"


class BillingNotConfigured(ServiceUnavailable):
    status, code, title = 503, "billing-not-configured", "Billing is not configured"


class InvalidWebhookSignature(BadRequest):
    status, code, title = 400, "invalid-stripe-signature", "Invalid webhook signature"


def _translate(exc: stripe.StripeError, action: str) -> CliplyError:
    status = exc.http_status
    err = exc.error
    extra: dict[str, Any] = {"stripe_status": status}
    if err is not None:
        extra.update(
            stripe_type=getattr(err, "type", None),
            stripe_code=getattr(err, "code", None),
            stripe_param=getattr(err, "param", None),
        )
    log.warning("stripe_error", action=action, status=status, message=exc.user_message)
    if (
        isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError)
        or status is None
        or status >= 500
    ):
        return StripeUnavailable(f"Stripe could not {action} right now; try again.", **extra)
    return StripeRequestFailed(f"Stripe refused to {action}: {exc.user_message or exc}", **extra)


def idempotency_key(prefix: str, params: Mapping[str, Any]) -> str:
    """A stable key for the same request: a retried transaction reuses Stripe's first answer."""
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()
    return f"{prefix}-{digest[:24]}"


class StripeBilling:
    """The Stripe calls Cliply makes, against `api_base` (https://api.stripe.com or a fake)."""

    def __init__(
        self,
        api_key: str,
        *,
        api_base: str = "https://api.stripe.com",
        timeout_s: float = 20.0,
        max_network_retries: int = 2,
    ) -> None:
        if not api_key:
            raise BillingNotConfigured("Set STRIPE_SECRET_KEY to enable billing.")
        http = stripe.HTTPXClient(timeout=timeout_s, allow_sync_methods=True)
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base.rstrip("/")},
            max_network_retries=max_network_retries,
            http_client=http,
        )

    def create_customer(
        self,
        *,
        name: str,
        email: str | None,
        metadata: Mapping[str, str],
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"name": name, "metadata": dict(metadata)}
        if email:
            params["email"] = email
        try:
            obj = self._client.v1.customers.create(
                params,  # type: ignore[arg-type]
                {"idempotency_key": idempotency_key} if idempotency_key else None,
            )
        except stripe.StripeError as exc:
            raise _translate(exc, "create the customer") from exc
        return obj.to_dict()

    def create_checkout_session(
        self,
        *,
        customer: str,
        price_id: str,
        client_reference_id: str,
        metadata: Mapping[str, str],
        subscription_metadata: Mapping[str, str],
        success_url: str,
        cancel_url: str,
    ) -> dict[str, Any]:
        """A Checkout Session in subscription mode for one unit of `price_id`."""
        params: dict[str, Any] = {
            "mode": "subscription",
            "customer": customer,
            "client_reference_id": client_reference_id,
            "line_items": [{"price": price_id, "quantity": 1}],
            "metadata": dict(metadata),
            "subscription_data": {"metadata": dict(subscription_metadata)},
            "success_url": success_url,
            "cancel_url": cancel_url,
        }
        try:
            obj = self._client.v1.checkout.sessions.create(params)  # type: ignore[arg-type]
        except stripe.StripeError as exc:
            raise _translate(exc, "start checkout") from exc
        return obj.to_dict()

    def create_portal_session(self, *, customer: str, return_url: str) -> dict[str, Any]:
        try:
            obj = self._client.v1.billing_portal.sessions.create(
                {"customer": customer, "return_url": return_url}
            )
        except stripe.StripeError as exc:
            raise _translate(exc, "open the billing portal") from exc
        return obj.to_dict()

    def retrieve_subscription(self, subscription_id: str) -> dict[str, Any]:
        try:
            obj = self._client.v1.subscriptions.retrieve(subscription_id)
        except stripe.StripeError as exc:
            raise _translate(exc, "read the subscription") from exc
        return obj.to_dict()


def verify_webhook(
    payload: bytes,
    signature_header: str | None,
    secret: str,
    *,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> dict[str, Any]:
    """The event of a correctly signed, recent webhook body; `InvalidWebhookSignature` otherwise."""
    if not signature_header:
        raise InvalidWebhookSignature("The Stripe-Signature header is missing.")
    try:
        event = stripe.Webhook.construct_event(payload, signature_header, secret, tolerance_s)
    except stripe.SignatureVerificationError as exc:
        raise InvalidWebhookSignature(f"Stripe signature check failed: {exc.user_message}") from exc
    except (ValueError, TypeError, AttributeError) as exc:
        # Malformed header (no t=) or body that is not JSON.
        raise InvalidWebhookSignature(f"Webhook body or signature is malformed: {exc}") from exc
    data: dict[str, Any] = event.to_dict()
    if not isinstance(data.get("id"), str) or not isinstance(data.get("type"), str):
        raise InvalidWebhookSignature("The webhook body is not a Stripe event.")
    return data
