"""Row-level security: unfiltered queries see only the current workspace; cross inserts fail."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from cliply.db.engine import get_sessionmaker, owner_session
from cliply.db.tenancy import enter_tenant
from cliply.projects.models import Project
from cliply.workspaces import service as ws_service

# Every test here needs the database (or a server process): integration tier.
pytestmark = pytest.mark.integration


def _setup():
    from cliply.auth import service as auth

    with owner_session() as db:
        a = auth.signup(db, f"a{uuid.uuid4().hex[:6]}@example.com", "password-123456")
        b = auth.signup(db, f"b{uuid.uuid4().hex[:6]}@example.com", "password-123456")
        wa = ws_service.create_workspace(db, a.id, "A")
        wb = ws_service.create_workspace(db, b.id, "B")
        for ws, user in ((wa, a), (wb, b)):
            db.add(
                Project(
                    workspace_id=ws.id,
                    created_by=user.id,
                    name=f"p-{ws.name}",
                    source_type="upload",
                )
            )
        return a.id, b.id, wa.id, wb.id


def test_unfiltered_query_sees_only_own_workspace(db_url):
    a, _b, wa, wb = _setup()
    with get_sessionmaker()() as db, db.begin():
        enter_tenant(db, role="cliply_app", workspace_id=wa, user_id=a)
        names = db.scalars(select(Project.name)).all()  # no WHERE on purpose
        assert names == ["p-A"]
        assert db.scalar(select(Project).where(Project.workspace_id == wb)) is None
        # The setting cleared to '' (as after RESET) must match nothing, not error.
        db.execute(text("SELECT set_config('app.workspace_id', '', true)"))
        assert db.scalars(select(Project.name)).all() == []


def test_insert_into_other_workspace_refused(db_url):
    a, _b, wa, wb = _setup()
    with get_sessionmaker()() as db:
        with pytest.raises(DBAPIError) as exc, db.begin():
            enter_tenant(db, role="cliply_app", workspace_id=wa, user_id=a)
            db.add(Project(workspace_id=wb, created_by=a, name="sneaky", source_type="upload"))
            db.flush()
        assert "row-level security" in str(exc.value)
    with owner_session() as db:
        assert db.scalar(select(Project).where(Project.name == "sneaky")) is None


def test_update_cannot_move_row_to_other_workspace(db_url):
    a, _b, wa, wb = _setup()
    with get_sessionmaker()() as db, pytest.raises(DBAPIError), db.begin():
        enter_tenant(db, role="cliply_app", workspace_id=wa, user_id=a)
        db.execute(text("UPDATE projects SET workspace_id = :wb"), {"wb": wb})
