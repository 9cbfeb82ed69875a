"""Steps the products domain leads across domains: tracked links in a new schedule's caption,
stock changes that pause or resume scheduled posts (dropshipping), store imports and the
periodic re-sync, and the public redirect's click.

Each domain's rows are written by its own service (products here, schedules in
`schedules.service`); this module only sequences them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Final

import structlog
from sqlalchemy.orm import Session

from cliply.config import get_settings
from cliply.db.engine import owner_session
from cliply.errors import CliplyError, PermanentError
from cliply.ingest.download import policy_from_settings
from cliply.ingest.ssrf import UrlPolicy
from cliply.integrations.shopify import ShopifyClient, ShopifyProduct, normalize_store_url
from cliply.jobs import queue
from cliply.jobs.registry import JobContext
from cliply.products import csv_import, service
from cliply.products.models import Product
from cliply.schedules import service as schedules
from cliply.schedules.hooks import NewSchedule

log = structlog.get_logger(__name__)

PRODUCTS_SYNC: Final = "PRODUCTS_SYNC"
OUT_OF_STOCK = service.OUT_OF_STOCK


# --- tracked links in captions -----------------------------------------------------------------


def caption_links(db: Session, new: NewSchedule) -> str | None:
    """The schedule hook: one tracked link per product of the clip, as caption lines."""
    links = service.create_links(db, new.workspace_id, new.clip_id, new.schedule_id, new.platform)
    if not links:
        return None
    base = get_settings().public_base_url.rstrip("/")
    return "\n".join(f"{link.product_name}: {base}/r/{link.code}" for link in links)


def held_back(db: Session, new: NewSchedule) -> str | None:
    """The schedule hook: a clip with an out-of-stock product starts paused."""
    if service.clips_blocked(db, new.workspace_id, [new.clip_id]):
        return OUT_OF_STOCK
    return None


# --- stock changes -----------------------------------------------------------------------------


@dataclass
class StockOutcome:
    paused: list[uuid.UUID] = field(default_factory=list)
    resumed: list[uuid.UUID] = field(default_factory=list)


def stock_changed(
    db: Session, product: Product, in_stock: bool, reason: str, *, payload: dict[str, Any]
) -> StockOutcome:
    """Record a product going out of (or back into) stock, pausing or resuming the scheduled
    posts of its clips; a clip that still has another out-of-stock product stays paused."""
    ws = product.workspace_id
    clip_ids = service.clips_of(db, ws, product.id)
    outcome = StockOutcome()
    kind = "back_in_stock" if in_stock else "out_of_stock"
    try:
        with db.begin_nested():  # a failure is recorded as a failed action, not lost
            service.update_product(db, ws, product.id, {"in_stock": in_stock})
            if in_stock:
                blocked = service.clips_blocked(db, ws, clip_ids)
                free = [c for c in clip_ids if c not in blocked]
                outcome.resumed = schedules.resume_for_clips(db, ws, free, OUT_OF_STOCK)
            else:
                outcome.paused = schedules.pause_for_clips(db, ws, clip_ids, OUT_OF_STOCK)
    except CliplyError as exc:
        log.warning("dropshipping.action_failed", product_id=str(product.id), error=exc.message)
        service.record_action(
            db,
            ws,
            product.id,
            kind,
            status="failed",
            reason=f"{reason} ({exc.message})",
            payload=payload,
        )
        return outcome
    touched = outcome.resumed if in_stock else outcome.paused
    service.record_action(
        db,
        ws,
        product.id,
        kind,
        status="done",
        reason=reason,
        schedule_ids=touched,
        payload=payload,
        result={"paused" if not in_stock else "resumed": len(touched)},
    )
    return outcome


def update_product(
    db: Session, workspace_id: uuid.UUID, product_id: uuid.UUID, values: dict[str, Any]
) -> Product:
    """An edit by hand: a change of stock pauses or resumes posts like a re-sync does."""
    product = service.get(db, workspace_id, product_id)
    stock = values.pop("in_stock", None)
    product = service.update_product(db, workspace_id, product_id, values)
    if stock is not None and stock != product.in_stock:
        stock_changed(
            db,
            product,
            bool(stock),
            "Marked in stock by hand." if stock else "Marked out of stock by hand.",
            payload={"by": "hand"},
        )
    return product


# --- CSV ---------------------------------------------------------------------------------------


@dataclass
class CsvResult:
    plan: csv_import.CsvPlan
    created: int = 0
    updated: int = 0


def import_csv(
    db: Session, workspace_id: uuid.UUID, data: str, currency: str, *, dry_run: bool
) -> CsvResult:
    """Check the whole file; unless it is a dry run and only when every row is valid, create
    and update the products in the caller's transaction (all or nothing)."""
    plan = csv_import.plan_csv(db, workspace_id, data, currency)
    result = CsvResult(plan)
    if dry_run or not plan.ok:
        return result
    for row in plan.rows:
        values = {**row.values, "source": "csv"}
        if row.product_id is None:
            service.create(db, workspace_id, values)
            result.created += 1
        else:
            values.pop("source")
            update_product(db, workspace_id, row.product_id, values)
            result.updated += 1
    return result


# --- Shopify: import and re-sync ---------------------------------------------------------------


def shopify_client(store_url: str, policy: UrlPolicy | None = None) -> ShopifyClient:
    settings = get_settings()
    return ShopifyClient(
        store_url,
        policy=policy or policy_from_settings(),
        backoff_base_s=settings.integration_retry_base_s,
        connect_timeout_s=settings.url_connect_timeout_s,
    )


def fetch_store(store_url: str, policy: UrlPolicy | None = None) -> list[ShopifyProduct]:
    """The store's catalogue (no database work: called outside any transaction)."""
    with shopify_client(store_url, policy) as client:
        client.check()  # the SSRF decision, before any connection
        return client.products(get_settings().shopify_max_products)


@dataclass
class StoreResult:
    created: int = 0
    updated: int = 0
    out_of_stock: int = 0
    changed: int = 0
    paused: list[uuid.UUID] = field(default_factory=list)
    resumed: list[uuid.UUID] = field(default_factory=list)
    action_ids: list[uuid.UUID] = field(default_factory=list)


def apply_store(
    db: Session,
    workspace_id: uuid.UUID,
    store_url: str,
    items: list[ShopifyProduct],
    currency: str | None,
    *,
    create_missing: bool,
) -> StoreResult:
    """Bring the workspace's products of this store in line with what the store lists now:
    prices, stock (pausing/resuming posts), a product gone from the store is out of stock.
    `create_missing`: an import adds the store's new products; the re-sync does not."""
    result = StoreResult()
    known = {p.external_id: p for p in service.store_products(db, workspace_id, store_url)}
    seen: set[str] = set()
    for item in items:
        ext = service.shopify_external_id(store_url, item.id)
        seen.add(ext)
        product = known.get(ext)
        if product is None:
            if create_missing:
                values = service.shopify_values(item, store_url, currency or "USD")
                service.create(db, workspace_id, values)
                result.created += 1
                result.out_of_stock += 0 if item.available else 1
            continue
        result.updated += 1
        values = service.shopify_values(item, store_url, currency or product.currency)
        values.pop("in_stock")
        if item.price_cents != product.price_cents:
            action = service.record_action(
                db,
                workspace_id,
                product.id,
                "price_changed",
                status="done",
                reason=f"The store's price changed from {product.price_cents} to "
                f"{item.price_cents} (cents).",
                payload={"old_cents": product.price_cents, "new_cents": item.price_cents},
            )
            result.action_ids.append(action.id)
            result.changed += 1
        service.update_product(db, workspace_id, product.id, values)
        _stock(db, product, item.available, "The store", result)
    for gone in known.values():
        if gone.external_id not in seen and gone.in_stock:
            _stock(db, gone, False, "The store no longer lists it", result, removed=True)
    return result


def _stock(
    db: Session,
    product: Product,
    available: bool,
    who: str,
    result: StoreResult,
    *,
    removed: bool = False,
) -> None:
    if not available:
        result.out_of_stock += 1
    if available == product.in_stock:
        return
    reason = (
        f"{who}; marked out of stock."
        if removed
        else f"{who} shows it {'back in stock' if available else 'out of stock'}."
    )
    outcome = stock_changed(
        db, product, available, reason, payload={"by": "sync", "removed": removed}
    )
    result.paused += outcome.paused
    result.resumed += outcome.resumed
    result.changed += 1


def import_shopify(
    db: Session, workspace_id: uuid.UUID, store_url: str, currency: str
) -> tuple[str, StoreResult]:
    """Import (or refresh) a store's catalogue into the workspace."""
    url = normalize_store_url(store_url)
    items = fetch_store(url)
    result = apply_store(db, workspace_id, url, items, currency, create_missing=True)
    service.mark_synced(db, workspace_id, url, None, service.now())
    return url, result


def queue_resyncs(db: Session) -> int:
    """The periodic scan: one PRODUCTS_SYNC job per imported store (deduplicated)."""
    stores = service.stores_to_sync(db)
    for workspace_id, store_url in stores:
        queue.enqueue(
            db,
            PRODUCTS_SYNC,
            {"workspace_id": str(workspace_id), "store_url": store_url},
            workspace_id=workspace_id,
            max_attempts=3,
            dedupe_key=f"products-sync:{workspace_id}:{store_url}"[:200],
        )
    return len(stores)


def run_resync(ctx: JobContext) -> dict[str, Any]:
    """The PRODUCTS_SYNC job: read the store (no transaction held), then apply what changed."""
    try:
        workspace_id = uuid.UUID(str(ctx.payload["workspace_id"]))
        store_url = str(ctx.payload["store_url"])
    except (KeyError, ValueError):
        raise PermanentError(
            "The job payload needs workspace_id and store_url.", code="invalid-payload"
        ) from None
    try:
        items = fetch_store(store_url)
    except CliplyError as exc:
        with owner_session() as db:
            service.mark_synced(db, workspace_id, store_url, exc.message, service.now())
        raise
    ctx.progress(0.5, f"{len(items)} products read")
    with owner_session() as db:
        result = apply_store(db, workspace_id, store_url, items, None, create_missing=False)
        service.mark_synced(db, workspace_id, store_url, None, service.now())
    return {
        "products": len(items),
        "changed": result.changed,
        "paused": [str(s) for s in result.paused],
        "resumed": [str(s) for s in result.resumed],
    }
