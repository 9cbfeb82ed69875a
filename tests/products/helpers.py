"""Helpers for the products tests: a premium workspace, rows read as the owner role."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from cliply.db.engine import get_engine
from tests.foundation.helpers import make_workspace, signup_login


def premium_workspace(client: TestClient) -> tuple[str, dict[str, str]]:
    """(workspace id, headers) of a new owner's workspace on the plan that has products."""
    owner = signup_login(client)
    ws = make_workspace(client, owner)
    with get_engine().begin() as conn:
        conn.execute(text("UPDATE workspaces SET plan = 'premium' WHERE id = :w"), {"w": ws["id"]})
    return ws["id"], owner.ws(ws["id"])


def rows(sql: str, **params: Any) -> list[dict[str, Any]]:
    with get_engine().begin() as conn:
        return [dict(r._mapping) for r in conn.execute(text(sql), params)]


def products_of(workspace_id: str | uuid.UUID) -> list[dict[str, Any]]:
    return rows(
        "SELECT name, sku, price_cents, currency, in_stock, source, url FROM products "
        "WHERE workspace_id = :w ORDER BY name",
        w=str(workspace_id),
    )
