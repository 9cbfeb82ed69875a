"""Studio pages: jobs for owners and admins (failed and running, timeline, retry, cancel)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from cliply.jobs import service as jobs_service
from cliply.web.deps import PageRoute, StudioPage

router = APIRouter(route_class=PageRoute)
SHOWN = {"failed": "Failed", "running": "Running", "queued": "Waiting", "all": "All"}


@router.get("/jobs", response_class=HTMLResponse)
def jobs(studio: StudioPage, status: str = "failed") -> HTMLResponse:
    studio.require("members.manage")  # owners and admins
    status = status if status in SHOWN else "failed"
    rows, _ = jobs_service.list_jobs(
        studio.db,
        studio.workspace_id,
        project_id=None,
        kind=None,
        status=None if status == "all" else status,
        cursor=None,
        limit=100,
    )
    return studio.render("jobs/index.html", jobs=rows, status=status, shown=SHOWN)


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_detail(job_id: uuid.UUID, studio: StudioPage) -> HTMLResponse:
    studio.require("members.manage")
    job = jobs_service.get_job(studio.db, studio.workspace_id, job_id)
    events = jobs_service.timeline(studio.db, job.id)
    return studio.render("jobs/show.html", job=job, events=events)
