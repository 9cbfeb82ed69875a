"""Products sellers link to clips, their tracked short links and the clicks on them, and the
dropshipping actions taken on them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from cliply.db.base import Base, created_at, tstz, updated_at, uuid_pk, workspace_fk

PRODUCT_SOURCES = ("manual", "csv", "shopify")


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (
        # A store's product is imported once per workspace (re-import and re-sync update it).
        Index(
            "uq_products_workspace_id_external_id",
            "workspace_id",
            "external_id",
            unique=True,
            postgresql_where=text("external_id IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = workspace_fk()
    name: Mapped[str] = mapped_column(String(300))
    url: Mapped[str | None] = mapped_column(Text)
    sku: Mapped[str | None] = mapped_column(String(100))
    price_cents: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), server_default="USD")
    image_url: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(200))
    in_stock: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    source: Mapped[str] = mapped_column(String(20), server_default="manual")
    # The store a Shopify product came from (https://host): what the re-sync reads.
    source_url: Mapped[str | None] = mapped_column(Text)
    synced_at: Mapped[datetime | None] = tstz()
    sync_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class ClipProduct(Base):
    __tablename__ = "clip_products"

    clip_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clips.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    workspace_id: Mapped[uuid.UUID] = workspace_fk()
    position: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[datetime] = created_at()


class DropshippingAction(Base):
    """One thing the re-sync did to a product (or tried): out of stock, back in stock, price
    changed, removed from the store; with the scheduled posts it paused or resumed."""

    __tablename__ = "dropshipping_actions"

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = workspace_fk()
    product_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20), server_default="pending")
    reason: Mapped[str | None] = mapped_column(Text)
    # The schedules (posts not yet published) this action paused or resumed.
    schedule_ids: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(UUID(as_uuid=True)), server_default="{}"
    )
    payload: Mapped[dict[str, Any]] = mapped_column(server_default="{}")
    result: Mapped[dict[str, Any] | None] = mapped_column()
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class ShortLink(Base):
    """`{PUBLIC_BASE_URL}/r/{code}`: one product in one schedule's caption. The public redirect
    finds it by `code` alone (unique index), through a SECURITY DEFINER function."""

    __tablename__ = "short_links"

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = workspace_fk()
    code: Mapped[str] = mapped_column(String(32), unique=True)
    product_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    clip_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"))
    schedule_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("schedules.id", ondelete="CASCADE"), index=True
    )
    platform: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = created_at()


class LinkClick(Base):
    """One redirect through a short link. No IP address is ever stored; `country` comes from a
    trusted proxy header when one is configured; `is_bot` clicks are counted apart."""

    __tablename__ = "link_clicks"
    __table_args__ = (Index("ix_link_clicks_product_id_clicked_at", "product_id", "clicked_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = workspace_fk()
    link_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("short_links.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    clip_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("clips.id", ondelete="CASCADE"), index=True
    )
    post_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("posts.id", ondelete="SET NULL"), index=True
    )
    platform: Mapped[str] = mapped_column(String(20))
    clicked_at: Mapped[datetime] = created_at()
    country: Mapped[str | None] = mapped_column(String(2))
    ua_class: Mapped[str] = mapped_column(String(16))
    is_bot: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
