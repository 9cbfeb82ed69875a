"""What every pipeline job handler shares: finding its project, reporting progress to both the
job and the project, and turning failures into a failed project with a reason."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select

from cliply.billing.plans import Plan
from cliply.billing.service import resolve_workspace_plan
from cliply.db.engine import owner_session
from cliply.errors import CliplyError, PermanentError
from cliply.jobs import service as jobs
from cliply.jobs.registry import JobCancelled, JobContext, JobInterrupted
from cliply.projects import service
from cliply.projects.models import Project
from cliply.storage import Storage
from cliply.storage.keys import transcript_key
from cliply.transcribe.formats import from_json
from cliply.transcribe.models import Transcript

PROGRESS_EVERY_S = 1.0


def payload_uuid(ctx: JobContext, name: str) -> uuid.UUID:
    raw = ctx.payload.get(name) if isinstance(ctx.payload, dict) else None
    if raw is None and name == "project_id" and ctx.project_id is not None:
        return ctx.project_id
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        raise PermanentError(f"payload needs a valid {name}", code="invalid-payload") from None


def workspace_of(ctx: JobContext) -> uuid.UUID:
    if ctx.workspace_id is None:
        raise PermanentError("pipeline jobs belong to a workspace", code="invalid-payload")
    return ctx.workspace_id


def load_project(workspace_id: uuid.UUID, project_id: uuid.UUID) -> Project | None:
    """The project (detached), or None when it was deleted meanwhile."""
    with owner_session() as db:
        return db.scalar(
            select(Project).where(Project.id == project_id, Project.workspace_id == workspace_id)
        )


def plan_of(workspace_id: uuid.UUID) -> Plan:
    with owner_session() as db:
        return resolve_workspace_plan(db, workspace_id)


def enter_stage(project_id: uuid.UUID, status: str) -> None:
    with owner_session() as db:
        service.set_stage(db, project_id, status)


def load_transcript(storage: Storage, workspace_id: uuid.UUID, project_id: uuid.UUID) -> Transcript:
    return from_json(storage.read_bytes(transcript_key(workspace_id, project_id, "json")))


class StageProgress:
    """Progress of one stage: to the job (ctx.progress, which raises JobCancelled once the
    job is cancelled) and to the project's overall progress, at most once a second."""

    def __init__(self, ctx: JobContext, project_id: uuid.UUID, status: str) -> None:
        self.ctx, self.project_id, self.status = ctx, project_id, status
        self._last = 0.0

    def __call__(self, fraction: float, message: str | None = None) -> None:
        now = time.monotonic()
        if fraction < 1.0 and now - self._last < PROGRESS_EVERY_S:
            return
        self._last = now
        self.ctx.progress(fraction, message)
        with owner_session() as db:
            service.set_progress(db, self.project_id, self.status, fraction)


def last_attempt(ctx: JobContext) -> bool:
    """Whether a retryable failure now would still end the job (no attempts left)."""
    with owner_session() as db:
        return jobs.is_last_attempt(db, ctx.job_id, ctx.attempt)


def fail(project_id: uuid.UUID, code: str, message: str) -> None:
    with owner_session() as db:
        service.fail_project(db, project_id, code, message)


@contextmanager
def project_stage(ctx: JobContext, project_id: uuid.UUID) -> Iterator[None]:
    """Run a stage; a failure that will not be retried (a `CliplyError` that is not
    retryable, or any error on the last attempt) marks the project failed with the error's
    code and message (GET /projects/{id} then says why). The error itself goes on unchanged
    to the worker, which maps it to the job's outcome."""
    try:
        yield
    except JobInterrupted:
        raise  # the worker stopped this attempt (shutdown, reclaimed): the job runs again
    except JobCancelled:
        fail(project_id, "cancelled", "Processing was cancelled.")
        raise
    except CliplyError as exc:
        # A retryable error (a tool stopped by a signal, a network blip) fails the project
        # only on the last attempt, and never while the worker itself stops the job.
        if not exc.retryable or (not ctx.interrupted and last_attempt(ctx)):
            fail(project_id, exc.code, exc.message)
        raise
    except Exception as exc:
        if not ctx.interrupted and last_attempt(ctx):
            fail(project_id, "processing-failed", str(exc) or repr(exc))
        raise
