"""Live project progress: server-sent events fed by PostgreSQL LISTEN/NOTIFY.

Migration 0003_studio makes jobs, projects and clips NOTIFY `cliply_project_events` with the
project id on every visible change. One LISTEN connection per API process (`ProjectHub`)
wakes the streams of that project; each wake-up re-reads the project's state in a short
tenant-scoped transaction and sends it. No polling: between changes the stream sends only
a keep-alive comment every 15 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import structlog
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from cliply.clips.models import Clip
from cliply.db.engine import database_url, get_sessionmaker
from cliply.jobs.models import Job
from cliply.projects import service as projects_service
from cliply.web.deps import PageRoute, SignedIn, enter_workspace
from cliply.web.session import BrowserSession

log = structlog.get_logger()
router = APIRouter(route_class=PageRoute)
CHANNEL = "cliply_project_events"
KEEPALIVE_S = 15.0
FINAL = ("ready", "failed")


class ProjectHub:
    """One LISTEN connection per event loop; wakes subscribers of the notified project."""

    def __init__(self) -> None:
        self.waiters: dict[str, set[asyncio.Event]] = {}
        self.task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    def subscribe(self, project_id: str) -> asyncio.Event:
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._run())
        ev = asyncio.Event()
        self.waiters.setdefault(project_id, set()).add(ev)
        return ev

    def unsubscribe(self, project_id: str, ev: asyncio.Event) -> None:
        subs = self.waiters.get(project_id)
        if subs is not None:
            subs.discard(ev)
            if not subs:
                self.waiters.pop(project_id, None)

    def _wake_all(self) -> None:
        for subs in self.waiters.values():
            for ev in subs:
                ev.set()

    async def _run(self) -> None:
        url = database_url().replace("postgresql+psycopg://", "postgresql://")
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    self._wake_all()  # anything missed while (re)connecting
                    async for note in conn.notifies():
                        for ev in self.waiters.get(note.payload, ()):
                            ev.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.listening.clear()
                log.warning("project events LISTEN lost; reconnecting", error=str(exc))
                await asyncio.sleep(1.0)


_hubs: dict[int, ProjectHub] = {}


def hub() -> ProjectHub:
    loop = asyncio.get_running_loop()
    h = _hubs.get(id(loop))
    if h is None:
        h = _hubs[id(loop)] = ProjectHub()
    return h


def _eta(project: Any, now: datetime) -> int | None:
    """Seconds left, extrapolated from the time spent so far (None until there is a trend)."""
    if project.status in FINAL or project.progress < 0.05:
        return None
    spent: float = (now - project.created_at).total_seconds()
    left = spent * (1 - float(project.progress)) / float(project.progress)
    return max(1, round(left))


def snapshot(bs: BrowserSession, project_id: uuid.UUID) -> dict[str, Any]:
    """The project's live state, read in one short tenant-scoped transaction."""
    with get_sessionmaker()() as db, db.begin():
        tenant, _, _ = enter_workspace(db, bs)
        tenant.require("projects.read")
        p = projects_service.get_project(db, tenant.workspace_id, project_id)
        jobs = list(
            db.scalars(select(Job).where(Job.project_id == project_id).order_by(Job.created_at))
        )
        clips = list(
            db.execute(select(Clip.status, Clip.render_key).where(Clip.project_id == project_id))
        )
        now = datetime.now(UTC)
        return {
            "status": p.status,
            "progress": round(p.progress, 4),
            "percent": round(p.progress * 100),
            "eta_s": _eta(p, now),
            "error": p.error_message,
            "error_code": p.error_code,
            "clips_total": len(clips),
            "clips_ready": sum(1 for _, key in clips if key),
            "jobs": [
                {
                    "id": str(j.id),
                    "kind": j.kind,
                    "status": j.status,
                    "progress": round(j.progress, 3),
                    "message": j.progress_message,
                    "attempts": j.attempts,
                    "error": j.error,
                }
                for j in jobs
            ],
            "done": p.status in FINAL and not any(j.status in ("queued", "running") for j in jobs),
        }


@router.get("/projects/{project_id}/events")
async def project_events(project_id: uuid.UUID, request: Request, bs: SignedIn) -> Any:
    first = await run_in_threadpool(snapshot, bs, project_id)  # 404/403 before streaming

    async def stream() -> AsyncIterator[bytes]:
        h = hub()
        key = str(project_id)
        ev = h.subscribe(key)
        try:
            state = first
            yield b"retry: 2000\n\n"
            while True:
                yield f"event: progress\ndata: {json.dumps(state)}\n\n".encode()
                if state["done"]:
                    return
                while True:
                    try:
                        await asyncio.wait_for(ev.wait(), timeout=KEEPALIVE_S)
                        break
                    except TimeoutError:
                        if await request.is_disconnected():
                            return
                        yield b": keep-alive\n\n"
                ev.clear()
                await asyncio.sleep(0.2)  # coalesce a burst of notifications into one read
                ev.clear()
                with contextlib.suppress(Exception):
                    state = await run_in_threadpool(snapshot, bs, project_id)
        finally:
            h.unsubscribe(key, ev)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
