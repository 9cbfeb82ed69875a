"""Run queued jobs in this process through the real queue API (claim → handler → succeed/fail),
the way a worker does, one at a time, until none is due."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from cliply.app import install_hooks
from cliply.db.engine import owner_session
from cliply.errors import CliplyError
from cliply.jobs import queue
from cliply.jobs.registry import HANDLERS, JobContext

WORKER = "test-worker"


@dataclass
class Ran:
    kind: str
    job_id: uuid.UUID
    status: str
    error: str | None = None
    events: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)


def _sink(job_id: uuid.UUID, fraction: float, message: str | None) -> bool:
    with owner_session() as db:
        # No attempt check here: the runner holds the job; report cancel requests only.
        from cliply.jobs.models import Job

        job = db.get(Job, job_id)
        if job is not None:
            job.progress, job.progress_message = fraction, message
        return bool(job and job.cancel_requested)


def run_jobs(kinds: list[str] | None = None, limit: int = 60) -> list[Ran]:
    install_hooks()
    ran: list[Ran] = []
    for _ in range(limit):
        with owner_session() as db:
            claimed = queue.claim(db, WORKER, kinds or list(HANDLERS), 1).jobs
        if not claimed:
            break
        job = claimed[0]
        ctx = JobContext(
            job.id,
            job.kind,
            job.payload,
            job.workspace_id,
            job.project_id,
            job.attempt,
            WORKER,
            sink=_sink,
        )
        try:
            result = HANDLERS[job.kind].fn(ctx)
        except Exception as exc:
            permanent = isinstance(exc, CliplyError) and not exc.retryable  # as the worker
            with owner_session() as db:
                status = queue.fail(
                    db,
                    job.id,
                    WORKER,
                    job.attempt,
                    str(exc),
                    code=getattr(exc, "code", "error"),
                    permanent=permanent,
                    events=_events(ctx),
                )
            ran.append(Ran(job.kind, job.id, status or "lost", str(exc), list(ctx.events)))
            continue
        with owner_session() as db:
            queue.succeed(db, job.id, WORKER, job.attempt, result, _events(ctx))
        ran.append(Ran(job.kind, job.id, "succeeded", None, list(ctx.events)))
    return ran


def _events(ctx: JobContext) -> list[queue.HandlerEvent]:
    return [
        queue.HandlerEvent(at=t, event=e, message=m, data=d)
        for (e, m, d), t in zip(ctx.events, ctx.event_times, strict=True)
    ]
