"""Products in Cliply Studio, in Debian's chromium against a real `cliply serve`: add and edit
a product by hand, a CSV whose bad rows are shown line by line (nothing imported) then a good
one imported after its preview, a Shopify store imported from the fake store, products
linked to and unlinked from a clip on its page, and the clicks shown in the catalog."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from cliply.clips.models import Clip
from cliply.projects.models import Project
from tests.web import seed
from tests.web.conftest import check_page

pytestmark = pytest.mark.integration

BAD_CSV = (
    "name,url,price\nRolling Pin,https://shop.example.com/pin,abc\n,https://shop.example.com/x,3\n"
)
GOOD_CSV = (
    "name,url,sku,price,in_stock\n"
    "Rolling Pin,https://shop.example.com/pin,PIN-1,12.00,yes\n"
    "Flour Sack,https://shop.example.com/flour,FLOUR-1,4.50,no\n"
)


def _clip(studio: Any, ws: uuid.UUID) -> uuid.UUID:
    with seed._session(studio) as db, db.begin():
        project = Project(workspace_id=ws, name="Bread talk", source_type="upload", status="ready")
        db.add(project)
        db.flush()
        clip = Clip(
            workspace_id=ws,
            project_id=project.id,
            start_s=0,
            end_s=20,
            title="Why bread rises",
            status="ready",
        )
        db.add(clip)
        db.flush()
        return clip.id


def _row(page: Any, name: str) -> Any:
    return page.locator("#products-table tbody tr", has_text=name)


def test_catalog_imports_links_and_clicks(
    page: Any, studio: Any, studio_user: str, fake_shop: Any, console_errors: Any
) -> None:
    ws = seed.workspace_of(studio, studio_user)
    page.goto("/products")
    assert (
        "premium" in page.inner_text("#products-closed").lower()
        or page.locator("#products-closed").count()
    )
    seed.set_plan(studio, ws, "premium")
    cid = _clip(studio, ws)

    # By hand, then edited: out of stock and a new price.
    page.goto("/products")
    page.fill("#f-name", "Bread Knife")
    page.fill("#f-url", "https://shop.example.com/knife")
    page.fill("#f-price", "twelve")
    page.click("#add-product button[type=submit]")
    assert page.inner_text("#err-price") == "Enter a price such as 19.99."
    page.fill("#f-price", "24.00")
    page.click("#add-product button[type=submit]")
    page.wait_for_url("**/products")
    assert "24.00 USD" in _row(page, "Bread Knife").inner_text()
    check_page(page, "products")
    _row(page, "Bread Knife").locator("a.button", has_text="Edit").click()
    page.fill("#f-price", "26.50")
    page.uncheck('input[name="in_stock"]')
    page.click("#edit-product button[type=submit]")
    page.wait_for_url("**/products")
    knife = _row(page, "Bread Knife").inner_text()
    assert "26.50 USD" in knife and "Out of stock" in knife

    # A CSV with bad rows: each shown by line and column, nothing imported.
    page.fill("#csv-text", BAD_CSV)
    page.click("#csv-check")
    page.wait_for_selector("#csv-errors")
    errors = page.inner_text("#csv-errors")
    assert "price" in errors and "name" in errors and "2" in errors and "3" in errors
    assert page.is_disabled("#csv-import")
    # A good one: previewed, then imported.
    page.fill("#csv-text", GOOD_CSV)
    page.click("#csv-check")
    page.wait_for_selector("#csv-preview")
    assert page.inner_text("#csv-summary").startswith("Ready: 2 new, 0 updated.")
    page.click("#csv-import")
    page.wait_for_selector("#import-notice")
    assert page.inner_text("#import-notice") == "Imported the CSV: 2 new, 0 updated."
    assert "Out of stock" in _row(page, "Flour Sack").inner_text()

    # The Shopify store.
    page.fill("#shop-url", fake_shop.base_url)
    page.click("#shop-import")
    page.wait_for_selector("#import-notice >> text=Imported the Shopify store")
    assert page.inner_text("#import-notice") == "Imported the Shopify store: 3 new, 0 updated."
    assert "Out of stock" in _row(page, "Dough Scraper").inner_text()
    assert "shopify" in _row(page, "Proofing Basket").inner_text()
    # An address the SSRF guard refuses, shown next to the form.
    console_errors.allow("422")
    page.fill("#shop-url", "http://169.254.169.254")
    page.click("#shop-import")
    page.wait_for_selector("#shopify-form .js-error")
    assert "metadata" in page.inner_text("#shopify-form .js-error")

    # The clip's products: link two, unlink one.
    page.goto(f"/clips/{cid}/products")
    for name in ("Rolling Pin", "Proofing Basket"):
        page.select_option("#f-product", label=name)
        page.click("#link-product button[type=submit]")
        page.wait_for_selector(f"#clip-products >> text={name}")
    check_page(page, "clip-products")
    page.click('button[aria-label="Unlink Proofing Basket"]')
    page.wait_for_url(f"**/clips/{cid}/products")
    assert page.locator("#clip-products tbody tr").count() == 1

    # Clicks on the Rolling Pin's tracked link (two people, one bot) show in the catalog.
    pin = studio.sql("SELECT id FROM products WHERE name = 'Rolling Pin'")[0][0]
    link = studio.sql(
        "INSERT INTO short_links (workspace_id, code, product_id, clip_id, platform) "
        "VALUES (:w, :c, :p, :k, 'tiktok') RETURNING id",
        w=ws,
        c="RollingPin01",
        p=pin,
        k=cid,
    )[0][0]
    for is_bot in (False, False, True):
        studio.sql(
            "INSERT INTO link_clicks (workspace_id, link_id, product_id, clip_id, platform, "
            "ua_class, is_bot) VALUES (:w, :l, :p, :k, 'tiktok', 'mobile', :b)",
            w=ws,
            l=link,
            p=pin,
            k=cid,
            b=is_bot,
        )
    page.goto("/products")
    row = _row(page, "Rolling Pin")
    assert row.locator('[data-col="clicks"]').inner_text() == "2"
    assert row.locator('[data-col="bots"]').inner_text() == "1"
    page.goto(f"/clips/{cid}/products")
    assert "2 (+1 bots)" in page.inner_text("#clip-products")
