"""caption effects and jump cuts per clip, and the seconds the cuts removed

Revision ID: 0009_captionfx
Revises: 0008_products
Create Date: 2026-12-02 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009_captionfx"
down_revision: str | None = "0008_products"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "clips",
        sa.Column(
            "caption_fx",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
    )
    op.add_column("clips", sa.Column("seconds_removed", sa.Float(), nullable=True))


def downgrade() -> None:
    op.drop_column("clips", "seconds_removed")
    op.drop_column("clips", "caption_fx")
