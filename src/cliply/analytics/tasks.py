"""The metrics scan (periodic: accounts with posts due get a METRICS_COLLECT job) and the
METRICS_COLLECT job (payload {"account_id"}) that measures one account's due posts."""

from __future__ import annotations

from typing import Any

import structlog

from cliply.analytics import flows
from cliply.config import get_settings
from cliply.jobs.registry import JobContext, handler, periodic

log = structlog.get_logger(__name__)


@periodic("metrics_scan", every_s=get_settings().metrics_scan_interval_s)
def metrics_scan() -> int:
    n = flows.scan()
    if n:
        log.info("metrics.scan_queued", accounts=n)
    return n


@handler(flows.METRICS_COLLECT, capability="publish")
def metrics_collect(ctx: JobContext) -> dict[str, Any]:
    return flows.collect_account(ctx)
