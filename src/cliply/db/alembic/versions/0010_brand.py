"""brand: brand_kits (one per workspace: caption font, colours, position and size, logo
overlay, intro/outro clips, default caption style and aspect)

Revision ID: 0010_brand
Revises: 0009_captionfx
Create Date: 2026-12-02 20:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_brand"
down_revision: str | None = "0009_captionfx"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Inlined (migrations import no Cliply code): the tenant policy of cliply.db.tenancy.
WS = "nullif(current_setting('app.workspace_id', true), '')::uuid"


def upgrade() -> None:
    op.create_table(
        "brand_kits",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("workspace_id", sa.UUID(), nullable=False),
        sa.Column("caption_color", sa.String(length=7), nullable=True),
        sa.Column("caption_active_color", sa.String(length=7), nullable=True),
        sa.Column("caption_outline_color", sa.String(length=7), nullable=True),
        sa.Column("caption_position", sa.String(length=10), nullable=True),
        sa.Column("caption_position_y", sa.Float(), nullable=True),
        sa.Column("caption_size", sa.Float(), nullable=True),
        sa.Column("font_key", sa.Text(), nullable=True),
        sa.Column("font_family", sa.String(length=200), nullable=True),
        sa.Column("font_filename", sa.String(length=300), nullable=True),
        sa.Column("logo_key", sa.Text(), nullable=True),
        sa.Column("logo_filename", sa.String(length=300), nullable=True),
        sa.Column("logo_width", sa.Integer(), nullable=True),
        sa.Column("logo_height", sa.Integer(), nullable=True),
        sa.Column("logo_corner", sa.String(length=12), server_default="top-right", nullable=False),
        sa.Column("logo_opacity", sa.Float(), server_default="1.0", nullable=False),
        sa.Column("logo_scale", sa.Float(), server_default="0.18", nullable=False),
        sa.Column("intro_key", sa.Text(), nullable=True),
        sa.Column("intro_filename", sa.String(length=300), nullable=True),
        sa.Column("intro_duration_s", sa.Float(), nullable=True),
        sa.Column("outro_key", sa.Text(), nullable=True),
        sa.Column("outro_filename", sa.String(length=300), nullable=True),
        sa.Column("outro_duration_s", sa.Float(), nullable=True),
        sa.Column("default_caption_style", sa.String(length=20), nullable=True),
        sa.Column("default_aspect", sa.String(length=8), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_brand_kits_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_brand_kits")),
        sa.UniqueConstraint("workspace_id", name=op.f("uq_brand_kits_workspace_id")),
    )
    op.execute("ALTER TABLE brand_kits ENABLE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON brand_kits USING (workspace_id = {WS}) "
        f"WITH CHECK (workspace_id = {WS})"
    )


def downgrade() -> None:
    op.execute("DROP POLICY IF EXISTS tenant_isolation ON brand_kits")
    op.drop_table("brand_kits")
