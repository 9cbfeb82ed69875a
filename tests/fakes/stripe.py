"""In-memory fake of the Stripe API parts Cliply uses, plus the events Stripe would send.

HTTP (serve with `tests.fakes.server.serve(fake.app)`), as docs.stripe.com/api documents:
form-encoded POST bodies with bracketed keys (``line_items[0][price]=...``), Bearer secret
key auth, JSON objects carrying ``object`` and ``id``, errors as
``{"error": {"type", "message", "code", "param"}}`` with 400/401/404 statuses, and
``Idempotency-Key`` replay (same key + same params -> same answer with
``Idempotent-Replayed: true``; same key + other params -> 400 ``idempotency_error``).

- POST /v1/customers, GET /v1/customers/{id}
- POST /v1/checkout/sessions, GET /v1/checkout/sessions/{id}
- POST /v1/billing_portal/sessions
- GET /v1/subscriptions/{id}

Subscriptions use the 2025-03-31+ shape: billing periods live on ``items.data[]``.
The test side moves Stripe's state the way the dashboard, the customer or time would
(`complete_checkout`, `fail_payment`, `pay`, `cancel`, `end_period`, `change_price`) and
gets back the event objects Stripe would deliver; tests sign and post them (`sign_payload`).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import re
import secrets
import threading
import time
from collections.abc import Iterable
from copy import deepcopy
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

API_VERSION = "2025-03-31.basil"
PERIOD_S = 30 * 86400


def sign_payload(payload: str, secret: str, timestamp: int | None = None) -> str:
    """A Stripe-Signature header value: t=<unix>,v1=<hex HMAC-SHA256 of "t.payload">."""
    ts = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{ts}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


def decode_form(body: bytes) -> dict[str, Any]:
    """Stripe's form encoding back to nested dicts/lists (``a[b][0][c]=v``)."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body.decode(), keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value

    def listify(node: Any) -> Any:
        if isinstance(node, dict):
            node = {k: listify(v) for k, v in node.items()}
            if node and all(k.isdigit() for k in node):
                return [node[k] for k in sorted(node, key=int)]
        return node

    result: dict[str, Any] = listify(root)
    return result


class StripeAPIError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        body: dict[str, Any] = {"type": type_, "message": message}
        if code:
            body["code"] = code
            body["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
        if param:
            body["param"] = param
        self.body = {"error": body}


def _missing(kind: str, ident: str, param: str | None = None) -> StripeAPIError:
    return StripeAPIError(
        404 if param is None else 400,
        f"No such {kind}: '{ident}'",
        code="resource_missing",
        param=param or "id",
    )


class FakeStripe:
    """State plus the ASGI app. `requests` records (method, path, params) for assertions."""

    def __init__(
        self,
        *,
        api_key: str = "sk_test_cliply",
        prices: Iterable[str] = ("price_basic", "price_pro", "price_premium"),
    ) -> None:
        self.api_key = api_key
        self.prices: dict[str, dict[str, Any]] = {
            p: {
                "id": p,
                "object": "price",
                "active": True,
                "currency": "usd",
                "product": f"prod_{p}",
                "type": "recurring",
                "unit_amount": 1900,
                "recurring": {"interval": "month", "interval_count": 1},
            }
            for p in prices
        }
        self.customers: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, dict[str, Any]] = {}
        self.portal_sessions: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.invoices: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self._idem: dict[str, tuple[str, int, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._last_ts = 0
        self._seq = itertools.count(1)
        self.app = Starlette(
            routes=[
                Route("/v1/customers", self._create_customer, methods=["POST"]),
                Route("/v1/customers/{id}", self._get_customer, methods=["GET"]),
                Route("/v1/checkout/sessions", self._create_session, methods=["POST"]),
                Route("/v1/checkout/sessions/{id}", self._get_session, methods=["GET"]),
                Route("/v1/billing_portal/sessions", self._create_portal, methods=["POST"]),
                Route("/v1/subscriptions/{id}", self._get_subscription, methods=["GET"]),
            ]
        )

    # --- clock and ids ---------------------------------------------------------------------------

    @staticmethod
    def now() -> int:
        """Stripe's clock for object timestamps: wall time in whole seconds."""
        return int(time.time())

    def event_time(self) -> int:
        """Event `created`: wall time, but strictly increasing so events have a definite order
        (Stripe's own events can share a second; tests that want that pass `created`)."""
        with self._lock:
            self._last_ts = max(int(time.time()), self._last_ts + 1)
            return self._last_ts

    @staticmethod
    def _new_id(prefix: str) -> str:
        return f"{prefix}_{secrets.token_hex(12)}"

    # --- HTTP plumbing -------------------------------------------------------------------------

    async def _call(self, request: Request, fn: Any) -> JSONResponse:
        headers = {"Request-Id": self._new_id("req"), "Stripe-Version": API_VERSION}
        auth = request.headers.get("authorization", "")
        if auth != f"Bearer {self.api_key}":
            err = StripeAPIError(401, "Invalid API Key provided: " + auth[-4:].rjust(8, "*"))
            return JSONResponse(err.body, status_code=401, headers=headers)
        raw = await request.body()
        params = decode_form(raw) if request.method == "POST" else dict(request.query_params)
        self.requests.append((request.method, request.url.path, params))
        key = request.headers.get("idempotency-key")
        fingerprint = request.url.path + "?" + raw.decode()
        if request.method == "POST" and key:
            with self._lock:
                seen = self._idem.get(key)
            if seen is not None:
                if seen[0] != fingerprint:
                    err = StripeAPIError(
                        400,
                        "Keys for idempotent requests can only be used with the same "
                        "parameters they were first used with.",
                        type_="idempotency_error",
                    )
                    return JSONResponse(err.body, status_code=400, headers=headers)
                return JSONResponse(
                    seen[2], status_code=seen[1], headers={**headers, "Idempotent-Replayed": "true"}
                )
        try:
            status, body = 200, fn(params, request.path_params)
        except StripeAPIError as exc:
            status, body = exc.status, exc.body
        if request.method == "POST" and key:
            with self._lock:
                self._idem[key] = (fingerprint, status, body)
        return JSONResponse(body, status_code=status, headers=headers)

    async def _create_customer(self, request: Request) -> JSONResponse:
        return await self._call(request, self.create_customer)

    async def _get_customer(self, request: Request) -> JSONResponse:
        return await self._call(
            request, lambda _p, path: self._get(self.customers, "customer", path["id"])
        )

    async def _create_session(self, request: Request) -> JSONResponse:
        return await self._call(request, self.create_checkout_session)

    async def _get_session(self, request: Request) -> JSONResponse:
        return await self._call(
            request, lambda _p, path: self._get(self.sessions, "checkout.session", path["id"])
        )

    async def _create_portal(self, request: Request) -> JSONResponse:
        return await self._call(request, self.create_portal_session)

    async def _get_subscription(self, request: Request) -> JSONResponse:
        return await self._call(
            request, lambda _p, path: self._get(self.subscriptions, "subscription", path["id"])
        )

    @staticmethod
    def _get(store: dict[str, dict[str, Any]], kind: str, ident: str) -> dict[str, Any]:
        if ident not in store:
            raise _missing(kind, ident)
        return deepcopy(store[ident])

    # --- API operations ------------------------------------------------------------------------

    def create_customer(self, params: dict[str, Any], _path: Any = None) -> dict[str, Any]:
        cus = {
            "id": self._new_id("cus"),
            "object": "customer",
            "created": self.now(),
            "email": params.get("email"),
            "name": params.get("name"),
            "metadata": params.get("metadata") or {},
            "livemode": False,
            "invoice_settings": {"default_payment_method": None},
        }
        self.customers[cus["id"]] = cus
        return deepcopy(cus)

    def create_checkout_session(self, params: dict[str, Any], _path: Any = None) -> dict[str, Any]:
        mode = params.get("mode")
        if mode not in ("payment", "setup", "subscription"):
            raise StripeAPIError(
                400, "Missing required param: mode.", code="parameter_missing", param="mode"
            )
        customer = params.get("customer")
        if customer and customer not in self.customers:
            raise _missing("customer", customer, "customer")
        items = params.get("line_items") or []
        if mode == "subscription" and not items:
            raise StripeAPIError(
                400,
                "You must provide at least one recurring price in `subscription` mode.",
                code="parameter_missing",
                param="line_items",
            )
        for i, item in enumerate(items):
            if item.get("price") not in self.prices:
                raise _missing("price", str(item.get("price")), f"line_items[{i}][price]")
        sid = self._new_id("cs_test")
        now = self.now()
        session = {
            "id": sid,
            "object": "checkout.session",
            "mode": mode,
            "status": "open",
            "payment_status": "unpaid",
            "customer": customer,
            "client_reference_id": params.get("client_reference_id"),
            "metadata": params.get("metadata") or {},
            "success_url": params.get("success_url"),
            "cancel_url": params.get("cancel_url"),
            "url": f"https://checkout.stripe.com/c/pay/{sid}",
            "subscription": None,
            "created": now,
            "expires_at": now + 86400,
            "livemode": False,
            # Not part of Stripe's session object; kept to build the subscription later.
            "_line_items": items,
            "_subscription_data": params.get("subscription_data") or {},
        }
        self.sessions[sid] = session
        return self._public(session)

    def create_portal_session(self, params: dict[str, Any], _path: Any = None) -> dict[str, Any]:
        customer = params.get("customer")
        if not customer:
            raise StripeAPIError(
                400, "Missing required param: customer.", code="parameter_missing", param="customer"
            )
        if customer not in self.customers:
            raise _missing("customer", customer, "customer")
        ps = {
            "id": self._new_id("bps"),
            "object": "billing_portal.session",
            "customer": customer,
            "return_url": params.get("return_url"),
            "created": self.now(),
            "livemode": False,
            "url": f"https://billing.stripe.com/p/session/test_{secrets.token_hex(8)}",
        }
        self.portal_sessions[ps["id"]] = ps
        return deepcopy(ps)

    @staticmethod
    def _public(obj: dict[str, Any]) -> dict[str, Any]:
        return {k: deepcopy(v) for k, v in obj.items() if not k.startswith("_")}

    # --- what customers, time and the dashboard do (test side) -----------------------------------

    def event(
        self,
        type_: str,
        obj: dict[str, Any],
        *,
        previous: dict[str, Any] | None = None,
        created: int | None = None,
    ) -> dict[str, Any]:
        data: dict[str, Any] = {"object": self._public(obj)}
        if previous is not None:
            data["previous_attributes"] = previous
        return {
            "id": self._new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": self.event_time() if created is None else created,
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": type_,
        }

    def _invoice(self, sub: dict[str, Any], status: str) -> dict[str, Any]:
        inv = {
            "id": self._new_id("in"),
            "object": "invoice",
            "customer": sub["customer"],
            "status": status,
            "amount_due": 1900,
            "amount_paid": 1900 if status == "paid" else 0,
            "currency": "usd",
            "created": self.now(),
            "billing_reason": "subscription_cycle",
            "parent": {
                "type": "subscription_details",
                "quote_details": None,
                "subscription_details": {
                    "subscription": sub["id"],
                    "metadata": deepcopy(sub["metadata"]),
                },
            },
        }
        self.invoices[inv["id"]] = inv
        sub["latest_invoice"] = inv["id"]
        return inv

    def complete_checkout(self, session_id: str) -> list[dict[str, Any]]:
        """The customer pays: a subscription starts. Events in the order Stripe often sends."""
        session = self.sessions[session_id]
        now = self.now()
        sub_id = self._new_id("sub")
        items = [
            {
                "id": self._new_id("si"),
                "object": "subscription_item",
                "price": deepcopy(self.prices[it["price"]]),
                "quantity": int(it.get("quantity", 1)),
                "subscription": sub_id,
                "current_period_start": now,
                "current_period_end": now + PERIOD_S,
            }
            for it in session["_line_items"]
        ]
        sub = {
            "id": sub_id,
            "object": "subscription",
            "customer": session["customer"],
            "status": "active",
            "created": now,
            "start_date": now,
            "items": {
                "object": "list",
                "data": items,
                "has_more": False,
                "url": f"/v1/subscription_items?subscription={sub_id}",
            },
            "metadata": deepcopy(session["_subscription_data"].get("metadata") or {}),
            "cancel_at_period_end": False,
            "cancel_at": None,
            "canceled_at": None,
            "ended_at": None,
            "latest_invoice": None,
            "livemode": False,
        }
        self.subscriptions[sub_id] = sub
        session.update(status="complete", payment_status="paid", subscription=sub_id)
        invoice = self._invoice(sub, "paid")
        return [
            self.event("customer.subscription.created", sub),
            self.event("checkout.session.completed", session),
            self.event("invoice.paid", invoice),
        ]

    def _updated(self, sub: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
        return self.event("customer.subscription.updated", sub, previous=previous)

    def fail_payment(self, sub_id: str) -> list[dict[str, Any]]:
        sub = self.subscriptions[sub_id]
        previous = {"status": sub["status"]}
        sub["status"] = "past_due"
        invoice = self._invoice(sub, "open")
        return [self.event("invoice.payment_failed", invoice), self._updated(sub, previous)]

    def pay(self, sub_id: str) -> list[dict[str, Any]]:
        sub = self.subscriptions[sub_id]
        previous = {"status": sub["status"]}
        sub["status"] = "active"
        invoice = self._invoice(sub, "paid")
        return [self.event("invoice.paid", invoice), self._updated(sub, previous)]

    def change_price(self, sub_id: str, price: str) -> dict[str, Any]:
        sub = self.subscriptions[sub_id]
        item = sub["items"]["data"][0]
        previous = {"items": {"data": [{"price": {"id": item["price"]["id"]}}]}}
        item["price"] = deepcopy(self.prices[price])
        return self._updated(sub, previous)

    def cancel(self, sub_id: str, *, at_period_end: bool) -> dict[str, Any]:
        """at_period_end: the portal's default (stays active); else canceled right away."""
        sub = self.subscriptions[sub_id]
        now = self.now()
        if at_period_end:
            sub.update(
                cancel_at_period_end=True,
                canceled_at=now,
                cancel_at=sub["items"]["data"][0]["current_period_end"],
            )
            return self._updated(sub, {"cancel_at_period_end": False, "canceled_at": None})
        sub.update(status="canceled", canceled_at=now, ended_at=now)
        return self.event("customer.subscription.deleted", sub)

    def end_period(self, sub_id: str) -> list[dict[str, Any]]:
        """Time reaches the period end (the period is cut short to just now, not to wait)."""
        sub = self.subscriptions[sub_id]
        now = self.now() - 1
        for item in sub["items"]["data"]:
            item["current_period_end"] = now
        if sub["cancel_at_period_end"] or sub["status"] == "canceled":
            sub.update(status="canceled", ended_at=now)
            return [self.event("customer.subscription.deleted", sub)]
        for item in sub["items"]["data"]:
            item.update(current_period_start=now, current_period_end=now + PERIOD_S)
        invoice = self._invoice(sub, "paid")
        return [self._updated(sub, {}), self.event("invoice.paid", invoice)]

    def count(self, method: str, path: str) -> int:
        return sum(1 for m, p, _ in self.requests if m == method and p == path)

    def last(self, method: str, path: str) -> dict[str, Any]:
        return [params for m, p, params in self.requests if m == method and p == path][-1]
