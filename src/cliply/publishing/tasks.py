"""Job handlers PUBLISH_TIKTOK and PUBLISH_YOUTUBE (payload: {"schedule_id", "max_attempts"})."""

from __future__ import annotations

from typing import Any

from cliply.jobs.registry import PUBLISH_TIKTOK, PUBLISH_YOUTUBE, JobContext, handler
from cliply.publishing.runner import run_publish
from cliply.publishing.tiktok_flow import publish_tiktok
from cliply.publishing.youtube_flow import publish_youtube


@handler(PUBLISH_TIKTOK, capability="publish")
def publish_tiktok_job(ctx: JobContext) -> dict[str, Any]:
    return run_publish(ctx, "tiktok", publish_tiktok)


@handler(PUBLISH_YOUTUBE, capability="publish")
def publish_youtube_job(ctx: JobContext) -> dict[str, Any]:
    return run_publish(ctx, "youtube", publish_youtube)
