"""The gate: features, counted limits, metered usage (atomic, once per event) and plan resolution."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cliply.billing import gate
from cliply.billing.deps import require_feature
from cliply.billing.models import UsageEvent, WorkspaceUsage
from cliply.db.engine import owner_session
from cliply.errors import PlanLimitExceeded
from cliply.workspaces.deps import Tenant
from tests.billing.helpers import add_subscription, new_workspace, plan_of
from tests.foundation.helpers import make_workspace, signup_login

# Every test here needs the database (or a server process): integration tier.
pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)


def test_feature_missing_on_basic_names_the_plan_that_has_it(db_url: str) -> None:
    ws = new_workspace("basic")
    with owner_session() as db:
        gate.check_feature(db, ws, "publishing")
        with pytest.raises(PlanLimitExceeded) as info:
            gate.check_feature(db, ws, "scheduling")
    err = info.value
    assert err.status == 402 and err.code == "plan-feature-unavailable"
    assert err.extra == {"feature": "scheduling", "plan": "basic", "upgrade_to": "pro"}
    with owner_session() as db, pytest.raises(PlanLimitExceeded) as info:
        gate.check_feature(db, new_workspace("pro"), "products")
    assert info.value.extra["upgrade_to"] == "premium"


def test_unknown_names_are_programming_errors(db_url: str) -> None:
    ws = new_workspace()
    with owner_session() as db:
        for call in (
            lambda: gate.check_feature(db, ws, "teleport"),
            lambda: gate.check_limit(db, ws, "rockets", 1),
            lambda: gate.consume(db, ws, "rockets", 1, event_key="k"),
        ):
            with pytest.raises(ValueError):
                call()
    with pytest.raises(ValueError):
        require_feature("teleport")


def test_check_limit_counts_current_plus_adding(db_url: str) -> None:
    ws = new_workspace("basic")  # 1 connected account, 60-minute sources
    with owner_session() as db:
        gate.check_limit(db, ws, "connected_accounts", current=0)
        with pytest.raises(PlanLimitExceeded) as info:
            gate.check_limit(db, ws, "connected_accounts", current=1)
        assert info.value.code == "plan-limit-exceeded"
        assert info.value.extra == {
            "limit": "connected_accounts",
            "limit_value": 1,
            "usage": 1,
            "requested": 1,
            "plan": "basic",
            "upgrade_to": "pro",
        }
        gate.check_limit(db, ws, "max_source_minutes", current=60, adding=0)
        with pytest.raises(PlanLimitExceeded) as info:
            gate.check_limit(db, ws, "max_source_minutes", current=200, adding=0)
        assert info.value.extra["upgrade_to"] == "premium"  # pro allows 180
        with pytest.raises(PlanLimitExceeded) as info:
            gate.check_limit(db, ws, "max_source_minutes", current=10_000, adding=0)
        assert info.value.extra["upgrade_to"] is None  # no plan lifts it


def _usage_row(ws: uuid.UUID, metric: str) -> float:
    with owner_session() as db:
        return float(
            db.scalar(
                select(func.sum(WorkspaceUsage.quantity)).where(
                    WorkspaceUsage.workspace_id == ws, WorkspaceUsage.metric == metric
                )
            )
            or 0
        )


def test_consume_counts_each_event_key_once_and_refuses_over_limit(db_url: str) -> None:
    ws = new_workspace("basic")  # 120 source minutes a month
    with owner_session() as db:
        assert gate.consume(db, ws, "source_minutes", 100, event_key="upload:a") is True
        # The retried job reports the same upload again: not counted twice.
        assert gate.consume(db, ws, "source_minutes", 100, event_key="upload:a") is False
    assert _usage_row(ws, "source_minutes") == 100
    with owner_session() as db:
        with pytest.raises(PlanLimitExceeded) as info:
            gate.consume(db, ws, "source_minutes", 30, event_key="upload:b")
        # The caller's transaction goes on; the refused event left nothing behind.
        assert gate.consume(db, ws, "source_minutes", 20, event_key="upload:c") is True
    extra = info.value.extra
    assert extra["limit"] == "source_minutes_per_month"
    assert (extra["limit_value"], extra["usage"], extra["requested"]) == (120, 100, 30)
    assert extra["upgrade_to"] == "pro"
    assert _usage_row(ws, "source_minutes") == 120
    with owner_session() as db:
        keys = set(db.scalars(select(UsageEvent.event_key).where(UsageEvent.workspace_id == ws)))
    assert keys == {"upload:a", "upload:c"}


def test_release_refunds_and_forgets_the_key(db_url: str) -> None:
    ws = new_workspace("basic")
    with owner_session() as db:
        gate.consume(db, ws, "projects", 1, event_key="project:1")
        assert gate.release(db, ws, "projects", event_key="project:1") is True
        assert gate.release(db, ws, "projects", event_key="project:1") is False
        assert gate.current_usage(db, ws, "projects") == 0
        assert gate.consume(db, ws, "projects", 1, event_key="project:1") is True


def test_usage_is_per_calendar_month(db_url: str) -> None:
    ws = new_workspace("basic")  # 10 projects a month
    last_month = NOW.replace(day=1) - timedelta(days=3)
    with owner_session() as db:
        for i in range(10):
            gate.consume(db, ws, "projects", 1, event_key=f"old:{i}", now=last_month)
        with pytest.raises(PlanLimitExceeded):
            gate.consume(db, ws, "projects", 1, event_key="old:x", now=last_month)
        assert gate.consume(db, ws, "projects", 1, event_key="new:0") is True
        assert gate.current_usage(db, ws, "projects") == 1


def _parallel(n: int, fn) -> list[object]:  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = fn(i)
        except Exception as exc:  # collected for the assertions
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_parallel_uploads_cannot_exceed_the_monthly_limit(db_url: str) -> None:
    ws = new_workspace("basic")  # 120 minutes: six 20-minute uploads fit

    def upload(i: int) -> bool:
        with owner_session() as db:
            return gate.consume(db, ws, "source_minutes", 20, event_key=f"upload:{i}")

    results = _parallel(12, upload)
    assert results.count(True) == 6
    assert sum(isinstance(r, PlanLimitExceeded) for r in results) == 6
    assert _usage_row(ws, "source_minutes") == 120


def test_parallel_retries_of_one_event_count_once(db_url: str) -> None:
    ws = new_workspace("basic")

    def retry(_: int) -> bool:
        with owner_session() as db:
            return gate.consume(db, ws, "projects", 1, event_key="project:same")

    results = _parallel(8, retry)
    assert results.count(True) == 1 and results.count(False) == 7
    assert _usage_row(ws, "projects") == 1


def test_plan_follows_subscription_states(db_url: str) -> None:
    cases = [
        ({"status": "active"}, "pro"),
        ({"status": "trialing"}, "pro"),
        ({"status": "past_due", "past_due_since": NOW - timedelta(hours=1)}, "pro"),
        ({"status": "past_due", "past_due_since": NOW - timedelta(days=8)}, "basic"),
        ({"status": "canceled", "current_period_end": NOW + timedelta(days=3)}, "pro"),
        ({"status": "canceled", "current_period_end": NOW - timedelta(seconds=1)}, "basic"),
        ({"status": "incomplete"}, "basic"),
        ({"status": "unpaid"}, "basic"),
    ]
    for fields, expected in cases:
        ws = new_workspace("basic")
        add_subscription(ws, **fields)
        assert plan_of(ws) == expected, fields


def test_best_granting_subscription_wins_and_stored_plan_is_the_fallback(db_url: str) -> None:
    ws = new_workspace("basic")
    add_subscription(
        ws, plan="premium", status="canceled", current_period_end=NOW - timedelta(days=1)
    )
    add_subscription(ws, plan="pro", status="active")
    assert plan_of(ws) == "pro"
    # No subscription at all: the stored plan (set by an operator) applies.
    assert plan_of(new_workspace("premium")) == "premium"
    # Only ended subscriptions: back to the default plan, whatever was stored.
    ended = new_workspace("pro")
    add_subscription(ended, status="canceled", current_period_end=NOW - timedelta(days=1))
    assert plan_of(ended) == "basic"


def test_jobs_cap_follows_the_plan(db_url: str) -> None:
    from cliply.billing.service import concurrent_jobs_cap, concurrent_jobs_caps

    basic, pro = new_workspace("basic"), new_workspace("basic")
    add_subscription(pro, status="active")
    with owner_session() as db:
        assert concurrent_jobs_cap(db, basic) == 2
        assert concurrent_jobs_caps(db, [basic, pro]) == {basic: 2, pro: 5}


def test_require_feature_answers_problem_json(client: TestClient) -> None:
    router = APIRouter()

    @router.post("/test-gated/schedules")
    def gated(tenant: Annotated[Tenant, Depends(require_feature("scheduling"))]) -> dict[str, str]:
        return {"ok": str(tenant.workspace_id)}

    client.app.include_router(router, prefix="/api/v1")  # type: ignore[attr-defined]
    owner = signup_login(client)
    ws = make_workspace(client, owner)
    r = client.post("/api/v1/test-gated/schedules", headers=owner.ws(ws["id"]))
    assert r.status_code == 402
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["type"] == "https://cliply.dev/problems/plan-feature-unavailable"
    assert (body["feature"], body["plan"], body["upgrade_to"]) == ("scheduling", "basic", "pro")
    add_subscription(uuid.UUID(ws["id"]), status="active")
    r = client.post("/api/v1/test-gated/schedules", headers=owner.ws(ws["id"]))
    assert r.status_code == 200, r.text


def test_gate_works_inside_a_tenant_transaction(db_url: str) -> None:
    """API requests run under row-level security as the app role; the gate must too."""
    from cliply.app import install_hooks
    from cliply.config import get_settings
    from cliply.db.engine import get_sessionmaker
    from cliply.db.tenancy import enter_tenant

    install_hooks()  # usage_summary counts connected accounts through the assembly's hook
    ws = new_workspace("basic")
    with get_sessionmaker()() as db, db.begin():
        enter_tenant(db, role=get_settings().database_app_role, workspace_id=ws, user_id=None)
        assert gate.consume(db, ws, "projects", 1, event_key="p1") is True
        assert gate.consume(db, ws, "projects", 1, event_key="p1") is False
        gate.check_feature(db, ws, "publishing")
        summary = gate.usage_summary(db, ws)
    projects = next(line for line in summary["usage"] if line["metric"] == "projects")
    assert (projects["used"], projects["limit"], projects["remaining"]) == (1, 10, 9)


def test_periodic_sync_writes_the_resolved_plan(db_url: str) -> None:
    from cliply.billing.tasks import sync_plans
    from cliply.jobs.registry import PERIODIC
    from tests.billing.helpers import stored_plan

    assert "billing.sync_workspace_plans" in PERIODIC
    lapsed = new_workspace("pro")  # stored pro, but its grace period ran out
    add_subscription(lapsed, status="past_due", past_due_since=NOW - timedelta(days=30))
    untouched = new_workspace("premium")  # no subscription: an operator's choice stays
    assert sync_plans() == 1
    assert stored_plan(lapsed) == "basic" and stored_plan(untouched) == "premium"
    assert sync_plans() == 0
