"""Studio pages: the product catalog (list with clicks and CTR, add, edit, delete, CSV import
with a per-row preview, Shopify import, dropshipping actions) and a clip's product links.

Add and edit are plain forms (prices typed as 19.99); the CSV and Shopify imports run from
products.js against the JSON API (/api/v1/products/import/...), which shows the CSV's
per-row errors before anything is written.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from cliply.analytics import product_stats
from cliply.billing.gate import check_feature
from cliply.clips import service as clips
from cliply.errors import CliplyError
from cliply.products import flows
from cliply.products import service as products
from cliply.products.schemas import ProductIn
from cliply.web.deps import PageRoute, StudioPage, redirect

router = APIRouter(route_class=PageRoute)

_PRICE = re.compile(r"^\d{1,9}(?:[.,]\d{1,2})?$")
FIELD_NAMES = {"price_cents": "price"}


def _gate(studio: StudioPage) -> str | None:
    """Why the catalog is closed (the plan), else None."""
    try:
        check_feature(studio.db, studio.workspace_id, "products")
    except CliplyError as exc:
        return exc.message
    return None


def _values(
    name: str, url: str, sku: str, price: str, currency: str, in_stock: str | None
) -> tuple[dict[str, Any], dict[str, str]]:
    """Form fields → ProductIn values, or errors by field name."""
    errors: dict[str, str] = {}
    raw: dict[str, Any] = {"name": name, "currency": (currency or "USD").strip().upper()}
    raw["url"] = url.strip() or None
    raw["sku"] = sku.strip() or None
    raw["in_stock"] = in_stock is not None
    price = price.strip().lstrip("$€£")
    if price:
        if _PRICE.match(price):
            whole, _, frac = price.replace(",", ".").partition(".")
            raw["price_cents"] = int(whole) * 100 + int((frac + "00")[:2])
        else:
            errors["price"] = "Enter a price such as 19.99."
    try:
        values = ProductIn.model_validate(raw).model_dump(mode="json")
    except ValidationError as exc:
        for err in exc.errors():
            loc = str(err["loc"][0]) if err["loc"] else "name"
            errors.setdefault(
                FIELD_NAMES.get(loc, loc), str(err["msg"]).removeprefix("Value error, ")
            )
        return raw, errors
    return values, errors


def _price(cents: int | None) -> str:
    return "" if cents is None else f"{cents // 100}.{cents % 100:02d}"


def _catalog(studio: StudioPage, status_code: int = 200, **extra: Any) -> HTMLResponse:
    studio.require("clips.read")
    closed = _gate(studio)
    items = [] if closed else products.all_products(studio.db, studio.workspace_id)
    stats = (
        {}
        if closed
        else {s.id: s for s in product_stats.click_stats(studio.db, studio.workspace_id, "product")}
    )
    actions = [] if closed else products.list_actions(studio.db, studio.workspace_id, limit=10)[0]
    names = {p.id: p.name for p in items}
    return studio.render(
        "products/index.html",
        status_code=status_code,
        closed=closed,
        products=items,
        stats=stats,
        actions=actions,
        names=names,
        price=_price,
        form=extra.pop("form", {}),
        errors=extra.pop("errors", {}),
        **extra,
    )


@router.get("/products", response_class=HTMLResponse)
def catalog(
    studio: StudioPage, imported: str = "", created: int = 0, updated: int = 0
) -> HTMLResponse:
    notice = ""
    if imported in ("csv", "shopify"):
        what = "the CSV" if imported == "csv" else "the Shopify store"
        notice = f"Imported {what}: {created} new, {updated} updated."
    return _catalog(studio, notice=notice)


@router.post("/products", response_class=HTMLResponse)
def add(
    studio: StudioPage,
    name: Annotated[str, Form()] = "",
    url: Annotated[str, Form()] = "",
    sku: Annotated[str, Form()] = "",
    price: Annotated[str, Form()] = "",
    currency: Annotated[str, Form()] = "USD",
    in_stock: Annotated[str | None, Form()] = None,
) -> Response:
    studio.require("products.write")
    check_feature(studio.db, studio.workspace_id, "products")
    values, errors = _values(name, url, sku, price, currency, in_stock)
    if errors:
        form = {"name": name, "url": url, "sku": sku, "price": price, "currency": currency}
        return _catalog(studio, form=form, errors=errors)
    products.create(studio.db, studio.workspace_id, values)
    return redirect(studio.request, "/products")


@router.get("/products/{product_id}/edit", response_class=HTMLResponse)
def edit(studio: StudioPage, product_id: uuid.UUID) -> HTMLResponse:
    studio.require("products.write")
    check_feature(studio.db, studio.workspace_id, "products")
    p = products.get(studio.db, studio.workspace_id, product_id)
    form = {
        "name": p.name,
        "url": p.url or "",
        "sku": p.sku or "",
        "price": _price(p.price_cents),
        "currency": p.currency,
        "in_stock": p.in_stock,
    }
    return studio.render("products/edit.html", product=p, form=form, errors={})


@router.post("/products/{product_id}", response_class=HTMLResponse)
def save(
    studio: StudioPage,
    product_id: uuid.UUID,
    name: Annotated[str, Form()] = "",
    url: Annotated[str, Form()] = "",
    sku: Annotated[str, Form()] = "",
    price: Annotated[str, Form()] = "",
    currency: Annotated[str, Form()] = "USD",
    in_stock: Annotated[str | None, Form()] = None,
) -> Response:
    studio.require("products.write")
    check_feature(studio.db, studio.workspace_id, "products")
    p = products.get(studio.db, studio.workspace_id, product_id)
    values, errors = _values(name, url, sku, price, currency, in_stock)
    if errors:
        form = {
            "name": name,
            "url": url,
            "sku": sku,
            "price": price,
            "currency": currency,
            "in_stock": in_stock is not None,
        }
        return studio.render("products/edit.html", product=p, form=form, errors=errors)
    if not price.strip():
        values["price_cents"] = None
    flows.update_product(studio.db, studio.workspace_id, product_id, values)
    return redirect(studio.request, "/products")


@router.post("/products/{product_id}/delete", response_class=HTMLResponse)
def remove(studio: StudioPage, product_id: uuid.UUID) -> Response:
    studio.require("products.write")
    products.remove(studio.db, studio.workspace_id, product_id)
    return redirect(studio.request, "/products")


# --- a clip's products ---------------------------------------------------------------------------


def _clip_page(studio: StudioPage, clip_id: uuid.UUID, **extra: Any) -> HTMLResponse:
    studio.require("clips.read")
    clip = clips.get_clip(studio.db, studio.workspace_id, clip_id)
    closed = _gate(studio)
    linked = (
        [] if closed else products.for_clip(studio.db, studio.workspace_id, clip_id, limit=100)[0]
    )
    others = (
        []
        if closed
        else [
            p
            for p in products.all_products(studio.db, studio.workspace_id)
            if p.id not in {x.id for x in linked}
        ]
    )
    clicks = (
        {}
        if closed
        else products.clicks_by_product_for_clip(studio.db, studio.workspace_id, clip_id)
    )
    return studio.render(
        "products/clip.html",
        clip=clip,
        closed=closed,
        linked=linked,
        others=others,
        clicks=clicks,
        price=_price,
        **extra,
    )


@router.get("/clips/{clip_id}/products", response_class=HTMLResponse)
def clip_products(studio: StudioPage, clip_id: uuid.UUID) -> HTMLResponse:
    return _clip_page(studio, clip_id)


@router.post("/clips/{clip_id}/products", response_class=HTMLResponse)
def link(
    studio: StudioPage, clip_id: uuid.UUID, product_id: Annotated[str, Form()] = ""
) -> Response:
    studio.require("products.write")
    check_feature(studio.db, studio.workspace_id, "products")
    try:
        pid = uuid.UUID(product_id)
    except ValueError:
        return _clip_page(studio, clip_id, error="Choose a product to link.")
    position = len(products.for_clip(studio.db, studio.workspace_id, clip_id, limit=100)[0])
    products.link(studio.db, studio.workspace_id, clip_id, pid, position)
    return redirect(studio.request, f"/clips/{clip_id}/products")


@router.post("/clips/{clip_id}/products/{product_id}/unlink", response_class=HTMLResponse)
def unlink(studio: StudioPage, clip_id: uuid.UUID, product_id: uuid.UUID) -> Response:
    studio.require("products.write")
    products.unlink(studio.db, studio.workspace_id, clip_id, product_id)
    return redirect(studio.request, f"/clips/{clip_id}/products")
