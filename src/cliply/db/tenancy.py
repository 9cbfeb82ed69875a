"""Row-level security: the restricted role and the per-transaction workspace setting.

Policies compare each row's workspace_id with `app.workspace_id`, read with
`nullif(current_setting('app.workspace_id', true), '')` because after RESET the setting reads
as '' rather than NULL. API requests `SET LOCAL ROLE` to a role without BYPASSRLS; the table
owner (workers, webhooks) is not subject to the policies. The role and the policies are
created by the migrations (db/alembic/versions), which carry their own SQL.
"""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.orm import Session


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
