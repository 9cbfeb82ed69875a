"""Post performance snapshots collected from the platforms."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from cliply.db.base import Base, created_at, uuid_pk, workspace_fk


class PostMetric(Base):
    __tablename__ = "post_metrics"

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = workspace_fk()
    post_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), index=True
    )
    collected_at: Mapped[datetime] = created_at()
    views: Mapped[int] = mapped_column(BigInteger, server_default="0")
    likes: Mapped[int] = mapped_column(BigInteger, server_default="0")
    comments: Mapped[int] = mapped_column(BigInteger, server_default="0")
    shares: Mapped[int] = mapped_column(BigInteger, server_default="0")
    watch_time_s: Mapped[float] = mapped_column(Float, server_default="0")
    data: Mapped[dict[str, Any]] = mapped_column(server_default="{}")
