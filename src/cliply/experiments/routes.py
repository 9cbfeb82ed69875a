"""/api/v1/experiments: viral experiments (plan feature `experiments`)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Response, status

from cliply.api.deps import DB
from cliply.api.paging import Cursor, Limit
from cliply.billing.deps import require_feature
from cliply.db.pagination import Page
from cliply.experiments import service
from cliply.experiments.schemas import ExperimentIn, ExperimentOut, VariantPostIn
from cliply.schemas import Strict
from cliply.workspaces.deps import Tenant

router = APIRouter(tags=["experiments"])
Gated = Annotated[Tenant, Depends(require_feature("experiments"))]


class StatusIn(Strict):
    status: Literal["running", "ended"]


@router.post("/experiments", status_code=status.HTTP_201_CREATED, response_model=ExperimentOut)
def create(body: ExperimentIn, tenant: Gated, db: DB) -> ExperimentOut:
    tenant.require("experiments.write")
    return service.to_out(db, service.create(db, tenant.workspace_id, tenant.user_id, body))


@router.get("/experiments", response_model=Page[ExperimentOut])
def list_experiments(
    tenant: Gated, db: DB, cursor: Cursor = None, limit: Limit = 50
) -> Page[ExperimentOut]:
    rows, nxt = service.list_(db, tenant.workspace_id, cursor=cursor, limit=limit)
    return Page[ExperimentOut](items=[service.to_out(db, e) for e in rows], next_cursor=nxt)


@router.get("/experiments/{experiment_id}", response_model=ExperimentOut)
def get(experiment_id: uuid.UUID, tenant: Gated, db: DB) -> ExperimentOut:
    return service.to_out(db, service.get(db, tenant.workspace_id, experiment_id))


@router.post("/experiments/{experiment_id}/status", response_model=ExperimentOut)
def set_status(experiment_id: uuid.UUID, body: StatusIn, tenant: Gated, db: DB) -> ExperimentOut:
    tenant.require("experiments.write")
    return service.to_out(
        db, service.set_status(db, tenant.workspace_id, experiment_id, body.status)
    )


@router.post(
    "/experiments/{experiment_id}/variants/{variant_id}/posts",
    status_code=status.HTTP_204_NO_CONTENT,
)
def attach_post(
    experiment_id: uuid.UUID, variant_id: uuid.UUID, body: VariantPostIn, tenant: Gated, db: DB
) -> Response:
    tenant.require("experiments.write")
    service.attach_post(db, tenant.workspace_id, experiment_id, variant_id, body.post_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
