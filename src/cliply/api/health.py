"""/healthz (the process is up), /readyz (the database answers), /metrics (Prometheus)."""

from __future__ import annotations

from collections.abc import Callable

import structlog
from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from cliply.api.problems import problem
from cliply.db.engine import get_engine

router = APIRouter(tags=["health"])
log = structlog.get_logger()

# Collectors that refresh gauges from the database just before a scrape (e.g. queue depth).
SCRAPE_HOOKS: list[Callable[[], None]] = []


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
    return {"status": "ready", "database": "ok"}


@router.get("/metrics")
def metrics() -> Response:
    for hook in SCRAPE_HOOKS:
        try:
            hook()
        except Exception:  # a failing collector must not break the scrape
            log.warning("metrics_hook_failed", hook=getattr(hook, "__name__", "?"), exc_info=True)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
