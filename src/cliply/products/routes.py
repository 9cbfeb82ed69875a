"""/api/v1/products (plan feature `products`): catalog, CSV and Shopify import, clip links,
dropshipping actions; and the public tracked-link redirect `/r/{code}` (no auth)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response, status
from fastapi.responses import RedirectResponse

from cliply.api.deps import DB
from cliply.api.paging import Cursor, Limit
from cliply.billing.deps import require_feature
from cliply.config import get_settings
from cliply.db.pagination import Page
from cliply.errors import NotFound, ValidationFailed
from cliply.products import flows, links, service
from cliply.products.schemas import (
    ActionOut,
    CsvImportIn,
    CsvImportOut,
    CsvRowError,
    CsvRowOut,
    ProductIn,
    ProductOut,
    ProductPatch,
    ShopifyImportIn,
    ShopifyImportOut,
)
from cliply.schemas import Int32
from cliply.workspaces.deps import Tenant

router = APIRouter(tags=["products"])
public_router = APIRouter(tags=["links"])
Gated = Annotated[Tenant, Depends(require_feature("products"))]


@router.post("/products", status_code=status.HTTP_201_CREATED, response_model=ProductOut)
def create(body: ProductIn, tenant: Gated, db: DB) -> ProductOut:
    tenant.require("products.write")
    return ProductOut.model_validate(service.create(db, tenant.workspace_id, body.model_dump()))


@router.get("/products", response_model=Page[ProductOut])
def list_products(
    tenant: Gated,
    db: DB,
    cursor: Cursor = None,
    limit: Limit = 50,
    in_stock: bool | None = None,
) -> Page[ProductOut]:
    rows, nxt = service.list_(
        db, tenant.workspace_id, cursor=cursor, limit=limit, in_stock=in_stock
    )
    return Page[ProductOut](items=[ProductOut.model_validate(p) for p in rows], next_cursor=nxt)


@router.post("/products/import/csv", response_model=CsvImportOut)
def import_csv(body: CsvImportIn, tenant: Gated, db: DB) -> CsvImportOut:
    """Check a CSV and (unless `dry_run`) import it whole: with any bad row, nothing is
    imported and the answer is 422 `csv-invalid` listing every row's errors."""
    tenant.require("products.write")
    result = flows.import_csv(
        db, tenant.workspace_id, body.csv, body.currency, dry_run=body.dry_run
    )
    plan = result.plan
    errors = [CsvRowError(row=e.row, column=e.column, message=e.message) for e in plan.errors]
    if errors and not body.dry_run:
        raise ValidationFailed(
            f"{len({e.row for e in errors})} row(s) of the CSV have errors; nothing was imported.",
            code="csv-invalid",
            row_errors=[e.model_dump() for e in errors],
        )
    rows = [
        CsvRowOut(
            row=r.row,
            action=r.action,
            product_id=r.product_id,
            name=r.values["name"],
            sku=r.values.get("sku"),
            price_cents=r.values.get("price_cents"),
            currency=r.values["currency"],
            in_stock=r.values["in_stock"],
        )
        for r in plan.rows
    ]
    creates = sum(1 for r in plan.rows if r.action == "create")
    return CsvImportOut(
        dry_run=body.dry_run,
        ok=plan.ok,
        created=creates,
        updated=len(plan.rows) - creates,
        rows=rows,
        errors=errors,
        ignored_columns=plan.ignored_columns,
    )


@router.post("/products/import/shopify", response_model=ShopifyImportOut)
def import_shopify(body: ShopifyImportIn, tenant: Gated, db: DB) -> ShopifyImportOut:
    """Import a Shopify store's public catalogue (`/products.json`); importing again
    updates the products, and the store is then re-read periodically (stock, prices)."""
    tenant.require("products.write")
    url, result = flows.import_shopify(db, tenant.workspace_id, body.store_url, body.currency)
    return ShopifyImportOut(
        store_url=url,
        created=result.created,
        updated=result.updated,
        out_of_stock=result.out_of_stock,
        paused_schedules=result.paused,
        resumed_schedules=result.resumed,
    )


@router.get("/products/actions", response_model=Page[ActionOut])
def list_actions(
    tenant: Gated,
    db: DB,
    product_id: uuid.UUID | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[ActionOut]:
    """Dropshipping actions: stock and price changes and the posts they paused or resumed."""
    rows, nxt = service.list_actions(
        db, tenant.workspace_id, product_id=product_id, cursor=cursor, limit=limit
    )
    return Page[ActionOut](items=[ActionOut.model_validate(a) for a in rows], next_cursor=nxt)


@router.get("/products/{product_id}", response_model=ProductOut)
def get(product_id: uuid.UUID, tenant: Gated, db: DB) -> ProductOut:
    return ProductOut.model_validate(service.get(db, tenant.workspace_id, product_id))


@router.patch("/products/{product_id}", response_model=ProductOut)
def update(product_id: uuid.UUID, body: ProductPatch, tenant: Gated, db: DB) -> ProductOut:
    """Edit a product; marking it out of stock pauses its clips' scheduled posts."""
    tenant.require("products.write")
    values = body.model_dump(exclude_unset=True)
    return ProductOut.model_validate(
        flows.update_product(db, tenant.workspace_id, product_id, values)
    )


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


# --- the public redirect -------------------------------------------------------------------------


@public_router.get(
    "/r/{code}",
    status_code=status.HTTP_302_FOUND,
    response_class=RedirectResponse,
    summary="Follow a tracked product link (public; records the click)",
)
def follow(code: Annotated[str, Path(max_length=64)], request: Request) -> RedirectResponse:
    header = get_settings().link_country_header
    target = links.follow(
        code,
        user_agent=request.headers.get("user-agent"),
        country=request.headers.get(header) if header else None,
    )
    if target is None:
        raise NotFound("This link does not exist.", code="short-link-not-found")
    # Every visit must reach us to be counted: no caching of the redirect anywhere.
    return RedirectResponse(
        target,
        status_code=status.HTTP_302_FOUND,
        headers={"Cache-Control": "private, no-store", "X-Robots-Tag": "noindex"},
    )
