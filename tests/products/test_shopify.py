"""The Shopify client against a fake store on loopback: Link-header (page_info) pagination,
numbered pages, 429 with Retry-After, and the SSRF guard deciding before any connection."""

from __future__ import annotations

import pytest

from cliply.ingest.ssrf import UrlPolicy, UrlRefused
from cliply.integrations.shopify import (
    ShopifyClient,
    ShopifyError,
    next_link,
    normalize_store_url,
)
from tests.fakes.server import RunningServer
from tests.fakes.shopify import FakeShopify, product

LOOPBACK = UrlPolicy(allow_loopback=True)


def _client(url: str, sleeps: list[float], **kw: object) -> ShopifyClient:
    return ShopifyClient(url, policy=LOOPBACK, sleep=sleeps.append, backoff_base_s=0.01, **kw)  # type: ignore[arg-type]


def test_follows_the_link_header_with_page_info_as_given(
    store: RunningServer, shop: FakeShopify
) -> None:
    sleeps: list[float] = []
    with _client(store.base_url, sleeps, page_limit=2) as client:
        items = client.products(100)
    assert [p.title for p in items] == ["Mug", "Tote Bag", "Cap", "Sticker Pack", "Hoodie"]
    # limit on the first request, then the Link URLs untouched: page_info + limit only.
    assert [sorted(q) for q in shop.requests] == [["limit"], *[["limit", "page_info"]] * 2]
    assert all(q["limit"] == "2" for q in shop.requests)
    mug, cap = items[0], items[2]
    assert (mug.price_cents, mug.available, mug.sku) == (1500, True, "SKU-1")
    assert mug.url == f"{store.base_url}/products/mug"
    assert (cap.price_cents, cap.available) == (1800, False)
    assert sleeps == []


def test_a_single_page_has_no_link_and_ends(store: RunningServer, shop: FakeShopify) -> None:
    with _client(store.base_url, []) as client:
        assert len(client.products(100)) == 5
    assert len(shop.requests) == 1  # 5 < 250: no Link header, no second request


def test_numbered_pages_when_the_store_sends_no_link_header(
    store: RunningServer, shop: FakeShopify
) -> None:
    shop.paging = "page"
    with _client(store.base_url, [], page_limit=2) as client:
        items = client.products(100)
    assert [p.title for p in items] == ["Mug", "Tote Bag", "Cap", "Sticker Pack", "Hoodie"]
    assert [q.get("page") for q in shop.requests] == [None, "2", "3"]  # page 3 is short: end


def test_429_waits_for_retry_after_then_goes_on(store: RunningServer, shop: FakeShopify) -> None:
    sleeps: list[float] = []
    shop.rate_limit_next(2, retry_after="1.5")
    with _client(store.base_url, sleeps, page_limit=2) as client:
        items = client.products(100)
    assert len(items) == 5
    assert sleeps == [1.5, 1.5]  # the store's Retry-After, not our backoff
    assert len(shop.requests) == 5  # two 429s + three pages


def test_429_beyond_the_retries_is_a_retryable_error(
    store: RunningServer, shop: FakeShopify
) -> None:
    shop.rate_limit_next(10, retry_after="2")
    with _client(store.base_url, [], max_retries=2) as client, pytest.raises(ShopifyError) as err:
        client.products(100)
    assert (err.value.code, err.value.retryable, err.value.upstream_status) == (
        "shopify-rate-limited",
        True,
        429,
    )


def test_not_a_store_and_too_many_products(store: RunningServer, shop: FakeShopify) -> None:
    with _client(store.base_url + "/nope", []) as client:
        assert client.store_url == store.base_url  # the path is dropped: /products.json
    shop.products = [product(i, f"P{i}") for i in range(1, 8)]
    with _client(store.base_url, [], page_limit=3) as client, pytest.raises(ShopifyError) as err:
        client.products(5)
    assert err.value.code == "shopify-too-many-products"
    store.faults.fail_next("GET", "/products.json", status=404, body=b"Not Found")
    with _client(store.base_url, []) as client, pytest.raises(ShopifyError) as err:
        client.products(100)
    assert (err.value.code, err.value.retryable) == ("shopify-not-found", False)


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://127.0.0.1:9/", "url-private-address"),  # loopback without the test setting
        ("http://10.0.0.1", "url-private-address"),
        ("http://169.254.169.254", "url-metadata-address"),
        ("http://[::1]:8080", "url-private-address"),
        ("http://100.64.0.1", "url-private-address"),
        ("ftp://shop.example.com", "url-scheme"),
        ("https://user:pw@shop.example.com", "url-invalid"),
        ("https://no-such-store.example.invalid", "url-unresolvable"),
    ],
)
def test_the_ssrf_guard_decides_before_any_connection(
    url: str, code: str, tripwire: list[str]
) -> None:
    sleeps: list[float] = []
    with pytest.raises(UrlRefused) as err:
        client = ShopifyClient(url, policy=UrlPolicy(), sleep=sleeps.append)
        with client:
            client.check()
    assert err.value.code == code
    # Nothing connected anywhere; a name was at most looked up (and the tripwire answered).
    assert [s for s in tripwire if s.startswith("connect")] == []
    assert sleeps == []


def test_the_running_store_is_refused_on_loopback_by_default(
    store: RunningServer, shop: FakeShopify, tripwire: list[str]
) -> None:
    client = ShopifyClient(store.base_url, policy=UrlPolicy())
    with client, pytest.raises(UrlRefused) as err:
        client.products(100)
    assert err.value.code == "url-private-address"
    assert shop.requests == [] and tripwire == []  # refused before any connection


def test_a_next_link_to_another_host_is_refused(
    store: RunningServer, shop: FakeShopify, tripwire: list[str]
) -> None:
    shop.link_base = "http://169.254.169.254"
    with _client(store.base_url, [], page_limit=2) as client, pytest.raises(ShopifyError) as err:
        client.products(100)
    assert err.value.code == "shopify-bad-link"
    assert len(shop.requests) == 1 and tripwire == []
    assert next_link('<https://a/x?page_info=1>; rel="previous", <https://a/y>; rel="next"') == (
        "https://a/y"
    )
    assert next_link('<https://a/x>; rel="previous"') is None
    assert normalize_store_url("Shop.Example.com/collections/all") == "https://shop.example.com"
    with pytest.raises(UrlRefused):
        normalize_store_url("javascript:alert(1)")
