"""Periodic scan (every minute, due schedules become publish jobs) and the publish job of
every platform (PUBLISH_TIKTOK, PUBLISH_YOUTUBE, ...: payload {"schedule_id", "max_attempts"})."""

from __future__ import annotations

from typing import Any

import structlog

from cliply.db.engine import owner_session
from cliply.jobs.registry import Handler, JobContext, handler, periodic
from cliply.platforms.base import Platform
from cliply.platforms.registry import all_platforms
from cliply.schedules import flows

log = structlog.get_logger(__name__)


@periodic("scan_schedules", every_s=60)
def scan_schedules() -> int:
    with owner_session() as db:
        result = flows.scan(db)
    if result.claimed or result.repaired:
        log.info("schedules.scanned", queued=len(result.claimed), repaired=len(result.repaired))
    return len(result.claimed)


def _publish_handler(platform: Platform) -> Handler:
    def publish(ctx: JobContext) -> dict[str, Any]:
        return flows.run_publish(ctx, platform)

    publish.__name__ = f"publish_{platform.name}"
    return publish


for _platform in all_platforms():
    handler(_platform.job_kind, capability="publish")(_publish_handler(_platform))
