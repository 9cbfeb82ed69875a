"""products: stock and source columns, short_links + link_clicks (tracked links), the public
short-link lookup function, dropshipping action reason and schedules touched, paused schedules

Revision ID: 0008_products
Revises: 0007_analytics_detail
Create Date: 2026-12-02 16:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

revision: str = "0008_products"
down_revision: str | None = "0007_analytics_detail"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = ["short_links", "link_clicks"]
# Inlined (migrations import no Cliply code): the tenant policy of cliply.db.tenancy.
WS = "nullif(current_setting('app.workspace_id', true), '')::uuid"

# The public redirect runs as the restricted role with no workspace set, so row-level security
# hides every short link from it. This function (owned by the table owner, so not subject to
# the policies) answers exactly one link by its unguessable code, and only what a redirect
# needs: no listing, no other workspace's rows. `post_id` is the schedule's post once it exists
# (posts.schedule_id is unique).
RESOLVE_FN = """
CREATE OR REPLACE FUNCTION cliply_resolve_short_link(p_code text)
RETURNS TABLE (
    link_id uuid, workspace_id uuid, product_id uuid, clip_id uuid, schedule_id uuid,
    post_id uuid, platform text, url text
)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT l.id, l.workspace_id, l.product_id, l.clip_id, l.schedule_id, p.id, l.platform, pr.url
    FROM short_links l
    JOIN products pr ON pr.id = l.product_id
    LEFT JOIN posts p ON p.schedule_id = l.schedule_id
    WHERE l.code = p_code
$$
"""


def _app_role() -> str:
    # Deployment configuration (DATABASE_APP_ROLE), handed over by env.py.
    return str(context.config.attributes.get("app_role", "cliply_app"))


def upgrade() -> None:
    op.add_column(
        "products",
        sa.Column("in_stock", sa.Boolean(), server_default=sa.text("true"), nullable=False),
    )
    op.add_column(
        "products",
        sa.Column("source", sa.String(length=20), server_default="manual", nullable=False),
    )
    op.add_column("products", sa.Column("source_url", sa.Text(), nullable=True))
    op.add_column("products", sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("products", sa.Column("sync_error", sa.Text(), nullable=True))
    op.create_index(
        "uq_products_workspace_id_external_id",
        "products",
        ["workspace_id", "external_id"],
        unique=True,
        postgresql_where=sa.text("external_id IS NOT NULL"),
    )
    op.add_column("dropshipping_actions", sa.Column("reason", sa.Text(), nullable=True))
    op.add_column(
        "dropshipping_actions",
        sa.Column("schedule_ids", postgresql.ARRAY(sa.UUID()), server_default="{}", nullable=False),
    )
    op.add_column("schedules", sa.Column("paused_reason", sa.String(length=50), nullable=True))

    op.create_table(
        "short_links",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("workspace_id", sa.UUID(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("product_id", sa.UUID(), nullable=False),
        sa.Column("clip_id", sa.UUID(), nullable=True),
        sa.Column("schedule_id", sa.UUID(), nullable=True),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["clip_id"], ["clips.id"], name=op.f("fk_short_links_clip_id_clips"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_short_links_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["schedules.id"],
            name=op.f("fk_short_links_schedule_id_schedules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_short_links_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_short_links")),
        sa.UniqueConstraint("code", name=op.f("uq_short_links_code")),
    )
    op.create_index(op.f("ix_short_links_product_id"), "short_links", ["product_id"])
    op.create_index(op.f("ix_short_links_schedule_id"), "short_links", ["schedule_id"])
    op.create_index(op.f("ix_short_links_workspace_id"), "short_links", ["workspace_id"])

    op.create_table(
        "link_clicks",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("workspace_id", sa.UUID(), nullable=False),
        sa.Column("link_id", sa.UUID(), nullable=False),
        sa.Column("product_id", sa.UUID(), nullable=False),
        sa.Column("clip_id", sa.UUID(), nullable=True),
        sa.Column("post_id", sa.UUID(), nullable=True),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column(
            "clicked_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("ua_class", sa.String(length=16), nullable=False),
        sa.Column("is_bot", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.ForeignKeyConstraint(
            ["clip_id"], ["clips.id"], name=op.f("fk_link_clicks_clip_id_clips"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["short_links.id"],
            name=op.f("fk_link_clicks_link_id_short_links"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name=op.f("fk_link_clicks_post_id_posts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_link_clicks_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_link_clicks_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_clicks")),
    )
    op.create_index(op.f("ix_link_clicks_clip_id"), "link_clicks", ["clip_id"])
    op.create_index(op.f("ix_link_clicks_link_id"), "link_clicks", ["link_id"])
    op.create_index(op.f("ix_link_clicks_post_id"), "link_clicks", ["post_id"])
    op.create_index(op.f("ix_link_clicks_workspace_id"), "link_clicks", ["workspace_id"])
    op.create_index(
        "ix_link_clicks_product_id_clicked_at", "link_clicks", ["product_id", "clicked_at"]
    )
    for table in TENANT_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} USING (workspace_id = {WS}) "
            f"WITH CHECK (workspace_id = {WS})"
        )
    op.execute(RESOLVE_FN)
    op.execute("REVOKE ALL ON FUNCTION cliply_resolve_short_link(text) FROM PUBLIC")
    op.execute(f'GRANT EXECUTE ON FUNCTION cliply_resolve_short_link(text) TO "{_app_role()}"')


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS cliply_resolve_short_link(text)")
    for table in TENANT_TABLES:
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
    op.drop_table("link_clicks")
    op.drop_table("short_links")
    op.drop_column("schedules", "paused_reason")
    op.drop_column("dropshipping_actions", "schedule_ids")
    op.drop_column("dropshipping_actions", "reason")
    op.drop_index("uq_products_workspace_id_external_id", table_name="products")
    for col in ("sync_error", "synced_at", "source_url", "source", "in_stock"):
        op.drop_column("products", col)
