"""API shapes for products, their imports, dropshipping actions and click statistics."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StrictBool

from cliply.schemas import Int32, Omittable, Strict

Currency = Field("USD", pattern=r"^[A-Z]{3}$")


class ProductIn(Strict):
    name: str = Field(min_length=1, max_length=300)
    url: AnyHttpUrl | None = Field(None, max_length=2000)
    sku: str | None = Field(None, max_length=100)
    price_cents: Int32 | None = Field(None, ge=0)
    currency: str = Currency
    image_url: AnyHttpUrl | None = Field(None, max_length=2000)
    in_stock: StrictBool = True


class ProductPatch(Strict):
    name: Omittable[str] = Field(None, min_length=1, max_length=300)
    url: AnyHttpUrl | None = Field(None, max_length=2000)
    sku: str | None = Field(None, max_length=100)
    price_cents: Int32 | None = Field(None, ge=0)
    currency: Omittable[str] = Field(None, pattern=r"^[A-Z]{3}$")
    image_url: AnyHttpUrl | None = Field(None, max_length=2000)
    in_stock: Omittable[StrictBool] = None


class ProductOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    url: str | None
    sku: str | None
    price_cents: int | None
    currency: str
    image_url: str | None
    in_stock: bool
    source: str
    source_url: str | None
    external_id: str | None
    synced_at: datetime | None
    sync_error: str | None
    created_at: datetime
    updated_at: datetime


class CsvImportIn(Strict):
    """A product CSV (header row: name, url, sku, price, currency, image_url, in_stock)."""

    csv: str = Field(min_length=1, max_length=2_000_000)
    currency: str = Currency
    dry_run: StrictBool = False


class CsvRowError(BaseModel):
    row: int
    column: str | None
    message: str


class CsvRowOut(BaseModel):
    row: int
    action: str  # create | update
    product_id: uuid.UUID | None
    name: str
    sku: str | None
    price_cents: int | None
    currency: str
    in_stock: bool


class CsvImportOut(BaseModel):
    dry_run: bool
    ok: bool
    created: int
    updated: int
    rows: list[CsvRowOut]
    errors: list[CsvRowError]
    ignored_columns: list[str]


class ShopifyImportIn(Strict):
    store_url: str = Field(
        min_length=1, max_length=500, description="e.g. https://shop.example.com"
    )
    currency: str = Currency


class ShopifyImportOut(BaseModel):
    store_url: str
    created: int
    updated: int
    out_of_stock: int
    paused_schedules: list[uuid.UUID]
    resumed_schedules: list[uuid.UUID]


class ActionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    product_id: uuid.UUID
    kind: str
    status: str
    reason: str | None
    schedule_ids: list[uuid.UUID]
    payload: dict[str, object]
    created_at: datetime


class SyncOut(BaseModel):
    stores: int
    changed: int
    actions: list[ActionOut]


class ProductClicksOut(BaseModel):
    product_id: uuid.UUID
    name: str
    in_stock: bool
    clicks: int
    bot_clicks: int
    posts: int
    views: int
    ctr: float | None = Field(description="clicks / views of the posts carrying its link")
