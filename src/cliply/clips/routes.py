"""/api/v1 clips: ranked list per project, manual clips, edits (→ re-render), delete, download
and thumbnail links, and /files/… which serves local-storage objects by signed URL."""

from __future__ import annotations

import mimetypes
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import FileResponse, PlainTextResponse, RedirectResponse

from cliply.api.deps import DB
from cliply.api.paging import Cursor, Limit
from cliply.billing.service import resolve_workspace_plan
from cliply.clips import service
from cliply.clips.models import Clip
from cliply.clips.schemas import (
    ClipIn,
    ClipOut,
    ClipPatch,
    ClipWordsOut,
    MediaLink,
    PreviewIn,
    PreviewItem,
    PreviewOut,
    RenderJobOut,
    WaveformOut,
    WordOut,
)
from cliply.config import get_settings
from cliply.db.pagination import Page
from cliply.errors import Forbidden, NotFound
from cliply.jobs.models import Job
from cliply.media.export import MEDIA_TYPES as EXPORT_MEDIA_TYPES
from cliply.pipeline.options import caption_fx_of
from cliply.storage import LocalStorage, app_storage
from cliply.storage.base import StorageError
from cliply.workspaces.deps import HeaderTenant

router = APIRouter(tags=["clips"])


def _job_out(job: Job | None) -> RenderJobOut | None:
    if job is None:
        return None
    return RenderJobOut(
        id=job.id,
        status=job.status,
        progress=job.progress,
        message=job.progress_message,
        error=job.error,
    )


def clips_out(db: DB, workspace_id: uuid.UUID, clips: list[Clip]) -> list[ClipOut]:
    jobs = service.render_jobs(db, workspace_id, clips)
    return [clip_out(c, jobs.get(c.id)) for c in clips]


def clip_out(c: Clip, job: Job | None = None) -> ClipOut:
    ready = c.render_key is not None
    return ClipOut(
        id=c.id,
        project_id=c.project_id,
        origin=c.origin,
        rank=c.rank,
        start=c.start_s,
        end=c.end_s,
        duration=round(c.end_s - c.start_s, 3),
        title=c.title,
        description=c.description,
        hashtags=list(c.hashtags or []),
        text=c.text,
        score=c.score,
        reasons=list(c.reasons or []),
        caption_style=c.caption_style,
        aspect=c.aspect,
        title_overlay=c.title_overlay,
        caption_edits=dict(c.caption_edits or {}),
        caption_fx=caption_fx_of(c.caption_fx).model_dump(),
        seconds_removed=c.seconds_removed,
        status=c.status,
        error=c.error,
        render_version=c.render_version,
        render_job=_job_out(job),
        width=c.width,
        height=c.height,
        layout=c.layout,
        layouts=c.layouts,
        download_url=f"/api/v1/clips/{c.id}/download" if ready else None,
        thumbnail_url=f"/api/v1/clips/{c.id}/thumbnail" if c.thumb_key else None,
        created_at=c.created_at,
        updated_at=c.updated_at,
    )


@router.get(
    "/projects/{project_id}/clips",
    response_model=Page[ClipOut],
    summary="The project's clips, best first",
)
def list_clips(
    project_id: uuid.UUID, tenant: HeaderTenant, db: DB, cursor: Cursor = None, limit: Limit = 50
) -> Page[ClipOut]:
    tenant.require("clips.read")
    rows, nxt = service.page_clips(db, tenant.workspace_id, project_id, cursor=cursor, limit=limit)
    return Page[ClipOut](items=clips_out(db, tenant.workspace_id, rows), next_cursor=nxt)


@router.post(
    "/projects/{project_id}/clips",
    response_model=ClipOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add a clip by hand from a time range (snapped to words); it is rendered",
)
def add_clip(project_id: uuid.UUID, body: ClipIn, tenant: HeaderTenant, db: DB) -> ClipOut:
    tenant.require("clips.write")
    clip = service.add_clip(db, tenant.workspace_id, project_id, body, app_storage())
    db.refresh(clip)
    return clips_out(db, tenant.workspace_id, [clip])[0]


@router.get("/clips/{clip_id}", response_model=ClipOut)
def get_clip(clip_id: uuid.UUID, tenant: HeaderTenant, db: DB) -> ClipOut:
    tenant.require("clips.read")
    return clips_out(db, tenant.workspace_id, [service.get_clip(db, tenant.workspace_id, clip_id)])[
        0
    ]


@router.patch(
    "/clips/{clip_id}",
    response_model=ClipOut,
    summary="Edit a clip: trims snap to word boundaries; visible changes re-render it",
)
def update_clip(clip_id: uuid.UUID, body: ClipPatch, tenant: HeaderTenant, db: DB) -> ClipOut:
    tenant.require("clips.write")
    clip = service.update_clip(db, tenant.workspace_id, clip_id, body, app_storage())
    db.refresh(clip)
    return clips_out(db, tenant.workspace_id, [clip])[0]


@router.get(
    "/clips/{clip_id}/words",
    response_model=ClipWordsOut,
    summary="The source's words with their indices, caption fixes and whether each is in the clip",
)
def clip_words(clip_id: uuid.UUID, tenant: HeaderTenant, db: DB) -> ClipWordsOut:
    tenant.require("clips.read")
    words, clip, duration = service.words_of(db, tenant.workspace_id, clip_id, app_storage())
    edits = dict(clip.caption_edits or {})
    return ClipWordsOut(
        duration=duration,
        words=[
            WordOut(
                index=i,
                text=edits.get(str(i), w.text.strip()),
                original=w.text.strip(),
                start=w.start,
                end=w.end,
                in_clip=w.start >= clip.start_s - 1e-3 and w.end <= clip.end_s + 1e-3,
            )
            for i, w in enumerate(words)
        ],
    )


@router.post(
    "/clips/{clip_id}/preview",
    response_model=PreviewOut,
    summary="Stills of a draft look (one per caption style) on a real frame, as it will render",
)
def preview_clip(clip_id: uuid.UUID, body: PreviewIn, tenant: HeaderTenant, db: DB) -> PreviewOut:
    tenant.require("clips.read")
    plan = resolve_workspace_plan(db, tenant.workspace_id)
    storage = app_storage()
    result = service.preview(db, tenant.workspace_id, clip_id, body, storage, plan)
    ttl = get_settings().download_url_ttl_s
    return PreviewOut(
        start=result.look.start,
        end=result.look.end,
        frame_at=result.frame_at,
        look=result.digest,
        items=[
            PreviewItem(
                caption_style=st.caption_style, url=storage.url(st.key, ttl), look=st.digest
            )
            for st in result.stills
        ],
    )


@router.delete("/clips/{clip_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_clip(clip_id: uuid.UUID, tenant: HeaderTenant, db: DB) -> Response:
    tenant.require("clips.write")
    service.delete_clip(db, tenant.workspace_id, clip_id, app_storage())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _link(
    db: DB, tenant: HeaderTenant, clip_id: uuid.UUID, what: str, redirect: bool
) -> Response | MediaLink:
    tenant.require("clips.read")
    key = service.media_key(db, tenant.workspace_id, clip_id, what)
    ttl = get_settings().download_url_ttl_s
    url = app_storage().url(key, ttl)
    if redirect:
        return RedirectResponse(url, status_code=status.HTTP_307_TEMPORARY_REDIRECT)
    return MediaLink(url=url, expires_in=ttl)


@router.get(
    "/clips/{clip_id}/download",
    response_model=MediaLink,
    responses={307: {"description": "Redirect to a signed URL of the MP4"}},
    summary="Signed link to the rendered MP4 (redirect, or JSON with redirect=false)",
)
def download_clip(
    clip_id: uuid.UUID, tenant: HeaderTenant, db: DB, redirect: bool = True
) -> Response | MediaLink:
    return _link(db, tenant, clip_id, "render", redirect)


@router.get(
    "/clips/{clip_id}/thumbnail",
    response_model=MediaLink,
    responses={307: {"description": "Redirect to a signed URL of the JPEG"}},
)
def clip_thumbnail(
    clip_id: uuid.UUID, tenant: HeaderTenant, db: DB, redirect: bool = True
) -> Response | MediaLink:
    return _link(db, tenant, clip_id, "thumb", redirect)


@router.get(
    "/clips/{clip_id}/waveform",
    response_model=WaveformOut,
    summary="Audio peaks of the source around the clip (50 per second), for trimming",
)
def clip_waveform(
    clip_id: uuid.UUID,
    tenant: HeaderTenant,
    db: DB,
    start: Annotated[float, Query(ge=0)],
    end: Annotated[float, Query(gt=0)],
) -> WaveformOut:
    tenant.require("clips.read")
    s, e, peaks = service.waveform(db, tenant.workspace_id, clip_id, app_storage(), start, end)
    return WaveformOut(start=s, end=e, per_second=50, peaks=peaks)


@router.get(
    "/clips/{clip_id}/source",
    response_model=MediaLink,
    responses={307: {"description": "Redirect to a signed URL of the source video"}},
    summary="Signed link to the clip's source video (the editor plays it to trim)",
)
def clip_source(
    clip_id: uuid.UUID, tenant: HeaderTenant, db: DB, redirect: bool = True
) -> Response | MediaLink:
    tenant.require("clips.read")
    key = service.source_key(db, tenant.workspace_id, clip_id)
    ttl = get_settings().download_url_ttl_s
    url = app_storage().url(key, ttl)
    if redirect:
        return RedirectResponse(url, status_code=status.HTTP_307_TEMPORARY_REDIRECT)
    return MediaLink(url=url, expires_in=ttl)


@router.get(
    "/clips/{clip_id}/captions.ass",
    response_class=PlainTextResponse,
    summary="The subtitles (ASS) burned into the current render, caption fixes included",
)
def clip_captions(clip_id: uuid.UUID, tenant: HeaderTenant, db: DB) -> PlainTextResponse:
    tenant.require("clips.read")
    text = service.captions_text(db, tenant.workspace_id, clip_id, app_storage())
    return PlainTextResponse(text, media_type="text/x-ssa; charset=utf-8")


@router.get(
    "/clips/{clip_id}/export/{fmt}",
    summary="The clip for editors: OpenTimelineIO (otio) or FCPXML timeline of the source with "
    "in/out points and crop keyframes, or its captions as SRT",
    responses={200: {"content": {t: {} for t in EXPORT_MEDIA_TYPES.values()}}},
)
def clip_export(clip_id: uuid.UUID, fmt: str, tenant: HeaderTenant, db: DB) -> Response:
    tenant.require("clips.read")
    data, filename = service.export_file(db, tenant.workspace_id, clip_id, fmt, app_storage())
    return Response(
        data,
        media_type=EXPORT_MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/files/{key:path}", include_in_schema=False)
def serve_file(key: str, expires: str = "", sig: str = "") -> Response:
    """Objects of local storage, for the signed URLs it hands out (the signature is the
    authorisation: key and expiry, HMAC'd with the server secret)."""
    storage = app_storage()
    if not isinstance(storage, LocalStorage):
        raise NotFound("No such file.")
    if not storage.verify_token(key, expires, sig):
        raise Forbidden("The link is invalid or has expired.", code="invalid-download-token")
    try:
        path = storage.path_for(key)
    except StorageError:
        raise NotFound("No such file.") from None
    if not path.is_file():
        raise NotFound("No such file.")
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(
        path, media_type=media_type, headers={"Cache-Control": "private, max-age=300"}
    )
