"""Schemathesis over the OpenAPI document: no 5xx, and every answer as documented.

Runs inside the normal pytest run (so `make test` runs it) against the real app and the real
database, as the signed-in owner of a workspace on the top plan (so requests get past
authentication and plan gates), with billing pointed at the local fake Stripe. Fixed seed
(hypothesis `derandomize`), a bounded number of examples per operation.

Checks: every default check of schemathesis except `positive_data_acceptance`: some rules
cannot be said in JSON Schema (a clip's end after its start, a plan that has no price, the
tus protocol headers), so a schema-valid request may rightly be refused with a 4xx. Server
errors, undocumented statuses, content types, headers and bodies all fail the test.
(`unsupported_method` is also left out for the few operations outside /api/, see below.)

No traffic leaves the machine: name resolution is limited to loopback for the module (URL
ingest resolves hostnames while answering), and nothing runs the queued jobs.
"""

from __future__ import annotations

import re
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import positive_data_acceptance, unsupported_method
from sqlalchemy import text

from cliply.app import create_app
from tests.fakes.server import serve
from tests.fakes.stripe import FakeStripe
from tests.foundation.helpers import PASSWORD

# Every test here needs the database (or a server process): integration tier.
pytestmark = pytest.mark.integration

EXAMPLES_PER_OPERATION = 20

# The app (and its document) is built at collection: it reaches the database only per request.
APP = create_app()
schema = schemathesis.openapi.from_asgi("/api/openapi.json", APP)


def _shadowed(paths: list[str]) -> set[str]:
    """Literal paths that a templated path of the document also matches."""
    patterns = [
        re.compile("^" + "[^/]+".join(map(re.escape, re.split(r"\{[^}]+\}", t))) + "$")
        for t in paths
        if "{" in t
    ]
    return {p for p in paths if "{" not in p and any(r.match(p) for r in patterns)}


_SHADOWED = _shadowed(list(schema.raw_schema["paths"]))

_real_getaddrinfo = socket.getaddrinfo


def _loopback_only(host: Any, *args: Any, **kwargs: Any) -> Any:
    name = host.decode() if isinstance(host, bytes) else str(host)
    try:
        import ipaddress

        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        if name != "localhost":
            raise socket.gaierror(socket.EAI_NONAME, "resolution disabled in the fuzz") from None
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(scope="module")
def fuzz_world(pg_server_url: str) -> Iterator[dict[str, Any]]:
    """One owner, one premium workspace, fake Stripe: for every operation of the module."""
    from fastapi.testclient import TestClient

    from cliply.db.engine import get_engine
    from cliply.models import Base
    from tests.conftest import reset_caches

    fake = FakeStripe(api_key="sk_test_fuzz")
    with serve(fake.app) as stripe, pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket, "getaddrinfo", _loopback_only)
        mp.setenv("STRIPE_SECRET_KEY", "sk_test_fuzz")
        mp.setenv("STRIPE_WEBHOOK_SECRET", "whsec_fuzz")
        mp.setenv("STRIPE_API_BASE", stripe.base_url)
        mp.setenv("STRIPE_PRICE_PRO", "price_pro")
        mp.setenv("STRIPE_PRICE_PREMIUM", "price_premium")
        mp.setenv("PUBLIC_BASE_URL", "https://cliply.example")
        mp.setenv("CRON_SECRET", "cron-secret-for-the-fuzz")
        reset_caches()
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with get_engine().begin() as conn:
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        with TestClient(APP) as client:
            email = f"fuzz{uuid.uuid4().hex[:8]}@example.com"
            r = client.post("/api/v1/auth/signup", json={"email": email, "password": PASSWORD})
            assert r.status_code == 201, r.text
            r = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
            assert r.status_code == 200, r.text
            auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
            r = client.post("/api/v1/workspaces", json={"name": "Fuzz"}, headers=auth)
            assert r.status_code == 201, r.text
            ws_id = r.json()["id"]
        with get_engine().begin() as conn:
            conn.execute(text("UPDATE workspaces SET plan = 'premium' WHERE id = :w"), {"w": ws_id})
        yield {"headers": {**auth, "X-Workspace-ID": ws_id}}
    reset_caches()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_openapi_operations(case: Any, fuzz_world: dict[str, Any]) -> None:
    # Our credentials and workspace on every request, so the fuzz reaches the routes' logic;
    # except where the case's headers are the invalid part (e.g. credentials left out).
    header = case.meta.components.get(ParameterLocation.HEADER) if case.meta else None
    negative_headers = header is not None and header.mode.is_negative
    excluded = [positive_data_acceptance]
    if not case.path.startswith("/api/") or case.path in _SHADOWED:
        # Outside the API (/healthz, /metrics, …) the browser CSRF guard answers an unsafe
        # method with 403 before routing, where the check expects 405. And a literal path
        # that a templated one also matches (/schedules/batch, /schedules/{schedule_id}) has
        # the template's methods too: those answer for an invalid id, not 405.
        excluded.append(unsupported_method)
    case.call_and_validate(
        headers=None if negative_headers else fuzz_world["headers"], excluded_checks=excluded
    )
