"""analytics detail: YouTube Analytics figures per snapshot, why a post is gone

Revision ID: 0007_analytics_detail
Revises: 0006_experiments
Create Date: 2026-12-02 16:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_analytics_detail"
down_revision: str | None = "0006_experiments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("post_metrics", sa.Column("avg_view_duration_s", sa.Float(), nullable=True))
    op.add_column("post_metrics", sa.Column("avg_view_percentage", sa.Float(), nullable=True))
    op.add_column("post_metrics", sa.Column("subscribers_gained", sa.BigInteger(), nullable=True))
    op.add_column("post_metric_states", sa.Column("gone_reason", sa.String(20), nullable=True))
    op.add_column("posts", sa.Column("gone_reason", sa.String(20), nullable=True))


def downgrade() -> None:
    op.drop_column("posts", "gone_reason")
    op.drop_column("post_metric_states", "gone_reason")
    op.drop_column("post_metrics", "subscribers_gained")
    op.drop_column("post_metrics", "avg_view_percentage")
    op.drop_column("post_metrics", "avg_view_duration_s")
