"""analytics: collector state per post, platform quota per day, fitted score weights,
posts.gone_at

Revision ID: 0005_analytics
Revises: 0004_editor
Create Date: 2026-12-02 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005_analytics"
down_revision: str | None = "0004_editor"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = ["post_metric_states", "score_weights"]
# Inlined (migrations import no Cliply code): the tenant policy of cliply.db.tenancy.
WS = "nullif(current_setting('app.workspace_id', true), '')::uuid"


def upgrade() -> None:
    op.add_column("posts", sa.Column("gone_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "post_metric_states",
        sa.Column("post_id", sa.UUID(), nullable=False),
        sa.Column("workspace_id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("last_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checks", sa.Integer(), server_default="0", nullable=False),
        sa.Column("gone_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["connected_accounts.id"],
            name=op.f("fk_post_metric_states_account_id_connected_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name=op.f("fk_post_metric_states_post_id_posts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_post_metric_states_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("post_id", name=op.f("pk_post_metric_states")),
    )
    op.create_index(
        op.f("ix_post_metric_states_account_id"),
        "post_metric_states",
        ["account_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_post_metric_states_workspace_id"),
        "post_metric_states",
        ["workspace_id"],
        unique=False,
    )
    op.create_table(
        "platform_quota_usage",
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("units", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("calls", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("platform", "day", name=op.f("pk_platform_quota_usage")),
    )
    op.create_table(
        "score_weights",
        sa.Column("workspace_id", sa.UUID(), nullable=False),
        sa.Column(
            "weights",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("sample_size", sa.Integer(), server_default="0", nullable=False),
        sa.Column("fitted_corr", sa.Float(), nullable=True),
        sa.Column("default_corr", sa.Float(), nullable=True),
        sa.Column(
            "fitted_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_score_weights_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_score_weights")),
    )
    for table in TENANT_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} USING (workspace_id = {WS}) "
            f"WITH CHECK (workspace_id = {WS})"
        )
    # The collector's lookups: a post's latest snapshot.
    op.create_index(
        "ix_post_metrics_post_id_collected_at",
        "post_metrics",
        ["post_id", "collected_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_post_metrics_post_id_collected_at", table_name="post_metrics")
    for table in TENANT_TABLES:
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
    op.drop_table("score_weights")
    op.drop_table("platform_quota_usage")
    op.drop_index(op.f("ix_post_metric_states_workspace_id"), table_name="post_metric_states")
    op.drop_index(op.f("ix_post_metric_states_account_id"), table_name="post_metric_states")
    op.drop_table("post_metric_states")
    op.drop_column("posts", "gone_at")
