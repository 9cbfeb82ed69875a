"""/healthz (the process is up), /readyz (the database answers; warns when the data dir's
disk runs low), /metrics (Prometheus)."""

from __future__ import annotations

from collections.abc import Callable

import structlog
from fastapi import APIRouter, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest
from sqlalchemy import text

from cliply.api.problems import problem
from cliply.config import get_settings
from cliply.db.engine import get_engine
from cliply.ingest.staging import DiskStatus, disk_status

router = APIRouter(tags=["health"])
log = structlog.get_logger()

# Collectors that refresh gauges from the database just before a scrape (e.g. queue depth).
SCRAPE_HOOKS: list[Callable[[], None]] = []


DATA_DIR_FREE = Gauge("cliply_data_dir_free_bytes", "Free bytes on CLIPLY_DATA_DIR's filesystem")
DATA_DIR_LOW = Gauge(
    "cliply_data_dir_low_space", "1 when CLIPLY_DATA_DIR has less than DATA_DIR_MIN_FREE_BYTES"
)


def _disk() -> DiskStatus:
    settings = get_settings()
    status = disk_status(settings.cliply_data_dir, settings.data_dir_min_free_bytes)
    DATA_DIR_FREE.set(status.free_bytes)
    DATA_DIR_LOW.set(1 if status.low else 0)
    return status


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
def readyz() -> dict[str, str] | Response:
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means not ready
        return problem(503, "not-ready", "Not ready", f"database: {type(exc).__name__}")
    # Low disk is a warning, not unreadiness: reads still work, uploads answer 507 when full.
    disk = _disk()
    if disk.low:
        log.warning("data_dir_low_space", free_bytes=disk.free_bytes, path=str(disk.path))
    note = f"low: {disk.free_bytes} bytes free" if disk.low else "ok"
    return {"status": "ready", "database": "ok", "disk": note}


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def metrics() -> Response:
    try:
        _disk()
    except OSError:
        log.warning("data_dir_stat_failed", exc_info=True)
    for hook in SCRAPE_HOOKS:
        try:
            hook()
        except Exception:  # a failing collector must not break the scrape
            log.warning("metrics_hook_failed", hook=getattr(hook, "__name__", "?"), exc_info=True)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
