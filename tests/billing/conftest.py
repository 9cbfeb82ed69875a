"""Billing fixtures: a fake Stripe on 127.0.0.1, settings pointing at it, and an API client."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.fakes.server import RunningServer, serve
from tests.fakes.stripe import FakeStripe, sign_payload

WEBHOOK_SECRET = "whsec_test_cliply_secret"
API_KEY = "sk_test_cliply"


@dataclass
class StripeHarness:
    fake: FakeStripe
    server: RunningServer
    api: TestClient

    def post_event(
        self,
        event: dict[str, Any],
        *,
        secret: str = WEBHOOK_SECRET,
        timestamp: int | None = None,
        header: str | None = None,
        body: str | None = None,
    ) -> Any:
        payload = body if body is not None else json.dumps(event)
        sig = header if header is not None else sign_payload(payload, secret, timestamp)
        headers = {"Content-Type": "application/json"}
        if sig:
            headers["Stripe-Signature"] = sig
        return self.api.post("/api/v1/webhooks/stripe", content=payload, headers=headers)

    def deliver(self, *events: dict[str, Any]) -> list[str]:
        outcomes = []
        for event in events:
            r = self.post_event(event)
            assert r.status_code == 200, r.text
            outcomes.append(r.json()["outcome"])
        return outcomes


@pytest.fixture
def fake_stripe() -> Iterator[tuple[FakeStripe, RunningServer]]:
    fake = FakeStripe(api_key=API_KEY)
    with serve(fake.app) as server:
        yield fake, server


@pytest.fixture
def stripe_env(
    db_url: str, fake_stripe: tuple[FakeStripe, RunningServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import reset_caches

    _, server = fake_stripe
    monkeypatch.setenv("STRIPE_SECRET_KEY", API_KEY)
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setenv("STRIPE_API_BASE", server.base_url)
    monkeypatch.setenv("STRIPE_PRICE_BASIC", "")
    monkeypatch.setenv("STRIPE_PRICE_PRO", "price_pro")
    monkeypatch.setenv("STRIPE_PRICE_PREMIUM", "price_premium")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://cliply.example")
    reset_caches()


@pytest.fixture
def harness(
    stripe_env: None, fake_stripe: tuple[FakeStripe, RunningServer]
) -> Iterator[StripeHarness]:
    from cliply.app import create_app

    fake, server = fake_stripe
    with TestClient(create_app()) as api:
        yield StripeHarness(fake, server, api)


def stale_timestamp() -> int:
    return int(time.time()) - 301
