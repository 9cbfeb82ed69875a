"""The products re-sync: periodic (`PRODUCT_RESYNC_INTERVAL_S`) one PRODUCTS_SYNC job per
imported store (payload {"workspace_id", "store_url"}), which re-reads the store and applies
stock and price changes (pausing or resuming scheduled posts)."""

from __future__ import annotations

from typing import Any

import structlog

from cliply.config import get_settings
from cliply.db.engine import owner_session
from cliply.jobs.registry import JobContext, handler, periodic
from cliply.products import flows

log = structlog.get_logger(__name__)


@periodic("products_resync", every_s=get_settings().product_resync_interval_s)
def products_resync() -> int:
    with owner_session() as db:
        n = flows.queue_resyncs(db)
    if n:
        log.info("products.resync_queued", stores=n)
    return n


@handler(flows.PRODUCTS_SYNC, capability="io")
def products_sync(ctx: JobContext) -> dict[str, Any]:
    return flows.run_resync(ctx)
