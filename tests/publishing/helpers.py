"""Helpers for the publishing tests: workspaces with rendered clips, the OAuth dance through
the fakes, running queued publish jobs in-process through the real queue API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update
from tests.fakes.meta import FakeMeta
from tests.fakes.server import RunningServer
from tests.fakes.tiktok import FakeTikTok
from tests.fakes.youtube import FakeYouTube
from tests.foundation.helpers import Account, make_workspace, signup_login

from cliply.app import install_hooks
from cliply.db.engine import owner_session
from cliply.errors import CliplyError
from cliply.jobs import queue
from cliply.jobs.registry import (
    HANDLERS,
    JobContext,
)
from cliply.platforms.registry import all_platforms

CRON_SECRET = "cron-secret-for-tests-0123456789"
WORKER = "publishing-test-worker"
PUBLISH_KINDS = [p.job_kind for p in all_platforms()]


@dataclass
class Fakes:
    tiktok: FakeTikTok
    google: FakeYouTube
    tiktok_server: RunningServer
    google_server: RunningServer
    meta: FakeMeta
    meta_server: RunningServer


@dataclass
class World:
    api: TestClient
    fakes: Fakes
    owner: Account
    workspace_id: uuid.UUID
    clip_id: uuid.UUID
    project_id: uuid.UUID
    video: Path
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def h(self) -> dict[str, str]:
        return self.owner.ws(str(self.workspace_id))


def set_plan(workspace_id: uuid.UUID, plan: str) -> None:
    from cliply.workspaces.models import Workspace

    with owner_session() as db:
        db.execute(update(Workspace).where(Workspace.id == workspace_id).values(plan=plan))


def add_clip(
    workspace_id: uuid.UUID,
    video: Path | None,
    *,
    project_id: uuid.UUID | None = None,
    status: str = "ready",
    title: str = "A clip worth watching",
) -> tuple[uuid.UUID, uuid.UUID]:
    """A project and a clip; with `video`, the clip's render is that file in storage."""
    from cliply.clips.models import Clip
    from cliply.projects.models import Project
    from cliply.storage import app_storage
    from cliply.storage.keys import render_key

    with owner_session() as db:
        if project_id is None:
            project = Project(workspace_id=workspace_id, name="Talk", source_type="upload")
            db.add(project)
            db.flush()
            project_id = project.id
        clip = Clip(
            workspace_id=workspace_id,
            project_id=project_id,
            start_s=3.0,
            end_s=5.0,
            title=title,
            description="Watch this one.",
            hashtags=["cliply", "shorts"],
            status=status,
            width=360,
            height=640,
        )
        db.add(clip)
        db.flush()
        if video is not None:
            key = render_key(workspace_id, project_id, clip.id)
            app_storage().put_file(key, video, content_type="video/mp4")
            clip.render_key = key
        return project_id, clip.id


def make_world(api: TestClient, fakes: Fakes, video: Path, plan: str = "pro") -> World:
    owner = signup_login(api)
    ws = make_workspace(api, owner)
    ws_id = uuid.UUID(ws["id"])
    set_plan(ws_id, plan)
    project_id, clip_id = add_clip(ws_id, video)
    return World(api, fakes, owner, ws_id, clip_id, project_id, video)


# --- OAuth -------------------------------------------------------------------------------------


def consent(authorize_url: str) -> str:
    """Play the browser at the platform's consent page: returns our callback path + query."""
    resp = httpx.get(authorize_url, follow_redirects=False)
    assert resp.status_code == 302, resp.text
    location = urlparse(resp.headers["location"])
    assert location.path.endswith("/callback")
    return f"{location.path}?{location.query}"


def start_connect(world: World, platform: str) -> str:
    r = world.api.post(f"/api/v1/accounts/{platform}/connect", headers=world.h)
    assert r.status_code == 200, r.text
    return str(r.json()["authorize_url"])


def connect(world: World, platform: str) -> dict[str, Any]:
    """The whole flow: connect → consent at the fake → our callback (no bearer)."""
    callback = consent(start_connect(world, platform))
    r = world.api.get(callback)
    assert r.status_code == 200, r.text
    account = dict(r.json())
    world.accounts[platform] = account
    return account


# --- schedules and jobs ------------------------------------------------------------------------


def schedule(world: World, platform: str, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "clip_id": str(world.clip_id),
        "account_id": world.accounts[platform]["id"],
        "scheduled_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
        "timezone": "Europe/Berlin",
        "title": "Our first short",
        "caption": "Made with Cliply",
        "hashtags": ["cliply", "#demo"],
        "privacy": "public",
    }
    body.update(fields)
    r = world.api.post("/api/v1/schedules", json=body, headers=world.h)
    assert r.status_code == 201, r.text
    return dict(r.json())


def make_due(schedule_id: str | uuid.UUID) -> None:
    """Time passes: the schedule's moment is now behind us."""
    from cliply.schedules.models import Schedule

    with owner_session() as db:
        db.execute(
            update(Schedule)
            .where(Schedule.id == uuid.UUID(str(schedule_id)))
            .values(scheduled_at=datetime.now(UTC) - timedelta(seconds=5))
        )


def cron_scan(api: TestClient) -> dict[str, Any]:
    r = api.post("/api/v1/cron/scan-schedules", headers={"Authorization": f"Bearer {CRON_SECRET}"})
    assert r.status_code == 200, r.text
    return dict(r.json())


@dataclass
class Ran:
    kind: str
    job_id: uuid.UUID
    status: str
    error: str | None = None
    result: dict[str, Any] | None = None


def run_due_jobs(kinds: list[str] | None = None, limit: int = 20) -> list[Ran]:
    """Claim and run queued jobs one by one as a worker does, ignoring retry backoff.

    A handler raising BaseException (SystemExit: a simulated crash) leaves its job running,
    like a dead worker; `reclaim_dead_jobs` puts it back.
    """
    install_hooks()
    ran: list[Ran] = []
    for _ in range(limit):
        with owner_session() as db:
            db.execute(text("UPDATE jobs SET run_at = now() WHERE status = 'queued'"))
        with owner_session() as db:
            claimed = queue.claim(db, WORKER, kinds or PUBLISH_KINDS, 1).jobs
        if not claimed:
            break
        job = claimed[0]
        ctx = JobContext(
            job.id, job.kind, job.payload, job.workspace_id, job.project_id, job.attempt, WORKER
        )
        try:
            result = HANDLERS[job.kind].fn(ctx)
        except Exception as exc:
            with owner_session() as db:
                status = queue.fail(
                    db,
                    job.id,
                    WORKER,
                    job.attempt,
                    str(exc),
                    code=getattr(exc, "code", "error"),
                    permanent=isinstance(exc, CliplyError) and not exc.retryable,
                )
            ran.append(Ran(job.kind, job.id, status or "lost", str(exc)))
            continue
        with owner_session() as db:
            queue.succeed(db, job.id, WORKER, job.attempt, result)
        ran.append(Ran(job.kind, job.id, "succeeded", result=result))
    return ran


def reclaim_dead_jobs() -> int:
    with owner_session() as db:
        return queue.reclaim_stale(db, 0.0, reclaimer="test")


def job_statuses() -> list[tuple[str, str, int]]:
    from cliply.jobs.models import Job

    with owner_session() as db:
        rows = db.execute(select(Job.kind, Job.status, Job.attempts).order_by(Job.created_at))
        return [(k, s, a) for k, s, a in rows.tuples()]


def posts_in_db(workspace_id: uuid.UUID) -> list[Any]:
    from cliply.publishing.models import Post

    with owner_session() as db:
        return list(db.scalars(select(Post).where(Post.workspace_id == workspace_id)))


def schedule_row(schedule_id: str | uuid.UUID) -> Any:
    from cliply.schedules.models import Schedule

    with owner_session() as db:
        return db.get(Schedule, uuid.UUID(str(schedule_id)))


def account_row(account_id: str | uuid.UUID) -> Any:
    from cliply.accounts.models import ConnectedAccount

    with owner_session() as db:
        return db.get(ConnectedAccount, uuid.UUID(str(account_id)))
