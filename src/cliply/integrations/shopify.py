"""Shopify store catalog client: a store's public `/products.json`, protocol only.

Pagination follows Shopify's documented scheme: `limit` (at most 250) on the first request,
then the `Link` response header's `rel="next"` URL, used exactly as given (its `page_info`
cursor must not be altered); no `Link` next means the last page. Storefronts that answer
without any `Link` header page by number instead (`page=2`, …, until an empty page), so when
the first full page comes without a `Link` header the client goes on by page number.

Every request (first page, every next page) goes through the SSRF guard of URL ingest
(`ingest.ssrf.check_url`) and connects to the address that was checked (Host header and TLS
SNI keep the name), so a store URL can never reach a private, loopback or metadata address.
A next-page link to another host is refused. Rate limits (429) are retried after their
`Retry-After`; 5xx and network failures with backoff.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

import httpx

from cliply import __version__
from cliply.ingest.ssrf import CheckedUrl, UrlPolicy, UrlRefused, check_url
from cliply.integrations.http_retry import RetryableHTTPError, RetryingClient

PAGE_LIMIT_MAX = 250
_USER_AGENT = f"Cliply/{__version__} (+https://cliply.dev)"
_LINK_PART = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]+)*)")

_STATUS_CODES: dict[int, tuple[str, bool]] = {
    401: ("shopify-store-locked", False),
    403: ("shopify-store-locked", False),
    404: ("shopify-not-found", False),
    408: ("shopify-timeout", True),
    429: ("shopify-rate-limited", True),
}


class ShopifyError(RetryableHTTPError):
    """The store could not be read. Codes: shopify-not-found, shopify-store-locked,
    shopify-rate-limited, shopify-timeout, shopify-server-error, shopify-error,
    shopify-bad-response, shopify-unreachable, shopify-too-many-products, shopify-bad-link."""


@dataclass(frozen=True)
class ShopifyVariant:
    id: str
    title: str
    sku: str | None
    price_cents: int | None
    available: bool


@dataclass(frozen=True)
class ShopifyProduct:
    id: str
    title: str
    handle: str
    url: str
    image_url: str | None
    variants: tuple[ShopifyVariant, ...]

    @property
    def available(self) -> bool:
        """In stock when any variant can be bought (a product without variants: yes)."""
        return not self.variants or any(v.available for v in self.variants)

    @property
    def price_cents(self) -> int | None:
        """The lowest price among the variants that can be bought (else among all)."""
        pool = [v for v in self.variants if v.available] or list(self.variants)
        prices = [v.price_cents for v in pool if v.price_cents is not None]
        return min(prices) if prices else None

    @property
    def sku(self) -> str | None:
        return next((v.sku for v in self.variants if v.sku), None)


def normalize_store_url(raw: str) -> str:
    """`shop.example.com`, `https://shop.example.com/collections/x` → `https://shop.example.com`
    (scheme and host, plus a port when one is given). Raises UrlRefused for what is no URL."""
    value = raw.strip()
    if "://" not in value:
        value = "https://" + value
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise UrlRefused(f"not a valid store URL: {exc}", code="url-invalid") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UrlRefused("a store URL starts with https://", code="url-scheme")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise UrlRefused("the store URL has no host", code="url-invalid")
    if parts.username or parts.password:
        raise UrlRefused("URLs with credentials are not accepted", code="url-invalid")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    return urlunsplit((scheme, netloc, "", "", ""))


def _cents(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite() or amount < 0 or amount > Decimal(21_000_000):
        return None
    return int((amount * 100).to_integral_value())


def _variant(raw: dict[str, Any]) -> ShopifyVariant:
    if "available" in raw:  # storefront JSON
        available = bool(raw["available"])
    elif raw.get("inventory_management") and raw.get("inventory_policy") != "continue":
        available = int(raw.get("inventory_quantity") or 0) > 0  # Admin API shape
    else:
        available = True  # stock not tracked: always for sale
    sku = str(raw.get("sku") or "").strip() or None
    return ShopifyVariant(
        id=str(raw.get("id", "")),
        title=str(raw.get("title") or ""),
        sku=sku[:100] if sku else None,
        price_cents=_cents(raw.get("price")),
        available=available,
    )


def parse_product(raw: dict[str, Any], store_url: str) -> ShopifyProduct:
    """One entry of `products`; raises ShopifyError when it has no id or title."""
    pid, title = raw.get("id"), str(raw.get("title") or "").strip()
    if pid is None or not title:
        raise ShopifyError(
            "The store answered a product without an id or title.",
            code="shopify-bad-response",
            retryable=False,
        )
    handle = str(raw.get("handle") or pid)
    images = raw.get("images") or []
    image = raw.get("image") or (images[0] if images and isinstance(images[0], dict) else None)
    image_url = str(image.get("src")) if isinstance(image, dict) and image.get("src") else None
    variants = tuple(_variant(v) for v in raw.get("variants") or [] if isinstance(v, dict))
    return ShopifyProduct(
        id=str(pid),
        title=title[:300],
        handle=handle,
        url=f"{store_url}/products/{handle}",
        image_url=image_url,
        variants=variants,
    )


def next_link(header: str | None) -> str | None:
    """The `rel="next"` URL of a Link header (RFC 8288), else None."""
    if not header:
        return None
    for match in _LINK_PART.finditer(header):
        params = match.group(2)
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "rel" and "next" in value.strip().strip('"').split():
                return match.group(1).strip()
    return None


def _error_from_response(resp: httpx.Response) -> ShopifyError:
    code, retryable = _STATUS_CODES.get(
        resp.status_code,
        ("shopify-server-error", True) if resp.status_code >= 500 else ("shopify-error", False),
    )
    messages = {
        "shopify-not-found": "The store has no public product list at /products.json "
        "(is it a Shopify store?)",
        "shopify-store-locked": "The store is password-protected or refused access",
        "shopify-rate-limited": "The store is rate-limiting us; try again in a minute",
    }
    message = messages.get(code, "The store could not list its products")
    return ShopifyError(
        f"{message} (HTTP {resp.status_code}).",
        code=code,
        retryable=retryable,
        upstream_status=resp.status_code,
    )


class ShopifyClient(RetryingClient):
    """Reads one store's products, page by page, behind the SSRF guard."""

    def __init__(
        self,
        store_url: str,
        *,
        policy: UrlPolicy,
        page_limit: int = PAGE_LIMIT_MAX,
        timeout_s: float = 30.0,
        connect_timeout_s: float = 10.0,
        max_retries: int = 4,
        backoff_base_s: float = 1.0,
        max_wait_s: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        http: httpx.Client | None = None,
    ) -> None:
        self.store_url = normalize_store_url(store_url)
        self.policy = policy
        self.page_limit = max(1, min(page_limit, PAGE_LIMIT_MAX))
        self.requests = 0  # pages fetched (retries included), for logs and tests
        # trust_env=False: no proxy from the environment may reroute the checked connection.
        super().__init__(
            base_url=self.store_url,
            timeout_s=timeout_s,
            connect_timeout_s=connect_timeout_s,
            max_retries=max_retries,
            backoff_base_s=backoff_base_s,
            max_wait_s=max_wait_s,
            sleep=sleep,
            http=http
            or httpx.Client(
                timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
                trust_env=False,
                headers={"User-Agent": _USER_AGENT, "Accept": "application/json"},
            ),
        )
        if http is None:
            self._owns_http = True

    def check(self) -> CheckedUrl:
        """The SSRF decision for the store (raises UrlRefused), before any connection."""
        return check_url(f"{self.store_url}/products.json", self.policy)

    def _get(self, url: str) -> httpx.Response:
        store_host = urlsplit(self.store_url).netloc
        if urlsplit(url).netloc.lower() != store_host:
            raise ShopifyError(
                "The store's next-page link points to another host.",
                code="shopify-bad-link",
                retryable=False,
            )

        def send() -> httpx.Response:
            checked = check_url(url, self.policy)  # every attempt: DNS may have changed
            self.requests += 1
            request = self._http.build_request(
                "GET",
                checked.pinned_url(),
                headers={"Host": checked.host_header},
                extensions={"sni_hostname": checked.host} if checked.scheme == "https" else {},
            )
            return self._http.send(request, follow_redirects=False)

        return self._send_with_retries(
            send,
            unreachable=lambda exc: ShopifyError(
                f"The store could not be reached ({type(exc).__name__}).",
                code="shopify-unreachable",
                retryable=True,
            ),
            error_from_response=_error_from_response,
        )

    def _page(self, url: str) -> tuple[list[ShopifyProduct], str | None, bool]:
        """(products, next URL from Link, whether a Link header was there at all)."""
        resp = self._get(url)
        try:
            body = resp.json()
        except ValueError:
            body = None
        raw = body.get("products") if isinstance(body, dict) else None
        if not isinstance(raw, list):
            raise ShopifyError(
                "The store's /products.json did not answer a product list.",
                code="shopify-bad-response",
                retryable=False,
            )
        items = [parse_product(p, self.store_url) for p in raw if isinstance(p, dict)]
        link = resp.headers.get("link")
        nxt = next_link(link)
        return items, (urljoin(url, nxt) if nxt else None), link is not None

    def pages(self) -> Iterator[list[ShopifyProduct]]:
        """Every page of the catalogue in the store's order."""
        first = f"{self.store_url}/products.json?{urlencode({'limit': self.page_limit})}"
        items, nxt, has_link = self._page(first)
        yield items
        if has_link:
            while nxt:
                items, nxt, _ = self._page(nxt)
                yield items
            return
        # Numbered pages: until a short or empty one, or one with nothing new (a store that
        # ignores `page` would answer the first page forever).
        seen = {p.id for p in items}
        page = 1
        while len(items) >= self.page_limit:
            page += 1
            query = urlencode({"limit": self.page_limit, "page": page})
            items, _, _ = self._page(f"{self.store_url}/products.json?{query}")
            fresh = [p for p in items if p.id not in seen]
            if not fresh:
                return
            seen.update(p.id for p in fresh)
            yield fresh

    def products(self, max_products: int) -> list[ShopifyProduct]:
        """The whole catalogue (deduplicated by id); more than `max_products` is refused."""
        seen: dict[str, ShopifyProduct] = {}
        for page in self.pages():
            for product in page:
                seen.setdefault(product.id, product)
            if len(seen) > max_products:
                raise ShopifyError(
                    f"The store lists more than {max_products} products; import fewer.",
                    code="shopify-too-many-products",
                    retryable=False,
                )
        return list(seen.values())
