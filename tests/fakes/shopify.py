"""A local fake Shopify store: the public catalogue at GET /products.json.

It speaks the documented protocol: `limit` (default 30, at most 250, larger is clamped), and
cursor pagination through the `Link` response header (`<…/products.json?limit=N&page_info=…>;
rel="next"`, and `rel="previous"`), where `page_info` is opaque and must be sent back as
given, with nothing but `limit` beside it (anything else is a 400, as Shopify answers). With
`paging="page"` it answers the storefront style instead: numbered `page=` and no Link header.
Products are the storefront JSON shape (variants with `price` as a string and `available`).
`rate_limit_next(n, retry_after)` answers the next n requests with 429 and Retry-After.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


def product(
    pid: int,
    title: str,
    *,
    price: str = "10.00",
    available: bool = True,
    sku: str | None = None,
    variants: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    handle = title.lower().replace(" ", "-")
    return {
        "id": pid,
        "title": title,
        "handle": handle,
        "body_html": f"<p>{title}</p>",
        "vendor": "Fake Store",
        "product_type": "",
        "tags": [],
        "variants": variants
        or [
            {
                "id": pid * 10,
                "title": "Default Title",
                "sku": sku or f"SKU-{pid}",
                "price": price,
                "available": available,
                "compare_at_price": None,
            }
        ],
        "images": [{"id": pid * 100, "src": f"https://cdn.example.invalid/{handle}.jpg"}],
    }


@dataclass
class FakeShopify:
    paging: str = "link"  # "link" (page_info cursor in Link) or "page" (numbered pages)
    products: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, str]] = field(default_factory=list)
    link_base: str | None = None  # a hostile store: next-page links to another host
    base_url: str = ""  # where it runs, for tests that hand it to a server
    _rate_limited: int = 0
    _retry_after: str = "1"
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def rate_limit_next(self, count: int = 1, retry_after: str = "1.0") -> None:
        with self._lock:
            self._rate_limited, self._retry_after = count, retry_after

    def find(self, pid: int) -> dict[str, Any]:
        return next(p for p in self.products if p["id"] == pid)

    @property
    def app(self) -> Starlette:
        return Starlette(routes=[Route("/products.json", self._list, methods=["GET"])])

    async def _list(self, request: Request) -> JSONResponse:
        query = dict(request.query_params)
        self.requests.append(query)
        with self._lock:
            if self._rate_limited > 0:
                self._rate_limited -= 1
                return JSONResponse(
                    {"errors": "Exceeded 2 calls per second for api client. Reduce request rates"},
                    status_code=429,
                    headers={"Retry-After": self._retry_after},
                )
        try:
            limit = min(max(int(query.get("limit", "30")), 1), 250)
        except ValueError:
            return JSONResponse({"errors": {"limit": "invalid"}}, status_code=400)
        items = sorted(self.products, key=lambda p: p["id"])
        if self.paging == "page":
            try:
                page = max(int(query.get("page", "1")), 1)
            except ValueError:
                page = 1
            chunk = items[(page - 1) * limit : page * limit]
            return JSONResponse({"products": chunk})
        after = 0
        if "page_info" in query:
            if set(query) - {"page_info", "limit"}:
                return JSONResponse(
                    {"errors": "page_info cannot be combined with other parameters"},
                    status_code=400,
                )
            try:
                cursor = json.loads(base64.urlsafe_b64decode(query["page_info"]))
                after = int(cursor["last_id"])
            except (ValueError, KeyError, TypeError):
                return JSONResponse({"errors": "Invalid page_info"}, status_code=400)
        rest = [p for p in items if p["id"] > after]
        chunk, more = rest[:limit], len(rest) > limit
        headers = {}
        links = []
        host = f"{request.url.scheme}://{request.headers['host']}"
        base = f"{self.link_base or host}/products.json"
        if more:
            info = base64.urlsafe_b64encode(
                json.dumps({"last_id": chunk[-1]["id"], "direction": "next"}).encode()
            ).decode()
            links.append(f'<{base}?limit={limit}&page_info={info}>; rel="next"')
        if after:
            info = base64.urlsafe_b64encode(
                json.dumps({"last_id": after, "direction": "prev"}).encode()
            ).decode()
            links.append(f'<{base}?limit={limit}&page_info={info}>; rel="previous"')
        if links:
            headers["Link"] = ", ".join(reversed(links))
        return JSONResponse({"products": chunk}, headers=headers)
