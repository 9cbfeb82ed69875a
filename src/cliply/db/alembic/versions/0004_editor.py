"""clip editor: caption word fixes and the title overlay

Revision ID: 0004_editor
Revises: 0003_studio
Create Date: 2026-12-02 13:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_editor"
down_revision: str | None = "0003_studio"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "clips",
        sa.Column(
            "caption_edits",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
    )
    op.add_column(
        "clips",
        sa.Column("title_overlay", sa.Boolean(), server_default="false", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("clips", "title_overlay")
    op.drop_column("clips", "caption_edits")
