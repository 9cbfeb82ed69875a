"""/api/v1/projects: create (multipart upload or URL), list, read, delete, transcript; the tus
resumable upload endpoints live in projects.tus and are mounted here."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.requests import ClientDisconnect

from cliply.api.deps import DB
from cliply.config import get_settings
from cliply.db.pagination import Page
from cliply.errors import BadRequest, CliplyError, PayloadTooLarge, ValidationFailed
from cliply.ingest.download import default_project_name, policy_from_settings
from cliply.ingest.multipart import receive_multipart
from cliply.ingest.ssrf import UrlRefused, check_url
from cliply.ingest.staging import extension_of, move_to_storage, staging_root
from cliply.ingest.text import optional_header_int
from cliply.pipeline.options import FX_FIELDS, ClipOptions
from cliply.projects import service, tus
from cliply.projects.deps import StreamTenant, tenant_db
from cliply.projects.models import Project
from cliply.projects.schemas import OptionsIn, ProjectOut, TranscriptFormat, UrlProjectIn
from cliply.storage import app_storage
from cliply.storage.keys import source_video_key
from cliply.workspaces.deps import HeaderTenant, Tenant

router = APIRouter(tags=["projects"])
router.include_router(tus.router)

MULTIPART_SLACK = 64 * 1024  # form boundaries and small fields around the file
OPTION_FIELDS = (
    "min_s",
    "max_s",
    "top_k",
    "aspect",
    "caption_style",
    "language",
    "prompt",
    *FX_FIELDS,
)

_CREATE_DOC = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "name": {"type": "string"},
                        **{f: {"type": "string"} for f in OPTION_FIELDS},
                    },
                }
            },
            "application/json": {"schema": UrlProjectIn.model_json_schema()},
        },
        "required": True,
    }
}


def project_out(p: Project) -> ProjectOut:
    return ProjectOut.model_validate(p, from_attributes=True)


@router.post(
    "/projects",
    status_code=status.HTTP_201_CREATED,
    response_model=ProjectOut,
    openapi_extra=_CREATE_DOC,
    summary="Create a project from an uploaded video (multipart, up to "
    'DIRECT_UPLOAD_MAX_BYTES) or a URL (JSON {"url": ...})',
)
async def create_project(request: Request, tenant: StreamTenant) -> Any:
    tenant.require("projects.write")
    ctype = request.headers.get("content-type", "").lower()
    if ctype.startswith("multipart/form-data"):
        return await _from_upload(request, tenant)
    if "json" in ctype:
        try:
            body = UrlProjectIn.model_validate_json(await request.body())
        except ValidationError as exc:
            raise RequestValidationError(exc.errors()) from None
        return await run_in_threadpool(_from_url, tenant, body)
    raise CliplyError(
        "Send multipart/form-data with a `file`, or JSON with a `url`.",
        code="unsupported-media-type",
        status=415,
    )


def _from_url(tenant: Tenant, body: UrlProjectIn) -> ProjectOut:
    try:
        checked = check_url(body.url, policy_from_settings())
    except UrlRefused as exc:
        raise ValidationFailed(exc.message, code=exc.code) from None
    with tenant_db(tenant) as db:
        project = service.create_project(
            db,
            tenant.workspace_id,
            tenant.user_id,
            name=body.name or default_project_name(checked.url),
            source_type="url",
            source_url=checked.url,
            options=body.options,
            status="downloading",
        )
        service.start_download(db, project)
        db.refresh(project)
        return project_out(project)


async def _from_upload(request: Request, tenant: Tenant) -> Any:
    settings = get_settings()
    limit = min(settings.direct_upload_max_bytes, settings.max_upload_bytes)
    declared = optional_header_int(request.headers.get("content-length"))
    if declared is not None and declared > limit + MULTIPART_SLACK:
        raise PayloadTooLarge(
            f"Direct uploads are limited to {limit} bytes; use the resumable upload "
            "(POST /api/v1/uploads) for bigger files.",
            code="upload-too-large",
            limit=limit,
        )

    def _create() -> uuid.UUID:
        with tenant_db(tenant) as db:  # the plan's project quota is checked before any bytes
            p = service.create_project(
                db,
                tenant.workspace_id,
                tenant.user_id,
                name="Upload",
                source_type="upload",
                options=ClipOptions(),
                status="uploading",
            )
            return p.id

    project_id = await run_in_threadpool(_create)
    staging = staging_root(settings.cliply_data_dir) / f"direct-{project_id}.part"
    key: str | None = None
    try:
        got = await receive_multipart(
            request.stream(), request.headers["content-type"], staging, limit
        )
        fields = {k: v for k, v in got.fields.items() if k in OPTION_FIELDS and v != ""}
        try:
            options = ClipOptions.model_validate(fields)
        except ValidationError as exc:
            raise RequestValidationError(exc.errors()) from None
        key = source_video_key(tenant.workspace_id, project_id, extension_of(got.filename))
        await run_in_threadpool(move_to_storage, staging, app_storage(), key)

        def _finish() -> ProjectOut:
            with tenant_db(tenant) as db:
                p = service.get_project(db, tenant.workspace_id, project_id, lock=True)
                p.name = (got.fields.get("name") or got.filename or "Upload")[:300]
                p.original_filename, p.size_bytes, p.source_key = got.filename, got.size, key
                p.options = options.model_dump(exclude_none=True, exclude_unset=True)
                db.flush()
                service.start_ingest(db, p)
                db.refresh(p)
                return project_out(p)

        return await run_in_threadpool(_finish)
    except BaseException as exc:
        # No path may leave the project in `uploading`: it goes, with its quota and bytes.
        staging.unlink(missing_ok=True)
        await run_in_threadpool(_withdraw, tenant, project_id, key)
        if isinstance(exc, ClientDisconnect):
            return Response(status_code=400)  # nobody is listening any more
        raise


def _withdraw(tenant: Tenant, project_id: uuid.UUID, key: str | None) -> None:
    if key is not None:
        app_storage().delete(key)
    with tenant_db(tenant) as db:
        service.withdraw_project(db, tenant.workspace_id, project_id)


@router.get("/projects", response_model=Page[ProjectOut])
def list_projects(
    tenant: HeaderTenant,
    db: DB,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Page[ProjectOut]:
    tenant.require("projects.read")
    rows, nxt = service.list_projects(db, tenant.workspace_id, cursor=cursor, limit=limit)
    return Page[ProjectOut](items=[project_out(p) for p in rows], next_cursor=nxt)


@router.get("/projects/{project_id}", response_model=ProjectOut)
def get_project(project_id: uuid.UUID, tenant: HeaderTenant, db: DB) -> ProjectOut:
    tenant.require("projects.read")
    return project_out(service.get_project(db, tenant.workspace_id, project_id))


@router.delete("/projects/{project_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_project(project_id: uuid.UUID, tenant: HeaderTenant, db: DB) -> Response:
    tenant.require("projects.write")
    service.delete_project(db, tenant.workspace_id, project_id, app_storage())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/projects/{project_id}/retry",
    response_model=ProjectOut,
    summary="Run a failed project again from the stage that failed (409 when its source is gone)",
)
def retry_project(project_id: uuid.UUID, tenant: HeaderTenant, db: DB) -> ProjectOut:
    tenant.require("projects.write")
    return project_out(service.retry_project(db, tenant.workspace_id, project_id, app_storage()))


@router.post(
    "/projects/{project_id}/highlights",
    response_model=ProjectOut,
    summary="Detect highlights again with new clip options (auto clips are replaced)",
)
def rerun_highlights(
    project_id: uuid.UUID, body: OptionsIn, tenant: HeaderTenant, db: DB
) -> ProjectOut:
    tenant.require("projects.write")
    return project_out(service.rerun_highlights(db, tenant.workspace_id, project_id, body))


@router.get(
    "/projects/{project_id}/transcript",
    responses={200: {"content": {t: {} for t in service.TRANSCRIPT_MEDIA_TYPES.values()}}},
)
def get_transcript(
    project_id: uuid.UUID, tenant: HeaderTenant, db: DB, format: TranscriptFormat = "json"
) -> Response:
    tenant.require("projects.read")
    data = service.transcript_document(db, tenant.workspace_id, project_id, format, app_storage())
    media_type = service.TRANSCRIPT_MEDIA_TYPES[format]
    if format != "json":
        media_type += "; charset=utf-8"
    return Response(
        content=data,
        media_type=media_type,
        headers={"Content-Disposition": f'inline; filename="transcript-{project_id}.{format}"'},
    )


__all__ = ["BadRequest", "router"]
