"""Jobs as the API sees them: list, read with timeline, cancel, retry, scoped to a workspace."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cliply.audit.service import record
from cliply.db.pagination import paginate
from cliply.errors import NotFound
from cliply.jobs import queue
from cliply.jobs.models import Job, JobEvent


def list_jobs(
    db: Session,
    workspace_id: uuid.UUID,
    *,
    project_id: uuid.UUID | None = None,
    kind: str | None = None,
    status: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[Job], str | None]:
    stmt = select(Job).where(Job.workspace_id == workspace_id)
    if project_id is not None:
        stmt = stmt.where(Job.project_id == project_id)
    if kind is not None:
        stmt = stmt.where(Job.kind == kind)
    if status is not None:
        stmt = stmt.where(Job.status == status)
    return paginate(db, stmt, Job.created_at, Job.id, cursor, limit)


def count_running(db: Session, workspace_id: uuid.UUID) -> int:
    """Jobs of the workspace running now (its plan caps them: `concurrent_jobs`)."""
    stmt = select(func.count()).select_from(Job)
    return int(
        db.scalar(stmt.where(Job.workspace_id == workspace_id, Job.status == "running")) or 0
    )


def is_last_attempt(db: Session, job_id: uuid.UUID, attempt: int) -> bool:
    """Whether a retryable failure in `attempt` would end the job (or the job is gone)."""
    max_attempts = db.scalar(select(Job.max_attempts).where(Job.id == job_id))
    return max_attempts is None or attempt >= max_attempts


def get_job(db: Session, workspace_id: uuid.UUID, job_id: uuid.UUID) -> Job:
    job = db.scalars(select(Job).where(Job.id == job_id, Job.workspace_id == workspace_id)).first()
    if job is None:
        raise NotFound("No such job.", code="job-not-found")
    return job


def timeline(db: Session, job_id: uuid.UUID) -> list[JobEvent]:
    return list(
        db.scalars(
            select(JobEvent).where(JobEvent.job_id == job_id).order_by(JobEvent.at, JobEvent.id)
        )
    )


def cancel_job(
    db: Session, workspace_id: uuid.UUID, job_id: uuid.UUID, user_id: uuid.UUID | None
) -> Job:
    get_job(db, workspace_id, job_id)
    queue.cancel(db, job_id, by=f"user:{user_id}" if user_id else None)
    record(
        db,
        "job.cancel",
        workspace_id=workspace_id,
        user_id=user_id,
        target_type="job",
        target_id=job_id,
    )
    return _reload(db, workspace_id, job_id)


def cancel_project_jobs(db: Session, project_id: uuid.UUID, *, by: str | None = None) -> int:
    """Stop a project's pipeline (it is being deleted): its queued and running jobs are
    cancelled, each transition in its timeline."""
    return queue.cancel_for_project(db, project_id, by=by)


def retry_job(
    db: Session, workspace_id: uuid.UUID, job_id: uuid.UUID, user_id: uuid.UUID | None
) -> Job:
    get_job(db, workspace_id, job_id)
    queue.retry(db, job_id, by=f"user:{user_id}" if user_id else None)
    record(
        db,
        "job.retry",
        workspace_id=workspace_id,
        user_id=user_id,
        target_type="job",
        target_id=job_id,
    )
    return _reload(db, workspace_id, job_id)


def _reload(db: Session, workspace_id: uuid.UUID, job_id: uuid.UUID) -> Job:
    job = get_job(db, workspace_id, job_id)
    db.refresh(job)  # the queue changed the row with SQL behind the ORM's back
    return job


def latest_by_dedupe_keys(db: Session, workspace_id: uuid.UUID, keys: list[str]) -> dict[str, Job]:
    """The newest job of each dedupe key (e.g. a clip version's render), in one query."""
    if not keys:
        return {}
    rows = db.scalars(
        select(Job)
        .where(Job.workspace_id == workspace_id, Job.dedupe_key.in_(keys))
        .order_by(Job.dedupe_key, Job.created_at.desc())
        .distinct(Job.dedupe_key)
    )
    return {job.dedupe_key: job for job in rows if job.dedupe_key is not None}
