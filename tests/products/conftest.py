"""Products reuse the publishing fixtures (fake TikTok / YouTube / Meta on 127.0.0.1, an API
client, a workspace with a rendered clip) and add a fake Shopify store on loopback. Talking
to it needs URL_INGEST_ALLOW_LOOPBACK (the SSRF guard refuses loopback otherwise), set only
by the `store` fixture, as the URL-ingest tests do. The `tripwire` (from the ingest tests)
blocks and records any connection to a non-loopback address or any DNS lookup."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import reset_caches
from tests.fakes.server import RunningServer, ServerPool
from tests.fakes.shopify import FakeShopify, product
from tests.ingest.conftest import tripwire
from tests.publishing.conftest import _pub_pool, api, clip_video, fakes, world

__all__ = ["_pub_pool", "api", "clip_video", "fakes", "tripwire", "world"]


@pytest.fixture
def shop() -> FakeShopify:
    """A store of five products (ids 1..5), the third sold out."""
    return FakeShopify(
        products=[
            product(1, "Mug", price="15.00"),
            product(2, "Tote Bag", price="22.50"),
            product(3, "Cap", price="18.00", available=False),
            product(4, "Sticker Pack", price="4.99"),
            product(5, "Hoodie", price="49.00"),
        ]
    )


@pytest.fixture
def store(
    _pub_pool: ServerPool, shop: FakeShopify, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RunningServer]:
    server = _pub_pool.lease(shop.app)
    monkeypatch.setenv("URL_INGEST_ALLOW_LOOPBACK", "true")
    monkeypatch.setenv("INTEGRATION_RETRY_BASE_S", "0.01")
    reset_caches()
    yield server
    _pub_pool.release_all()
