"""The catalog API: add by hand, CSV import (dry run, per-row errors, all or nothing, SKU
updates), Shopify import through the fake store, and the SSRF refusal of the store URL."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from tests.fakes.server import RunningServer
from tests.fakes.shopify import FakeShopify
from tests.foundation.helpers import add_member, make_workspace, signup_login
from tests.products.helpers import premium_workspace, products_of, rows
from tests.publishing.helpers import set_plan

# Every test here needs the database (or a server process): integration tier.
pytestmark = pytest.mark.integration

GOOD = """name,url,sku,price,currency,in_stock
Mug,https://shop.example.com/mug,MUG-1,15.00,USD,yes
Tote Bag,https://shop.example.com/tote,TOTE-1,22.5,,no
"""

BAD = """Title,Link,SKU,Price,Colour
Mug,https://shop.example.com/mug,MUG-1,15.00,blue
,https://shop.example.com/nameless,X-1,3.00,red
Cap,not a url,CAP-1,abc,green
Hoodie,https://shop.example.com/hoodie,MUG-1,49,grey
"""


def test_csv_dry_run_previews_and_writes_nothing(client: TestClient) -> None:
    ws, h = premium_workspace(client)
    r = client.post("/api/v1/products/import/csv", json={"csv": GOOD, "dry_run": True}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["ok"], body["created"], body["updated"], body["errors"]) == (True, 2, 0, [])
    assert [(x["row"], x["name"], x["price_cents"], x["in_stock"]) for x in body["rows"]] == [
        (2, "Mug", 1500, True),
        (3, "Tote Bag", 2250, False),
    ]
    assert products_of(ws) == []


def test_csv_with_bad_rows_reports_each_and_imports_nothing(client: TestClient) -> None:
    ws, h = premium_workspace(client)
    preview = client.post(
        "/api/v1/products/import/csv", json={"csv": BAD, "dry_run": True}, headers=h
    ).json()
    assert preview["ok"] is False and preview["ignored_columns"] == ["Colour"]
    errors = {(e["row"], e["column"]) for e in preview["errors"]}
    assert errors == {(3, "name"), (4, "url"), (4, "price"), (5, "sku")}
    r = client.post("/api/v1/products/import/csv", json={"csv": BAD}, headers=h)
    assert r.status_code == 422
    problem = r.json()
    assert problem["type"].endswith("/csv-invalid")
    assert "nothing was imported" in problem["detail"]
    assert {(e["row"], e["column"]) for e in problem["row_errors"]} == errors
    dup = next(e for e in problem["row_errors"] if e["column"] == "sku")
    assert dup["message"] == "SKU MUG-1 is already on line 2."
    assert products_of(ws) == []  # the good row (Mug) was not imported either


def test_csv_import_creates_then_updates_by_sku(client: TestClient) -> None:
    ws, h = premium_workspace(client)
    r = client.post("/api/v1/products/import/csv", json={"csv": GOOD, "currency": "EUR"}, headers=h)
    assert r.status_code == 200, r.text
    assert (r.json()["created"], r.json()["updated"]) == (2, 0)
    assert [(p["name"], p["currency"], p["in_stock"], p["source"]) for p in products_of(ws)] == [
        ("Mug", "USD", True, "csv"),
        ("Tote Bag", "EUR", False, "csv"),
    ]
    again = "name,sku,price\nBig Mug,MUG-1,17.50\n"
    r = client.post("/api/v1/products/import/csv", json={"csv": again}, headers=h)
    assert (r.json()["created"], r.json()["updated"]) == (0, 1)
    assert [(p["name"], p["price_cents"]) for p in products_of(ws)] == [
        ("Big Mug", 1750),
        ("Tote Bag", 2250),
    ]


def test_csv_edge_cases_are_422_or_reported_never_500(client: TestClient) -> None:
    _, h = premium_workspace(client)
    for data in ("\ufeffname\n", 'name\n"unclosed\n', "sku,price\nA,1\n", "name\n\x01\n"):
        r = client.post("/api/v1/products/import/csv", json={"csv": data}, headers=h)
        assert r.status_code == 422, (data, r.text)
    r = client.post("/api/v1/products/import/csv", json={"csv": "a\u0000b"}, headers=h)
    assert r.status_code == 422


def test_products_by_hand_and_viewer_cannot_import(client: TestClient) -> None:
    owner = signup_login(client)
    ws = make_workspace(client, owner)["id"]
    set_plan(uuid.UUID(ws), "premium")
    h = owner.ws(ws)
    r = client.post(
        "/api/v1/products",
        json={"name": "Mug", "url": "https://shop.example.com/mug", "in_stock": False},
        headers=h,
    )
    assert r.status_code == 201 and r.json()["in_stock"] is False
    pid = r.json()["id"]
    r = client.patch(
        f"/api/v1/products/{pid}", json={"in_stock": True, "price_cents": 900}, headers=h
    )
    assert (r.json()["in_stock"], r.json()["price_cents"]) == (True, 900)
    assert (
        client.patch(f"/api/v1/products/{pid}", json={"in_stock": None}, headers=h).status_code
        == 422
    )
    page = client.get("/api/v1/products?in_stock=true&limit=1", headers=h).json()
    assert [p["name"] for p in page["items"]] == ["Mug"] and page["next_cursor"] is None
    acts = client.get("/api/v1/products/actions", headers=h).json()["items"]
    assert [(a["kind"], a["status"], a["reason"]) for a in acts] == [
        ("back_in_stock", "done", "Marked in stock by hand.")
    ]
    viewer = add_member(client, owner, ws, "viewer")
    r = client.post("/api/v1/products/import/csv", json={"csv": GOOD}, headers=viewer.ws(ws))
    assert r.status_code == 403
    assert client.get("/api/v1/products", headers=viewer.ws(ws)).status_code == 200


def test_shopify_import_through_the_fake_store(
    client: TestClient, store: RunningServer, shop: FakeShopify
) -> None:
    ws, h = premium_workspace(client)
    shop.rate_limit_next(1, retry_after="0")
    body = {"store_url": store.base_url, "currency": "EUR"}
    r = client.post("/api/v1/products/import/shopify", json=body, headers=h)
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["store_url"], out["created"], out["updated"], out["out_of_stock"]) == (
        store.base_url,
        5,
        0,
        1,
    )
    got = {p["name"]: p for p in products_of(ws)}
    assert got["Cap"]["in_stock"] is False and got["Mug"]["price_cents"] == 1500
    assert got["Mug"]["currency"] == "EUR" and got["Mug"]["source"] == "shopify"
    # Importing again updates in place (one product per store id), nothing doubled.
    shop.find(1)["variants"][0]["price"] = "16.00"
    r = client.post("/api/v1/products/import/shopify", json=body, headers=h)
    assert (r.json()["created"], r.json()["updated"]) == (0, 5)
    assert len(products_of(ws)) == 5
    assert rows("SELECT kind FROM dropshipping_actions WHERE workspace_id = :w", w=ws) == [
        {"kind": "price_changed"}
    ]


def test_shopify_store_url_goes_through_the_ssrf_guard(
    client: TestClient, store: RunningServer, shop: FakeShopify, tripwire: list[str], monkeypatch
) -> None:

    from tests.conftest import reset_caches

    monkeypatch.setenv("URL_INGEST_ALLOW_LOOPBACK", "false")
    reset_caches()
    _, h = premium_workspace(client)
    for url, code in (
        (store.base_url, "url-private-address"),
        ("http://169.254.169.254", "url-metadata-address"),
        ("http://192.168.1.10", "url-private-address"),
        ("gopher://shop.example.com", "url-scheme"),
    ):
        r = client.post("/api/v1/products/import/shopify", json={"store_url": url}, headers=h)
        assert r.status_code == 422 and r.json()["type"].endswith(f"/{code}"), r.text
    assert shop.requests == [] and tripwire == []
