"""layouts: clips.layouts, the reframe layout of each segment of the render

Revision ID: 0011_layouts
Revises: 0010_brand
Create Date: 2026-12-02 20:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011_layouts"
down_revision: str | None = "0010_brand"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "clips", sa.Column("layouts", postgresql.JSONB(astext_type=sa.Text()), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("clips", "layouts")
