"""Experiments and products: gated by plan, scoped by workspace (experiments in depth:
test_experiments_api.py)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from cliply.db.engine import get_engine
from tests.foundation.helpers import add_member, make_workspace, signup_login

# Every test here needs the database (or a server process): integration tier.
pytestmark = pytest.mark.integration


def _set_plan(ws_id: str, plan: str) -> None:
    with get_engine().begin() as conn:
        conn.execute(text("UPDATE workspaces SET plan = :p WHERE id = :w"), {"p": plan, "w": ws_id})


def _clip(ws_id: str) -> str:
    with get_engine().begin() as conn:
        pid = conn.execute(
            text(
                "INSERT INTO projects (workspace_id, name, source_type) "
                "VALUES (:w, 'p', 'upload') RETURNING id"
            ),
            {"w": ws_id},
        ).scalar_one()
        return str(
            conn.execute(
                text(
                    "INSERT INTO clips (workspace_id, project_id, start_s, end_s) "
                    "VALUES (:w, :p, 0, 30) RETURNING id"
                ),
                {"w": ws_id, "p": pid},
            ).scalar_one()
        )


def _post_with_views(ws_id: str, clip_id: str, views: int) -> str:
    with get_engine().begin() as conn:
        post = conn.execute(
            text(
                "INSERT INTO posts (workspace_id, clip_id, platform, status) "
                "VALUES (:w, :c, 'tiktok', 'published') RETURNING id"
            ),
            {"w": ws_id, "c": clip_id},
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO post_metrics (workspace_id, post_id, views, collected_at) "
                "VALUES (:w, :p, 1, now() - interval '1 hour'), (:w, :p, :v, now())"
            ),
            {"w": ws_id, "p": post, "v": views},
        )
        return str(post)


def test_experiments_need_a_plan_with_the_feature(client):
    owner = signup_login(client)
    ws = make_workspace(client, owner)
    clip = _clip(ws["id"])
    body = {"clip_id": clip, "name": "hooks", "variants": [{"label": "A"}, {"label": "B"}]}
    r = client.post("/api/v1/experiments", json=body, headers=owner.ws(ws["id"]))
    assert r.status_code == 402
    assert r.json()["type"].endswith("/plan-feature-unavailable")
    assert r.json()["upgrade_to"] == "pro"


def test_products_gated_scoped_and_linked(client):
    owner = signup_login(client)
    ws = make_workspace(client, owner)
    h = owner.ws(ws["id"])
    body = {"name": "Mug", "url": "https://shop.example.com/mug", "price_cents": 1500}
    assert client.post("/api/v1/products", json=body, headers=h).status_code == 402
    _set_plan(ws["id"], "premium")
    viewer = add_member(client, owner, ws["id"], "viewer")
    assert (
        client.post("/api/v1/products", json=body, headers=viewer.ws(ws["id"])).status_code == 403
    )
    prod = client.post("/api/v1/products", json=body, headers=h).json()
    clip = _clip(ws["id"])
    assert client.put(f"/api/v1/clips/{clip}/products/{prod['id']}", headers=h).status_code == 204
    assert [
        p["name"] for p in client.get(f"/api/v1/clips/{clip}/products", headers=h).json()["items"]
    ] == ["Mug"]
    # Another workspace cannot see or link it.
    other = signup_login(client)
    ows = make_workspace(client, other)
    _set_plan(ows["id"], "premium")
    oh = other.ws(ows["id"])
    assert client.get(f"/api/v1/products/{prod['id']}", headers=oh).status_code == 404
    assert client.put(f"/api/v1/clips/{clip}/products/{prod['id']}", headers=oh).status_code == 404
    assert client.get(f"/api/v1/products/{uuid.uuid4()}", headers=h).status_code == 404
    bad = client.post("/api/v1/products", json={"name": "x", "currency": "usd"}, headers=h)
    assert bad.status_code == 422
