"""experiments that run themselves: rule settings, plan, stats, stop reason; clip thumbnails

Revision ID: 0006_experiments
Revises: 0005_analytics
Create Date: 2026-12-02 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006_experiments"
down_revision: str | None = "0005_analytics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("clips", sa.Column("thumb_at_s", sa.Float(), nullable=True))
    op.add_column(
        "experiments",
        sa.Column("threshold", sa.Float(), server_default="0.95", nullable=False),
    )
    op.add_column(
        "experiments", sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("experiments", sa.Column("stop_reason", sa.String(length=20), nullable=True))
    op.add_column(
        "experiments",
        sa.Column("auto_promote", sa.Boolean(), server_default="false", nullable=False),
    )
    for name in ("plan", "stats"):
        op.add_column(
            "experiments",
            sa.Column(
                name,
                postgresql.JSONB(astext_type=sa.Text()),
                server_default="{}",
                nullable=False,
            ),
        )
    op.add_column(
        "experiments", sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "experiments", sa.Column("promoted_at", sa.DateTime(timezone=True), nullable=True)
    )
    # The rule knows two metrics; older hand-filled experiments compared on views.
    op.execute(
        "UPDATE experiments SET metric = 'views' WHERE metric NOT IN ('views', 'engagement_rate')"
    )


def downgrade() -> None:
    for name in (
        "promoted_at",
        "evaluated_at",
        "stats",
        "plan",
        "auto_promote",
        "stop_reason",
        "deadline_at",
        "threshold",
    ):
        op.drop_column("experiments", name)
    op.drop_column("clips", "thumb_at_s")
