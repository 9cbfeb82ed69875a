"""tus 1.0 resumable uploads (core + creation + termination) under /api/v1/uploads.

POST (Upload-Length, Upload-Metadata: filename, name, min_s, max_s, top_k, aspect,
caption_style) creates the upload and its project → 201 with Location. HEAD answers the
Upload-Offset to resume from. PATCH (Content-Type application/offset+octet-stream,
Upload-Offset) appends → 204 with the new offset; 409 when the offset is not the server's.
The last byte moves the file into storage and starts the pipeline. DELETE abandons it.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from sqlalchemy import select

from cliply.api.deps import DB
from cliply.config import get_settings
from cliply.errors import BadRequest, CliplyError, Conflict, Gone, NotFound, PayloadTooLarge
from cliply.ingest.staging import (
    extension_of,
    is_disk_full,
    move_to_storage,
    staging_root,
    storage_full,
)
from cliply.ingest.text import optional_header_int
from cliply.ingest.tus import (
    OFFSET_CONTENT_TYPE,
    TUS_EXTENSIONS,
    TUS_VERSION,
    acquire,
    check_offset,
    current_offset,
    discard_staging,
    parse_metadata,
    parse_offset,
    receive_body,
    staging_path,
    upload_expiry,
)
from cliply.pipeline.options import FX_FIELDS, ClipOptions
from cliply.projects import service
from cliply.projects.deps import StreamTenant, tenant_db
from cliply.projects.models import Upload
from cliply.projects.schemas import UploadOut
from cliply.storage import app_storage
from cliply.storage.keys import source_video_key
from cliply.workspaces.deps import HeaderTenant, Tenant

router = APIRouter(tags=["uploads"])
OPTION_KEYS = (
    "min_s",
    "max_s",
    "top_k",
    "aspect",
    "caption_style",
    "language",
    "prompt",
    *FX_FIELDS,
)


def _tus_headers(**extra: str) -> dict[str, str]:
    return {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store", **extra}


def _require_tus(request: Request) -> None:
    if request.headers.get("tus-resumable") != TUS_VERSION:
        raise CliplyError(
            f"Send Tus-Resumable: {TUS_VERSION}.", code="tus-version-unsupported", status=412
        )


def _location(upload_id: uuid.UUID) -> str:
    return f"/api/v1/uploads/{upload_id}"


def _upload_out(u: Upload, offset: int) -> UploadOut:
    return UploadOut(
        id=u.id,
        project_id=u.project_id,
        offset=offset,
        length=u.size_total,
        status=u.status,
        expires_at=u.expires_at,
        location=_location(u.id),
    )


def _get_upload(db: Any, workspace_id: uuid.UUID, upload_id: uuid.UUID) -> Upload:
    upload: Upload | None = db.scalar(
        select(Upload).where(Upload.id == upload_id, Upload.workspace_id == workspace_id)
    )
    if upload is None:
        raise NotFound("No such upload.", code="upload-not-found")
    if upload.status == "aborted":
        raise Gone("This upload was abandoned.", code="upload-gone")
    return upload


def _offset(u: Upload) -> int:
    return u.size_total if u.status == "complete" else current_offset(_staging(u))


def _staging(u: Upload) -> Path:
    return Path(u.staging_path)


@router.options("/uploads", status_code=status.HTTP_204_NO_CONTENT, include_in_schema=False)
def tus_options() -> Response:
    return Response(
        status_code=204,
        headers={
            "Tus-Resumable": TUS_VERSION,
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": TUS_EXTENSIONS,
            "Tus-Max-Size": str(get_settings().max_upload_bytes),
        },
    )


@router.post(
    "/uploads",
    status_code=status.HTTP_201_CREATED,
    response_model=UploadOut,
    summary="Create a resumable (tus 1.0) upload and its project",
)
def create_upload(request: Request, tenant: HeaderTenant, db: DB) -> Response:
    tenant.require("projects.write")
    _require_tus(request)
    settings = get_settings()
    if request.headers.get("upload-defer-length"):
        raise BadRequest(
            "Upload-Defer-Length is not supported; send Upload-Length.",
            code="invalid-upload-header",
        )
    length = parse_offset(request.headers.get("upload-length"), "Upload-Length")
    if length == 0:
        raise BadRequest("The upload is empty.", code="empty-upload")
    if length > settings.max_upload_bytes:
        raise PayloadTooLarge(
            f"Uploads are limited to {settings.max_upload_bytes} bytes.",
            code="upload-too-large",
            limit=settings.max_upload_bytes,
        )
    meta = parse_metadata(request.headers.get("upload-metadata"))
    try:
        options = ClipOptions.model_validate(
            {k: v for k, v in meta.items() if k in OPTION_KEYS and v != ""}
        )
    except ValidationError as exc:
        raise BadRequest(
            "Upload-Metadata options are invalid: "
            + "; ".join(str(e["msg"]) for e in exc.errors()),
            code="invalid-upload-metadata",
        ) from None
    filename = (meta.get("filename") or "video")[:300]
    project = service.create_project(
        db,
        tenant.workspace_id,
        tenant.user_id,
        name=meta.get("name") or filename,
        source_type="upload",
        options=options,
        filename=filename,
        size_bytes=length,
        status="uploading",
    )
    upload_id = uuid.uuid4()
    path = staging_path(staging_root(settings.cliply_data_dir), upload_id)
    try:
        path.touch()
    except OSError as exc:
        if is_disk_full(exc):
            raise storage_full() from exc
        raise
    upload = Upload(
        id=upload_id,
        workspace_id=tenant.workspace_id,
        project_id=project.id,
        created_by=tenant.user_id,
        size_total=length,
        offset=0,
        status="open",
        filename=filename,
        staging_path=str(path),
        expires_at=upload_expiry(),
    )
    db.add(upload)
    db.flush()
    db.refresh(upload)
    body = _upload_out(upload, 0).model_dump_json()
    return Response(
        content=body,
        status_code=201,
        media_type="application/json",
        headers=_tus_headers(
            Location=_location(upload_id),
            **{"Upload-Offset": "0", "Cliply-Project-Id": str(project.id)},
        ),
    )


@router.head("/uploads/{upload_id}", summary="Where to resume: Upload-Offset")
def head_upload(upload_id: uuid.UUID, request: Request, tenant: HeaderTenant, db: DB) -> Response:
    tenant.require("projects.write")
    _require_tus(request)
    u = _get_upload(db, tenant.workspace_id, upload_id)
    return Response(
        status_code=200,
        headers=_tus_headers(
            **{"Upload-Offset": str(_offset(u)), "Upload-Length": str(u.size_total)}
        ),
    )


@router.get("/uploads/{upload_id}", response_model=UploadOut)
def get_upload(upload_id: uuid.UUID, tenant: HeaderTenant, db: DB) -> UploadOut:
    tenant.require("projects.read")
    u = _get_upload(db, tenant.workspace_id, upload_id)
    return _upload_out(u, _offset(u))


@router.patch(
    "/uploads/{upload_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Append bytes at Upload-Offset (application/offset+octet-stream)",
)
async def patch_upload(upload_id: uuid.UUID, request: Request, tenant: StreamTenant) -> Response:
    tenant.require("projects.write")
    _require_tus(request)
    if request.headers.get("content-type", "").split(";")[0].strip() != OFFSET_CONTENT_TYPE:
        raise CliplyError(
            f"Content-Type must be {OFFSET_CONTENT_TYPE}.",
            code="unsupported-media-type",
            status=415,
        )
    offset = parse_offset(request.headers.get("upload-offset"))

    def _load() -> tuple[str, int, str, uuid.UUID, str | None]:
        with tenant_db(tenant) as db:
            u = _get_upload(db, tenant.workspace_id, upload_id)
            return u.status, u.size_total, u.staging_path, u.project_id, u.filename

    state, length, path_s, project_id, filename = await run_in_threadpool(_load)
    if state == "complete":
        if offset != length:
            raise Conflict(
                f"Upload-Offset is {offset}; the upload is complete ({length}).",
                code="offset-mismatch",
                upload_offset=length,
            )
        return Response(status_code=204, headers=_tus_headers(**{"Upload-Offset": str(length)}))
    settings = get_settings()
    path = Path(path_s)
    declared = optional_header_int(request.headers.get("content-length"))
    check_offset(offset, current_offset(path))  # a stale offset is answered without the lease
    lease = await run_in_threadpool(acquire, path, settings.tus_lock_takeover_s)
    ended: CliplyError | None = None  # answered after the progress is recorded
    try:
        have = lease.offset()
        check_offset(offset, have)
        remaining = length - have
        if declared is not None and declared > remaining:
            raise BadRequest(
                f"Only {remaining} more bytes fit this upload.", code="upload-exceeds-length"
            )
        ended = await receive_body(
            request.stream(), lease.append, remaining, settings.tus_patch_idle_timeout_s
        )
    finally:
        try:
            await run_in_threadpool(lease.sync)
        finally:
            await run_in_threadpool(lease.release)
    new_offset = current_offset(path)
    done = new_offset >= length
    if done:
        key = source_video_key(tenant.workspace_id, project_id, extension_of(filename))
        await run_in_threadpool(move_to_storage, path, app_storage(), key)
        discard_staging(path)

    def _record() -> None:
        with tenant_db(tenant) as db:
            u = _get_upload(db, tenant.workspace_id, upload_id)
            u.offset = new_offset
            if done:
                u.status = "complete"
                p = service.get_project(db, tenant.workspace_id, project_id, lock=True)
                p.source_key, p.size_bytes = key, length
                db.flush()
                service.start_ingest(db, p)
            else:
                service.set_progress(db, project_id, "uploading", new_offset / length)

    await run_in_threadpool(_record)
    if ended is not None:
        raise ended
    return Response(status_code=204, headers=_tus_headers(**{"Upload-Offset": str(new_offset)}))


@router.delete(
    "/uploads/{upload_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Abandon an upload (tus termination): its project is removed",
)
def delete_upload(upload_id: uuid.UUID, request: Request, tenant: HeaderTenant, db: DB) -> Response:
    tenant.require("projects.write")
    _require_tus(request)
    u = _get_upload(db, tenant.workspace_id, upload_id)
    if u.status == "complete":
        raise Conflict(
            "The upload is complete; delete the project instead.", code="upload-complete"
        )
    discard_staging(_staging(u))
    service.withdraw_project(db, tenant.workspace_id, u.project_id)
    return Response(status_code=204, headers=_tus_headers())


__all__ = ["Tenant", "router"]
