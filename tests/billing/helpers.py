"""Direct database helpers for billing tests (workspaces and mirrored subscriptions)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from cliply.billing.models import Subscription
from cliply.db.engine import owner_session
from cliply.workspaces.models import Workspace


def new_workspace(plan: str = "basic") -> uuid.UUID:
    with owner_session() as db:
        ws = Workspace(name="WS", plan=plan)
        db.add(ws)
        db.flush()
        return ws.id


def add_subscription(workspace_id: uuid.UUID, **fields: Any) -> None:
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "workspace_id": workspace_id,
        "stripe_subscription_id": f"sub_{uuid.uuid4().hex[:12]}",
        "plan": "pro",
        "status": "active",
        "current_period_start": now - timedelta(days=1),
        "current_period_end": now + timedelta(days=29),
        **fields,
    }
    with owner_session() as db:
        db.add(Subscription(**values))


def plan_of(workspace_id: uuid.UUID) -> str:
    from cliply.billing.service import resolve_workspace_plan

    with owner_session() as db:
        return resolve_workspace_plan(db, workspace_id).name


def stored_plan(workspace_id: uuid.UUID) -> str:
    with owner_session() as db:
        ws = db.get(Workspace, workspace_id)
        assert ws is not None
        return ws.plan
