"""Studio pages: the clip gallery of a project (grid, sort/filter, bulk download/delete)."""

from __future__ import annotations

import re
import tempfile
import uuid
import zipfile
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.background import BackgroundTask

from cliply.clips import service as clips_service
from cliply.clips.models import Clip
from cliply.errors import BadRequest
from cliply.projects import service as projects_service
from cliply.storage import app_storage
from cliply.web.deps import PageRoute, StudioPage, redirect

router = APIRouter(route_class=PageRoute)

SORTS = {
    "rank": ("Best first", lambda c: (c.rank is None, c.rank or 0, -(c.score or 0))),
    "score": ("Highest score", lambda c: -(c.score or 0)),
    "duration": ("Shortest first", lambda c: c.end_s - c.start_s),
    "start": ("Order in the video", lambda c: c.start_s),
    "newest": ("Newest first", lambda c: -c.created_at.timestamp()),
}
FILTERS = {
    "all": "All clips",
    "ready": "Rendered",
    "pending": "Rendering or waiting",
    "failed": "Failed",
}
REASON_LABELS = {
    "hook": "Strong opening hook",
    "self_contained": "Makes sense on its own",
    "coherence": "Stays on one topic",
    "density": "Dense with ideas",
    "emotion": "Emotional intensity",
    "speech_energy": "Lively delivery",
    "pace": "Good speaking pace",
    "laughter_applause": "Audience reaction",
    "boilerplate": "Prompt or repeated wording",
    "boundary": "Crosses a speaker change or pause",
    "prompt": "Matches your prompt",
    "llm_rank": "AI editor's rank",
}


def _matches(c: Clip, status: str, min_score: float | None) -> bool:
    if min_score is not None and (c.score or 0) < min_score:
        return False
    if status == "ready":
        return c.render_key is not None
    if status == "failed":
        return c.status == "failed"
    if status == "pending":
        return c.render_key is None and c.status != "failed"
    return True


def reasons_of(c: Clip) -> list[dict[str, Any]]:
    rows = [r for r in (c.reasons or []) if isinstance(r, dict) and r.get("available", True)]
    rows.sort(key=lambda r: -float(r.get("points") or 0))
    return [
        {**r, "label": REASON_LABELS.get(str(r.get("name")), str(r.get("name", "")))} for r in rows
    ]


@router.get("/projects/{project_id}/clips", response_class=HTMLResponse)
def gallery(
    project_id: uuid.UUID,
    studio: StudioPage,
    sort: str = "rank",
    status: str = "all",
    min_score: Annotated[float | None, Query(ge=0, le=100)] = None,
) -> HTMLResponse:
    studio.require("clips.read")
    project = projects_service.get_project(studio.db, studio.workspace_id, project_id)
    all_clips = clips_service.list_clips(studio.db, studio.workspace_id, project_id)
    sort = sort if sort in SORTS else "rank"
    status = status if status in FILTERS else "all"
    shown = sorted((c for c in all_clips if _matches(c, status, min_score)), key=SORTS[sort][1])
    return studio.render(
        "projects/gallery.html",
        project=project,
        clips=shown,
        total=len(all_clips),
        sort=sort,
        status=status,
        min_score=min_score,
        sorts={k: v[0] for k, v in SORTS.items()},
        filters=FILTERS,
        reasons_of=reasons_of,
    )


@router.post("/projects/{project_id}/clips/delete")
def bulk_delete(
    project_id: uuid.UUID,
    studio: StudioPage,
    clip_ids: Annotated[list[uuid.UUID], Form()] = [],  # noqa: B006 (FastAPI form default)
) -> Response:
    studio.require("clips.write")
    if not clip_ids:
        raise BadRequest("Select at least one clip.", code="nothing-selected")
    projects_service.get_project(studio.db, studio.workspace_id, project_id)
    storage = app_storage()
    for cid in clip_ids:
        clips_service.delete_clip(studio.db, studio.workspace_id, cid, storage)
    return redirect(studio.request, f"/projects/{project_id}/clips?deleted={len(clip_ids)}")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:60] or "clip"


@router.get("/projects/{project_id}/clips.zip")
def bulk_download(project_id: uuid.UUID, studio: StudioPage, ids: str = "") -> Response:
    """The selected rendered clips as one zip (stored, not deflated: MP4 is compressed)."""
    studio.require("clips.read")
    project = projects_service.get_project(studio.db, studio.workspace_id, project_id)
    try:
        wanted = [uuid.UUID(i) for i in ids.split(",") if i]
    except ValueError:
        raise BadRequest("ids must be clip ids separated by commas.", code="bad-ids") from None
    if not wanted:
        raise BadRequest("Select at least one clip.", code="nothing-selected")
    storage = app_storage()
    tmp = tempfile.NamedTemporaryFile(suffix=".zip", delete=False)  # noqa: SIM115
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
        for n, cid in enumerate(wanted, 1):
            key = clips_service.media_key(studio.db, studio.workspace_id, cid, "render")
            clip = clips_service.get_clip(studio.db, studio.workspace_id, cid)
            zf.writestr(f"{n:02d}-{_slug(clip.title or 'clip')}.mp4", storage.read_bytes(key))
    tmp.close()
    import os

    return FileResponse(
        tmp.name,
        media_type="application/zip",
        filename=f"{_slug(project.name)}-clips.zip",
        background=BackgroundTask(os.unlink, tmp.name),
    )
