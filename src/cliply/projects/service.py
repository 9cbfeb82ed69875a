"""Projects: creation (with the plan's project quota), status and progress, the pipeline's
job chain, transcripts. Every query is scoped to one workspace."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from cliply.billing import gate
from cliply.db.pagination import paginate
from cliply.errors import BadRequest, Conflict, NotFound
from cliply.ingest.tus import discard_staging
from cliply.jobs import registry
from cliply.jobs import service as jobs_service
from cliply.jobs.models import Job
from cliply.jobs.queue import enqueue
from cliply.pipeline.options import ClipOptions
from cliply.projects.models import Project, Transcript, Upload
from cliply.storage import ObjectNotFound, Storage
from cliply.storage.keys import project_prefixes, transcript_key

# Overall progress (0..1) each status covers, so one bar moves forward through the pipeline.
STAGE_SPANS: dict[str, tuple[float, float]] = {
    "created": (0.0, 0.0),
    "uploading": (0.0, 0.10),
    "downloading": (0.0, 0.10),
    "probing": (0.10, 0.12),
    "transcribing": (0.12, 0.55),
    "detecting": (0.55, 0.60),
    "rendering": (0.60, 1.0),
    "ready": (1.0, 1.0),
    "failed": (0.0, 1.0),
}
TRANSCRIPT_MEDIA_TYPES = {
    "json": "application/json",
    "srt": "application/x-subrip",
    "vtt": "text/vtt",
}
PROJECTS_METRIC = "projects"
DIRECT_UPLOAD_STALE = timedelta(hours=6)  # no multipart request lives this long
SOURCE_MINUTES_METRIC = "source_minutes"


def project_event_key(project_id: uuid.UUID) -> str:
    return f"project:{project_id}:created"


def source_minutes_key(project_id: uuid.UUID) -> str:
    return f"project:{project_id}:source_minutes"


def create_project(
    db: Session,
    workspace_id: uuid.UUID,
    user_id: uuid.UUID | None,
    *,
    name: str,
    source_type: str,
    options: ClipOptions,
    source_url: str | None = None,
    filename: str | None = None,
    size_bytes: int | None = None,
    status: str = "created",
) -> Project:
    """A new project, counted against the plan's projects per month (402 when over)."""
    project_id = uuid.uuid4()
    gate.consume(db, workspace_id, PROJECTS_METRIC, 1, event_key=project_event_key(project_id))
    project = Project(
        id=project_id,
        workspace_id=workspace_id,
        created_by=user_id,
        name=name[:300] or "Untitled",
        source_type=source_type,
        source_url=source_url,
        original_filename=filename,
        size_bytes=size_bytes,
        status=status,
        progress=0.0,
        options=options.model_dump(exclude_none=True, exclude_unset=True),
    )
    db.add(project)
    db.flush()
    return project


def withdraw_project(db: Session, workspace_id: uuid.UUID, project_id: uuid.UUID) -> None:
    """Remove a project that never got its video (upload aborted) and give its quota back."""
    db.execute(
        delete(Project).where(Project.id == project_id, Project.workspace_id == workspace_id)
    )
    gate.release(db, workspace_id, PROJECTS_METRIC, event_key=project_event_key(project_id))


def find_project(
    db: Session, workspace_id: uuid.UUID, project_id: uuid.UUID, *, lock: bool = False
) -> Project | None:
    """The project, or None (deleted meanwhile: job handlers skip rather than fail)."""
    stmt = select(Project).where(Project.id == project_id, Project.workspace_id == workspace_id)
    return db.scalar(stmt.with_for_update() if lock else stmt)


def abort_expired_uploads(db: Session, now: datetime) -> int:
    """Abandon open resumable uploads past their expiry (periodic task): their staging files
    go, and so do their projects (quota given back)."""
    rows = list(db.scalars(select(Upload).where(Upload.status == "open", Upload.expires_at < now)))
    for u in rows:
        discard_staging(Path(u.staging_path))
        withdraw_project(db, u.workspace_id, u.project_id)
    return len(rows)


def fail_stalled_uploads(db: Session, now: datetime) -> int:
    """Direct (multipart) uploads whose request died with its process stay `uploading` with
    no resumable upload behind them: fail them and give their quota back."""
    open_upload = select(Upload.id).where(Upload.project_id == Project.id, Upload.status == "open")
    rows = list(
        db.scalars(
            select(Project).where(
                Project.status == "uploading",
                Project.created_at < now - DIRECT_UPLOAD_STALE,
                ~open_upload.exists(),
            )
        )
    )
    for p in rows:
        fail_project(db, p.id, "upload-interrupted", "The upload did not finish; send it again.")
    return len(rows)


def refund_project(db: Session, workspace_id: uuid.UUID, project_id: uuid.UUID) -> bool:
    """Give back the month's project slot of a project that never got a usable video."""
    return gate.release(db, workspace_id, PROJECTS_METRIC, event_key=project_event_key(project_id))


def get_project(
    db: Session, workspace_id: uuid.UUID, project_id: uuid.UUID, *, lock: bool = False
) -> Project:
    project = find_project(db, workspace_id, project_id, lock=lock)
    if project is None:
        raise NotFound("No such project.", code="project-not-found")
    return project


def list_projects(
    db: Session, workspace_id: uuid.UUID, *, cursor: str | None = None, limit: int = 20
) -> tuple[list[Project], str | None]:
    stmt = select(Project).where(Project.workspace_id == workspace_id)
    return paginate(db, stmt, (Project.created_at, Project.id), cursor, limit)


def delete_project(
    db: Session, workspace_id: uuid.UUID, project_id: uuid.UUID, storage: Storage
) -> None:
    project = get_project(db, workspace_id, project_id)
    # Stop the pipeline: its jobs would only find the project gone.
    jobs_service.cancel_project_jobs(db, project.id, by="project deleted")
    db.delete(project)
    db.flush()
    for prefix in project_prefixes(workspace_id, project_id):
        storage.delete_prefix(prefix)


def overall_progress(status: str, fraction: float) -> float:
    lo, hi = STAGE_SPANS.get(status, (0.0, 1.0))
    return round(lo + (hi - lo) * min(1.0, max(0.0, fraction)), 4)


def set_stage(db: Session, project_id: uuid.UUID, status: str, fraction: float = 0.0) -> None:
    """Move a project to `status` (unless it failed or was deleted meanwhile)."""
    db.execute(
        update(Project)
        .where(Project.id == project_id, Project.status != "failed")
        .values(
            status=status,
            progress=overall_progress(status, fraction),
            error_code=None,
            error_message=None,
        )
    )


def set_progress(db: Session, project_id: uuid.UUID, status: str, fraction: float) -> None:
    db.execute(
        update(Project)
        .where(Project.id == project_id, Project.status == status)
        .values(progress=overall_progress(status, fraction))
    )


def fail_project(db: Session, project_id: uuid.UUID, code: str, message: str) -> None:
    """Mark the project failed. One whose video never passed probing (a refused URL, a file
    that is not a video, an upload that broke off) gives its month's project slot back."""
    row = db.execute(
        update(Project)
        .where(Project.id == project_id)
        .values(status="failed", error_code=code[:50], error_message=message[:2000])
        .returning(Project.workspace_id, Project.duration_s)
    ).first()
    if row is not None and row.duration_s is None:
        refund_project(db, row.workspace_id, project_id)


def start_stage(db: Session, project: Project, kind: str, **payload: Any) -> Job:
    """Queue the pipeline job `kind` for this project; a duplicate of an active one is not
    queued twice (dedupe key per project and stage)."""
    return enqueue(
        db,
        kind,
        {"project_id": str(project.id), **payload},
        workspace_id=project.workspace_id,
        project_id=project.id,
        dedupe_key=f"{kind.lower()}:{project.id}",
    )


def start_ingest(db: Session, project: Project) -> Job:
    set_stage(db, project.id, "probing")
    return start_stage(db, project, registry.INGEST)


def start_download(db: Session, project: Project) -> Job:
    set_stage(db, project.id, "downloading")
    return start_stage(db, project, registry.YOUTUBE_DOWNLOAD)


def retry_project(
    db: Session, workspace_id: uuid.UUID, project_id: uuid.UUID, storage: Storage
) -> Project:
    """Run a failed project again from the stage that failed, when its source is still there
    (a URL project downloads again). It counts against the month's projects again if its
    slot was given back when it failed (402 when the plan has no room left)."""
    project = get_project(db, workspace_id, project_id, lock=True)
    if project.status != "failed":
        raise Conflict("Only a failed project can be retried.", code="project-not-failed")
    if project.source_key is None or not storage.exists(project.source_key):
        if project.source_type != "url" or not project.source_url:
            raise Conflict(
                "The uploaded video is no longer here; upload it again.", code="source-missing"
            )
        status, kind = "downloading", registry.YOUTUBE_DOWNLOAD
    elif project.duration_s is None:
        status, kind = "probing", registry.INGEST
    elif transcript_row(db, workspace_id, project_id) is None:
        status, kind = "transcribing", registry.TRANSCRIBE
    else:
        status, kind = "detecting", registry.HIGHLIGHT_DETECT
    gate.consume(db, workspace_id, PROJECTS_METRIC, 1, event_key=project_event_key(project.id))
    project.status, project.error_code, project.error_message = status, None, None
    project.progress = overall_progress(status, 0.0)
    db.flush()
    start_stage(db, project, kind)
    db.refresh(project)
    return project


def rerun_highlights(
    db: Session, workspace_id: uuid.UUID, project_id: uuid.UUID, options: ClipOptions
) -> Project:
    """New clip options → detect highlights again (auto clips are replaced)."""
    project = get_project(db, workspace_id, project_id, lock=True)
    if transcript_row(db, workspace_id, project_id) is None:
        raise Conflict("The project has no transcript yet.", code="transcript-not-ready")
    project.options = options.model_dump(exclude_none=True, exclude_unset=True)
    db.flush()
    set_stage(db, project.id, "detecting")
    start_stage(db, project, registry.HIGHLIGHT_DETECT)
    db.refresh(project)
    return project


def transcript_row(
    db: Session, workspace_id: uuid.UUID, project_id: uuid.UUID
) -> Transcript | None:
    return db.scalar(
        select(Transcript).where(
            Transcript.project_id == project_id, Transcript.workspace_id == workspace_id
        )
    )


def transcript_document(
    db: Session, workspace_id: uuid.UUID, project_id: uuid.UUID, fmt: str, storage: Storage
) -> bytes:
    if fmt not in TRANSCRIPT_MEDIA_TYPES:
        raise BadRequest("format must be json, srt or vtt.", code="invalid-transcript-format")
    get_project(db, workspace_id, project_id)
    row = transcript_row(db, workspace_id, project_id)
    if row is None:
        raise NotFound("The project has no transcript yet.", code="transcript-not-ready")
    try:
        return storage.read_bytes(transcript_key(workspace_id, project_id, fmt))
    except ObjectNotFound:
        raise NotFound("The transcript file is missing.", code="transcript-not-ready") from None
