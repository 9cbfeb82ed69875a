"""Periodic billing upkeep, run by the job workers."""

from __future__ import annotations

import structlog

from cliply.billing.service import sync_workspace_plans
from cliply.db.engine import owner_session
from cliply.jobs.registry import periodic

log = structlog.get_logger(__name__)


@periodic("billing.sync_workspace_plans", every_s=900)
def sync_plans() -> int:
    """Keep `workspaces.plan` truthful after grace periods and paid periods run out.

    Gates never depend on this (they resolve the plan from the subscription at read time);
    it only refreshes the stored plan that listings show.
    """
    with owner_session() as db:
        changed = sync_workspace_plans(db)
    if changed:
        log.info("billing_plans_synced", changed=changed)
    return changed
