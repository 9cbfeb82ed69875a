"""No 500 on any input: NUL, lone surrogates, huge integers, NaN, explicit nulls, big bodies.

Every case here answered 500 (psycopg DataError / NotNullViolation / NumericValueOutOfRange)
or 400 before; each must now be a 4xx problem+json.
"""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from sqlalchemy import text

from cliply.db.engine import get_engine
from tests.foundation.helpers import Account, make_workspace, signup_login

# Every test here needs the database (or a server process): integration tier.
pytestmark = pytest.mark.integration

NUL = "a\u0000b"


def _premium(client) -> tuple[Account, dict[str, str]]:
    owner = signup_login(client)
    ws = make_workspace(client, owner)
    with get_engine().begin() as conn:
        conn.execute(text("UPDATE workspaces SET plan = 'premium' WHERE id = :w"), {"w": ws["id"]})
    return owner, owner.ws(ws["id"])


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


def _is_problem(r: httpx.Response, status: int) -> None:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    assert r.json()["status"] == status


def test_nul_in_body_text_fields_is_422(client) -> None:
    r = client.post(
        "/api/v1/auth/signup",
        json={"email": "nul@example.com", "password": "correct horse battery", "name": NUL},
    )
    _is_problem(r, 422)
    owner, h = _premium(client)
    _is_problem(client.post("/api/v1/workspaces", json={"name": NUL}, headers=owner.h), 422)
    ws_id = h["X-Workspace-ID"]
    _is_problem(client.patch(f"/api/v1/workspaces/{ws_id}", json={"name": NUL}, headers=h), 422)
    _is_problem(client.post("/api/v1/api-keys", json={"name": NUL}, headers=owner.h), 422)
    _is_problem(client.post("/api/v1/products", json={"name": NUL}, headers=h), 422)
    prod = client.post("/api/v1/products", json={"name": "Mug"}, headers=h)
    assert prod.status_code == 201, prod.text
    pid = prod.json()["id"]
    _is_problem(client.patch(f"/api/v1/products/{pid}", json={"name": NUL}, headers=h), 422)
    _is_problem(client.patch(f"/api/v1/products/{pid}", json={"sku": NUL}, headers=h), 422)


def test_nul_nested_in_json_and_lone_surrogates_are_422(client) -> None:
    owner, h = _premium(client)
    clip = _clip(h["X-Workspace-ID"])
    # NUL in a key of a free-form object (stored as jsonb): refused, not a DataError.
    body = {
        "clip_id": clip,
        "name": "hooks",
        "variants": [{"label": "A", "changes": {"ti\u0000tle": 1}}, {"label": "B"}],
    }
    _is_problem(client.post("/api/v1/experiments", json=body, headers=h), 422)
    # A lone surrogate is valid JSON but not UTF-8: PostgreSQL cannot store it.
    raw = b'{"name": "x\\ud800y"}'
    r = client.post(
        "/api/v1/workspaces",
        content=raw,
        headers={**owner.h, "Content-Type": "application/json"},
    )
    _is_problem(r, 422)


@pytest.mark.parametrize(
    "path", ["/api/v1/jobs?kind=%00", "/api/v1/accounts?status=%00", "/api/v1/posts?platform=a%00"]
)
def test_nul_in_query_parameters_is_422(client, path: str) -> None:
    _owner, h = _premium(client)
    _is_problem(client.get(path, headers=h), 422)


@pytest.mark.parametrize("price", [2**31, 2**63, 10**40, -1])
def test_integers_beyond_the_column_are_422(client, price: int) -> None:
    _owner, h = _premium(client)
    r = client.post("/api/v1/products", json={"name": "Mug", "price_cents": price}, headers=h)
    _is_problem(r, 422)


def test_integer_query_parameter_beyond_the_column_is_422(client) -> None:
    _owner, h = _premium(client)
    clip = _clip(h["X-Workspace-ID"])
    pid = client.post("/api/v1/products", json={"name": "Mug"}, headers=h).json()["id"]
    r = client.put(f"/api/v1/clips/{clip}/products/{pid}?position={2**63}", headers=h)
    _is_problem(r, 422)


def test_nan_and_infinity_are_422(client) -> None:
    _owner, h = _premium(client)
    clip = _clip(h["X-Workspace-ID"])
    for raw in (b'{"start": NaN}', b'{"end": Infinity}'):
        r = client.patch(
            f"/api/v1/clips/{clip}",
            content=raw,
            headers={**h, "Content-Type": "application/json"},
        )
        _is_problem(r, 422)


@pytest.mark.parametrize("field", ["name", "currency"])
def test_patch_null_on_a_not_null_column_is_422(client, field: str) -> None:
    _owner, h = _premium(client)
    pid = client.post("/api/v1/products", json={"name": "Mug"}, headers=h).json()["id"]
    _is_problem(client.patch(f"/api/v1/products/{pid}", json={field: None}, headers=h), 422)
    # Left out: unchanged; a nullable column still takes null.
    r = client.patch(f"/api/v1/products/{pid}", json={"sku": None}, headers=h)
    assert r.status_code == 200 and r.json()["name"] == "Mug", r.text


def test_patch_null_on_workspace_name_is_422(client) -> None:
    _owner, h = _premium(client)
    ws_id = h["X-Workspace-ID"]
    _is_problem(client.patch(f"/api/v1/workspaces/{ws_id}", json={"name": None}, headers=h), 422)


def test_openapi_says_patch_fields_are_not_nullable(client) -> None:
    spec = client.get("/api/openapi.json").json()
    props = spec["components"]["schemas"]["ProductPatch"]["properties"]
    assert props["name"]["type"] == "string" and "anyOf" not in props["name"]
    assert "anyOf" in props["sku"]  # nullable column: null allowed


def test_chunked_json_body_over_the_cap_is_413_like_a_sized_one(client) -> None:
    owner = signup_login(client)
    big = json.dumps({"name": "x" * (10 * 1024 * 1024)}).encode()
    sized = client.post(
        "/api/v1/workspaces", content=big, headers={**owner.h, "Content-Type": "application/json"}
    )
    _is_problem(sized, 413)

    def chunks():
        for i in range(0, len(big), 64 * 1024):
            yield big[i : i + 64 * 1024]

    chunked = client.post(
        "/api/v1/workspaces",
        content=chunks(),
        headers={**owner.h, "Content-Type": "application/json"},
    )
    _is_problem(chunked, 413)
    # A small chunked body still works.
    small = json.dumps({"name": "Team"}).encode()
    ok = client.post(
        "/api/v1/workspaces",
        content=iter([small[:5], small[5:]]),
        headers={**owner.h, "Content-Type": "application/json"},
    )
    assert ok.status_code == 201, ok.text


def test_delete_of_a_link_that_is_not_there_is_404(client) -> None:
    _owner, h = _premium(client)
    clip = _clip(h["X-Workspace-ID"])
    pid = client.post("/api/v1/products", json={"name": "Mug"}, headers=h).json()["id"]
    path = f"/api/v1/clips/{clip}/products/{pid}"
    _is_problem(client.delete(path, headers=h), 404)  # not linked
    assert client.put(path, headers=h).status_code == 204
    # Another workspace's ids, and random ids: 404, and the link stays.
    _other, oh = _premium(client)
    _is_problem(client.delete(path, headers=oh), 404)
    _is_problem(client.delete(f"/api/v1/clips/{uuid.uuid4()}/products/{pid}", headers=h), 404)
    _is_problem(client.delete(f"/api/v1/clips/{clip}/products/{uuid.uuid4()}", headers=h), 404)
    assert [
        p["id"] for p in client.get(f"/api/v1/clips/{clip}/products", headers=h).json()["items"]
    ] == [pid]
    assert client.delete(path, headers=h).status_code == 204
    _is_problem(client.delete(path, headers=h), 404)  # already gone
