"""/api/v1/jobs: list, read with timeline, cancel, retry (thin over jobs.service)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from cliply.api.deps import DB
from cliply.db.pagination import Page
from cliply.jobs import service
from cliply.jobs.schemas import JobDetail, JobEventOut, JobOut, JobStatus
from cliply.workspaces.deps import HeaderTenant

router = APIRouter(tags=["jobs"])


@router.get("/jobs", response_model=Page[JobOut])
def list_jobs(
    tenant: HeaderTenant,
    db: DB,
    project_id: uuid.UUID | None = None,
    kind: Annotated[str | None, Query(max_length=50)] = None,
    status: JobStatus | None = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> Page[JobOut]:
    tenant.require("jobs.read")
    rows, nxt = service.list_jobs(
        db,
        tenant.workspace_id,
        project_id=project_id,
        kind=kind,
        status=status,
        cursor=cursor,
        limit=limit,
    )
    return Page[JobOut](items=[JobOut.model_validate(j) for j in rows], next_cursor=nxt)


def _detail(db: DB, workspace_id: uuid.UUID, job_id: uuid.UUID) -> JobDetail:
    job = service.get_job(db, workspace_id, job_id)
    events = [JobEventOut.model_validate(e) for e in service.timeline(db, job.id)]
    return JobDetail.model_validate(
        {**JobOut.model_validate(job).model_dump(), "payload": job.payload, "events": events}
    )


@router.get("/jobs/{job_id}", response_model=JobDetail)
def get_job(job_id: uuid.UUID, tenant: HeaderTenant, db: DB) -> JobDetail:
    tenant.require("jobs.read")
    return _detail(db, tenant.workspace_id, job_id)


@router.post("/jobs/{job_id}/cancel", response_model=JobDetail)
def cancel_job(job_id: uuid.UUID, tenant: HeaderTenant, db: DB) -> JobDetail:
    """Cancel: a queued job at once; a running one stops at its next heartbeat or progress."""
    tenant.require("jobs.manage")
    service.cancel_job(db, tenant.workspace_id, job_id, tenant.user_id)
    return _detail(db, tenant.workspace_id, job_id)


@router.post("/jobs/{job_id}/retry", response_model=JobDetail)
def retry_job(job_id: uuid.UUID, tenant: HeaderTenant, db: DB) -> JobDetail:
    """Queue a failed (or cancelled) job again with fresh attempts."""
    tenant.require("jobs.manage")
    service.retry_job(db, tenant.workspace_id, job_id, tenant.user_id)
    return _detail(db, tenant.workspace_id, job_id)
