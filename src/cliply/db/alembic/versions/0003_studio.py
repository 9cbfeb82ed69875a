"""Cliply Studio: browser sessions, password resets, project-event notifications

Revision ID: 0003_studio
Revises: 0001
Create Date: 2026-12-02 13:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_studio"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The project page's server-sent events are fed by these notifications (LISTEN in
# cliply.web.events); the payload is the project id. Fired only on visible changes so a
# heartbeat does not wake every open page.
NOTIFY_FUNCTION = """
CREATE OR REPLACE FUNCTION cliply_notify_project_event() RETURNS trigger AS $$
DECLARE pid uuid;
BEGIN
    IF TG_TABLE_NAME = 'projects' THEN pid := NEW.id; ELSE pid := NEW.project_id; END IF;
    IF pid IS NOT NULL THEN
        PERFORM pg_notify('cliply_project_events', pid::text);
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql
"""
TRIGGERS = [
    "CREATE TRIGGER jobs_notify_insert AFTER INSERT ON jobs FOR EACH ROW "
    "EXECUTE FUNCTION cliply_notify_project_event()",
    "CREATE TRIGGER jobs_notify_update AFTER UPDATE ON jobs FOR EACH ROW WHEN "
    "(OLD.status IS DISTINCT FROM NEW.status OR OLD.progress IS DISTINCT FROM NEW.progress "
    "OR OLD.progress_message IS DISTINCT FROM NEW.progress_message) "
    "EXECUTE FUNCTION cliply_notify_project_event()",
    "CREATE TRIGGER projects_notify_update AFTER UPDATE ON projects FOR EACH ROW WHEN "
    "(OLD.status IS DISTINCT FROM NEW.status OR OLD.progress IS DISTINCT FROM NEW.progress) "
    "EXECUTE FUNCTION cliply_notify_project_event()",
    "CREATE TRIGGER clips_notify AFTER INSERT OR UPDATE OF status ON clips FOR EACH ROW "
    "EXECUTE FUNCTION cliply_notify_project_event()",
]


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("current_workspace_id", sa.UUID(), nullable=True),
        sa.Column("user_agent", sa.String(length=300), server_default="", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "last_seen_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["current_workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_web_sessions_current_workspace_id_workspaces"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_web_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_web_sessions_token_hash")),
    )
    op.create_index(op.f("ix_web_sessions_user_id"), "web_sessions", ["user_id"], unique=False)
    op.create_table(
        "password_resets",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_password_resets_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_resets")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_password_resets_token_hash")),
    )
    op.create_index(
        op.f("ix_password_resets_user_id"), "password_resets", ["user_id"], unique=False
    )
    op.execute(NOTIFY_FUNCTION)
    for stmt in TRIGGERS:
        op.execute(stmt)


def downgrade() -> None:
    for name, table in [
        ("clips_notify", "clips"),
        ("projects_notify_update", "projects"),
        ("jobs_notify_update", "jobs"),
        ("jobs_notify_insert", "jobs"),
    ]:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    op.execute("DROP FUNCTION IF EXISTS cliply_notify_project_event()")
    op.drop_index(op.f("ix_password_resets_user_id"), table_name="password_resets")
    op.drop_table("password_resets")
    op.drop_index(op.f("ix_web_sessions_user_id"), table_name="web_sessions")
    op.drop_table("web_sessions")
