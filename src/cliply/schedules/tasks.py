"""Periodic scan: every minute, due schedules become publish jobs."""

from __future__ import annotations

import structlog

from cliply.db.engine import owner_session
from cliply.jobs.registry import periodic
from cliply.schedules.service import scan_due

log = structlog.get_logger(__name__)


@periodic("scan_schedules", every_s=60)
def scan_schedules() -> int:
    with owner_session() as db:
        result = scan_due(db)
    if result.claimed or result.repaired:
        log.info("schedules.scanned", queued=len(result.claimed), repaired=result.repaired)
    return len(result.claimed)
