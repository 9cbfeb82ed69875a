"""/api/v1/experiments: viral experiments (plan feature `experiments`, limits
`experiment_variants` and `running_experiments`)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, status

from cliply.api.deps import DB
from cliply.api.paging import Cursor, Limit
from cliply.billing.deps import require_feature
from cliply.db.pagination import Page
from cliply.experiments import service
from cliply.experiments.schemas import (
    ExperimentIn,
    ExperimentOut,
    PromoteIn,
    PromoteOut,
    ScheduleIn,
    StopIn,
    VariantScheduleOut,
)
from cliply.storage import app_storage
from cliply.workspaces.deps import Tenant

router = APIRouter(tags=["experiments"])
Gated = Annotated[Tenant, Depends(require_feature("experiments"))]


@router.post("/experiments", status_code=status.HTTP_201_CREATED, response_model=ExperimentOut)
def create(body: ExperimentIn, tenant: Gated, db: DB) -> ExperimentOut:
    """Variants of a clip (2-5), each rendered as its own clip; with `schedule`, posted
    across the accounts and evaluated as metrics arrive until a winner, the deadline or stop."""
    tenant.require("experiments.write")
    exp = service.create(db, tenant.workspace_id, tenant.user_id, body, app_storage())
    return service.to_out(db, exp)


@router.get("/experiments", response_model=Page[ExperimentOut])
def list_experiments(
    tenant: Gated,
    db: DB,
    cursor: Cursor = None,
    limit: Limit = 50,
    status_: Annotated[Literal["draft", "running", "ended"] | None, Query(alias="status")] = None,
    clip_id: uuid.UUID | None = None,
) -> Page[ExperimentOut]:
    """Newest first; each with the numbers of its last evaluation."""
    rows, nxt = service.list_(
        db, tenant.workspace_id, status=status_, clip_id=clip_id, cursor=cursor, limit=limit
    )
    return Page[ExperimentOut](
        items=[service.to_out(db, e, live=False) for e in rows], next_cursor=nxt
    )


@router.get("/experiments/{experiment_id}", response_model=ExperimentOut)
def get(experiment_id: uuid.UUID, tenant: Gated, db: DB) -> ExperimentOut:
    """With live stats: P(best), P(win), posterior mean and 90 % interval per variant."""
    return service.to_out(db, service.get(db, tenant.workspace_id, experiment_id))


@router.post("/experiments/{experiment_id}/schedule", response_model=ExperimentOut)
def schedule(experiment_id: uuid.UUID, body: ScheduleIn, tenant: Gated, db: DB) -> ExperimentOut:
    """Schedule a draft's variants across accounts (spread by the window); it starts running."""
    tenant.require("experiments.write")
    exp = service.get(db, tenant.workspace_id, experiment_id, lock=True)
    service.schedule(db, tenant.workspace_id, tenant.user_id, exp, body)
    return service.to_out(db, exp)


@router.post("/experiments/{experiment_id}/stop", response_model=ExperimentOut)
def stop(experiment_id: uuid.UUID, body: StopIn, tenant: Gated, db: DB) -> ExperimentOut:
    """Stop by hand (reason `manual`), with the winner given or the rule's confident one."""
    tenant.require("experiments.write")
    exp = service.stop(db, tenant.workspace_id, tenant.user_id, experiment_id, body)
    return service.to_out(db, exp)


@router.post("/experiments/{experiment_id}/promote", response_model=PromoteOut)
def promote(experiment_id: uuid.UUID, body: PromoteIn, tenant: Gated, db: DB) -> PromoteOut:
    """Schedule the winner on the accounts that have not posted it."""
    tenant.require("experiments.write")
    done = service.promote(db, tenant.workspace_id, tenant.user_id, experiment_id, body)
    exp = service.get(db, tenant.workspace_id, experiment_id)
    return PromoteOut(
        experiment=service.to_out(db, exp),
        scheduled=[
            VariantScheduleOut(
                schedule_id=p.schedule_id,
                account_id=p.account_id,
                scheduled_at=p.scheduled_at,
                status=p.status,
            )
            for p in done
        ],
    )
