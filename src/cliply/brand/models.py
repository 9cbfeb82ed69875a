"""One brand kit per workspace. Its files (font, logo, intro, outro) live in object storage
under content-addressed keys; the row holds the keys and what validation learnt of them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Float, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cliply.db.base import Base, created_at, updated_at, uuid_pk, workspace_fk


class BrandKit(Base):
    __tablename__ = "brand_kits"
    __table_args__ = (UniqueConstraint("workspace_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = workspace_fk(index=False)
    # Captions: colours as #RRGGBB; position top/middle/bottom, or position_y (share of the
    # height where the caption's bottom edge sits); size as a share of the height.
    caption_color: Mapped[str | None] = mapped_column(String(7))
    caption_active_color: Mapped[str | None] = mapped_column(String(7))
    caption_outline_color: Mapped[str | None] = mapped_column(String(7))
    caption_position: Mapped[str | None] = mapped_column(String(10))
    caption_position_y: Mapped[float | None] = mapped_column(Float)
    caption_size: Mapped[float | None] = mapped_column(Float)
    font_key: Mapped[str | None] = mapped_column(Text)
    font_family: Mapped[str | None] = mapped_column(String(200))
    font_filename: Mapped[str | None] = mapped_column(String(300))
    logo_key: Mapped[str | None] = mapped_column(Text)
    logo_filename: Mapped[str | None] = mapped_column(String(300))
    logo_width: Mapped[int | None] = mapped_column()
    logo_height: Mapped[int | None] = mapped_column()
    logo_corner: Mapped[str] = mapped_column(String(12), server_default="top-right")
    logo_opacity: Mapped[float] = mapped_column(Float, server_default="1.0")
    logo_scale: Mapped[float] = mapped_column(Float, server_default="0.18")
    intro_key: Mapped[str | None] = mapped_column(Text)
    intro_filename: Mapped[str | None] = mapped_column(String(300))
    intro_duration_s: Mapped[float | None] = mapped_column(Float)
    outro_key: Mapped[str | None] = mapped_column(Text)
    outro_filename: Mapped[str | None] = mapped_column(String(300))
    outro_duration_s: Mapped[float | None] = mapped_column(Float)
    default_caption_style: Mapped[str | None] = mapped_column(String(20))
    default_aspect: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
