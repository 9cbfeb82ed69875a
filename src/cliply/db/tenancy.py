"""Row-level security: the restricted role and the per-transaction workspace setting.

Policies compare each row's workspace_id with `app.workspace_id`, read with
`nullif(current_setting('app.workspace_id', true), '')` because after RESET the setting reads
as '' rather than NULL. API requests `SET LOCAL ROLE` to a role without BYPASSRLS; the table
owner (workers, webhooks) is not subject to the policies.
"""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.orm import Session

WS = "nullif(current_setting('app.workspace_id', true), '')::uuid"
USER = "nullif(current_setting('app.user_id', true), '')::uuid"


def enter_tenant(
    session: Session, *, role: str, workspace_id: uuid.UUID | None, user_id: uuid.UUID | None
) -> None:
    """Make the rest of this transaction run as `role`, scoped to one workspace."""
    session.execute(text(f'SET LOCAL ROLE "{role}"'))
    session.execute(
        text(
            "SELECT set_config('app.workspace_id', :ws, true), set_config('app.user_id', :u, true)"
        ),
        {"ws": str(workspace_id) if workspace_id else "", "u": str(user_id) if user_id else ""},
    )


def policy_sql(table: str) -> list[str]:
    """The statements that put one tenant table under row-level security."""
    if table == "workspace_members":
        using = f"workspace_id = {WS} OR user_id = {USER}"
    else:
        using = f"workspace_id = {WS}"
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON {table} USING ({using}) WITH CHECK (workspace_id = {WS})",
    ]


def workspaces_policy_sql() -> list[str]:
    # A member sees the workspaces they belong to; writes only to the current one.
    return [
        "ALTER TABLE workspaces ENABLE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON workspaces USING (id = {WS} OR id IN "
        f"(SELECT workspace_id FROM workspace_members WHERE user_id = {USER})) "
        f"WITH CHECK (id = {WS})",
    ]


def app_role_sql(role: str) -> list[str]:
    return [
        f"""DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
                CREATE ROLE "{role}" NOLOGIN NOBYPASSRLS;
            END IF;
        END $$""",
        f'GRANT "{role}" TO CURRENT_USER',
        f'GRANT USAGE ON SCHEMA public TO "{role}"',
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"',
        f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"',
        f'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "{role}"',
        f'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO "{role}"',
    ]
