"""API shapes for products that sellers link to clips."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from cliply.schemas import Int32, Omittable, Strict


class ProductIn(Strict):
    name: str = Field(min_length=1, max_length=300)
    url: AnyHttpUrl | None = None
    sku: str | None = Field(None, max_length=100)
    price_cents: Int32 | None = Field(None, ge=0)
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    image_url: AnyHttpUrl | None = None


class ProductPatch(Strict):
    name: Omittable[str] = Field(None, min_length=1, max_length=300)
    url: AnyHttpUrl | None = None
    sku: str | None = Field(None, max_length=100)
    price_cents: Int32 | None = Field(None, ge=0)
    currency: Omittable[str] = Field(None, pattern=r"^[A-Z]{3}$")
    image_url: AnyHttpUrl | None = None


class ProductOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    url: str | None
    sku: str | None
    price_cents: int | None
    currency: str
    image_url: str | None
    created_at: datetime
