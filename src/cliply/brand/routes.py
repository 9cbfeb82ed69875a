"""/api/v1/brand: the workspace's brand kit (read by members, changed by editors and up) and
its files (multipart uploads, validated before they are stored)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from starlette.requests import ClientDisconnect

from cliply.api.deps import DB
from cliply.billing.service import resolve_workspace_plan
from cliply.brand import assets, service
from cliply.brand.schemas import BrandIn, BrandOut, brand_out
from cliply.brand.service import AssetKind
from cliply.config import get_settings
from cliply.errors import CliplyError, PayloadTooLarge
from cliply.ingest.multipart import receive_multipart
from cliply.ingest.staging import staging_root
from cliply.ingest.text import optional_header_int
from cliply.projects.deps import StreamTenant, tenant_db
from cliply.storage import app_storage
from cliply.workspaces.deps import HeaderTenant

router = APIRouter(tags=["brand"])

MULTIPART_SLACK = 64 * 1024


def _watermark(db: Any, workspace_id: uuid.UUID) -> bool:
    return resolve_workspace_plan(db, workspace_id).watermark


@router.get("/brand", response_model=BrandOut, summary="The workspace's brand kit")
def get_brand(tenant: HeaderTenant, db: DB) -> BrandOut:
    tenant.require("brand.read")
    kit = service.get_kit(db, tenant.workspace_id)
    return brand_out(kit, _watermark(db, tenant.workspace_id))


@router.put(
    "/brand",
    response_model=BrandOut,
    summary="Change the brand kit (fields left out keep their value; null resets one)",
)
def put_brand(body: BrandIn, tenant: HeaderTenant, db: DB) -> BrandOut:
    tenant.require("brand.write")
    kit = service.update_kit(db, tenant.workspace_id, body)
    return brand_out(kit, _watermark(db, tenant.workspace_id))


_UPLOAD_DOC = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
        "required": True,
    }
}


async def _upload(request: Request, tenant: StreamTenant, kind: AssetKind) -> Any:
    tenant.require("brand.write")
    ctype = request.headers.get("content-type", "").lower()
    if not ctype.startswith("multipart/form-data"):
        raise CliplyError(
            "Send multipart/form-data with a `file`.", code="unsupported-media-type", status=415
        )
    limit = assets.MAX_BYTES[kind]
    declared = optional_header_int(request.headers.get("content-length"))
    if declared is not None and declared > limit + MULTIPART_SLACK:
        raise PayloadTooLarge(
            f"The {kind} may be up to {limit} bytes.", code="brand-file-too-large", limit=limit
        )
    staging = staging_root(get_settings().cliply_data_dir) / f"brand-{uuid.uuid4().hex}.part"
    try:
        try:
            got = await receive_multipart(
                request.stream(), request.headers["content-type"], staging, limit
            )
        except PayloadTooLarge:
            raise PayloadTooLarge(
                f"The {kind} may be up to {limit} bytes.", code="brand-file-too-large", limit=limit
            ) from None
        except ClientDisconnect:
            return Response(status_code=400)
        if got.filename is None:
            raise CliplyError("The form has no `file` part.", code="file-required", status=400)
        storage = app_storage()
        stored = await run_in_threadpool(
            service.store_asset, storage, tenant.workspace_id, kind, staging, got.filename
        )

        def _attach() -> BrandOut:
            with tenant_db(tenant) as db:
                kit, old = service.attach_asset(db, tenant.workspace_id, kind, stored)
                out = brand_out(kit, _watermark(db, tenant.workspace_id))
            service.delete_object(storage, old)  # after the commit: the row points elsewhere
            return out

        return await run_in_threadpool(_attach)
    finally:
        staging.unlink(missing_ok=True)


def _remove(tenant: HeaderTenant, db: DB, kind: AssetKind, later: BackgroundTasks) -> BrandOut:
    tenant.require("brand.write")
    kit, old = service.detach_asset(db, tenant.workspace_id, kind)
    # After the response, so after the commit: the row stops pointing at the file first.
    later.add_task(service.delete_object, app_storage(), old)
    return brand_out(kit, _watermark(db, tenant.workspace_id))


def _download(tenant: HeaderTenant, db: DB, kind: AssetKind) -> Response:
    tenant.require("brand.read")
    key = service.asset_key(db, tenant.workspace_id, kind)
    url = app_storage().url(key, get_settings().download_url_ttl_s)
    return RedirectResponse(url, status_code=status.HTTP_307_TEMPORARY_REDIRECT)


def _mount(kind: AssetKind, what: str) -> None:
    async def upload(request: Request, tenant: StreamTenant) -> Any:
        return await _upload(request, tenant, kind)

    def remove(tenant: HeaderTenant, db: DB, later: BackgroundTasks) -> BrandOut:
        return _remove(tenant, db, kind, later)

    def download(tenant: HeaderTenant, db: DB) -> Response:
        return _download(tenant, db, kind)

    router.add_api_route(
        f"/brand/{kind}",
        upload,
        methods=["POST"],
        response_model=BrandOut,
        summary=f"Upload the brand kit's {what} (multipart `file`, validated)",
        openapi_extra=_UPLOAD_DOC,
        operation_id=f"upload_brand_{kind}",
    )
    router.add_api_route(
        f"/brand/{kind}",
        remove,
        methods=["DELETE"],
        response_model=BrandOut,
        summary=f"Remove the brand kit's {what}",
        operation_id=f"delete_brand_{kind}",
    )
    router.add_api_route(
        f"/brand/{kind}",
        download,
        methods=["GET"],
        response_class=RedirectResponse,
        status_code=307,
        summary=f"The brand kit's {what} (redirect to a signed link)",
        operation_id=f"get_brand_{kind}",
    )


_mount("font", "caption font (TTF or OTF)")
_mount("logo", "logo (PNG or JPEG)")
_mount("intro", "intro clip (a video up to 15 s)")
_mount("outro", "outro clip (a video up to 15 s)")
