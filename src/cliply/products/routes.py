"""/api/v1/products and clip links (plan feature `products`)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from cliply.api.deps import DB
from cliply.api.paging import Cursor, Limit
from cliply.billing.deps import require_feature
from cliply.db.pagination import Page
from cliply.products import service
from cliply.products.schemas import ProductIn, ProductOut, ProductPatch
from cliply.schemas import Int32
from cliply.workspaces.deps import Tenant

router = APIRouter(tags=["products"])
Gated = Annotated[Tenant, Depends(require_feature("products"))]


@router.post("/products", status_code=status.HTTP_201_CREATED, response_model=ProductOut)
def create(body: ProductIn, tenant: Gated, db: DB) -> ProductOut:
    tenant.require("products.write")
    return ProductOut.model_validate(service.create(db, tenant.workspace_id, body.model_dump()))


@router.get("/products", response_model=Page[ProductOut])
def list_products(
    tenant: Gated, db: DB, cursor: Cursor = None, limit: Limit = 50
) -> Page[ProductOut]:
    rows, nxt = service.list_(db, tenant.workspace_id, cursor=cursor, limit=limit)
    return Page[ProductOut](items=[ProductOut.model_validate(p) for p in rows], next_cursor=nxt)


@router.get("/products/{product_id}", response_model=ProductOut)
def get(product_id: uuid.UUID, tenant: Gated, db: DB) -> ProductOut:
    return ProductOut.model_validate(service.get(db, tenant.workspace_id, product_id))


@router.patch("/products/{product_id}", response_model=ProductOut)
def update(product_id: uuid.UUID, body: ProductPatch, tenant: Gated, db: DB) -> ProductOut:
    tenant.require("products.write")
    values = body.model_dump(exclude_unset=True)
    return ProductOut.model_validate(service.update(db, tenant.workspace_id, product_id, values))


@router.delete("/products/{product_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete(product_id: uuid.UUID, tenant: Gated, db: DB) -> Response:
    tenant.require("products.write")
    service.remove(db, tenant.workspace_id, product_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/clips/{clip_id}/products", response_model=Page[ProductOut])
def clip_products(
    clip_id: uuid.UUID, tenant: Gated, db: DB, cursor: Cursor = None, limit: Limit = 50
) -> Page[ProductOut]:
    rows, nxt = service.for_clip(db, tenant.workspace_id, clip_id, cursor=cursor, limit=limit)
    return Page[ProductOut](items=[ProductOut.model_validate(p) for p in rows], next_cursor=nxt)


@router.put("/clips/{clip_id}/products/{product_id}", status_code=status.HTTP_204_NO_CONTENT)
def link(
    clip_id: uuid.UUID, product_id: uuid.UUID, tenant: Gated, db: DB, position: Int32 = 0
) -> Response:
    tenant.require("products.write")
    service.link(db, tenant.workspace_id, clip_id, product_id, position)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("/clips/{clip_id}/products/{product_id}", status_code=status.HTTP_204_NO_CONTENT)
def unlink(clip_id: uuid.UUID, product_id: uuid.UUID, tenant: Gated, db: DB) -> Response:
    tenant.require("products.write")
    service.unlink(db, tenant.workspace_id, clip_id, product_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
