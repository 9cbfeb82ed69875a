"""Studio publishing pages: connected accounts (health, connect, reconnect, disconnect),
scheduling one clip or many, the calendar, and the posts list with retry.

Pages read through the same services as the API; the schedule form and the calendar are JS
modules over the JSON API (post forms, batch scheduling, schedules).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse, Response

from cliply.accounts import oauth
from cliply.accounts import service as accounts
from cliply.accounts.schemas import AccountOut
from cliply.clips import service as clips
from cliply.errors import CliplyError
from cliply.platforms import registry
from cliply.schedules import flows
from cliply.schedules import service as schedules
from cliply.schedules.routes import _out as schedules_out
from cliply.schedules.schemas import ScheduleOut
from cliply.web.deps import PageRoute, Studio, StudioPage, redirect

router = APIRouter(route_class=PageRoute)

PLATFORM_NAMES = {"tiktok": "TikTok", "youtube": "YouTube", "instagram": "Instagram"}
PLATFORM_NAMES["facebook"] = "Facebook"
POST_FILTERS = {
    "all": None,
    "upcoming": ("scheduled", "queued", "publishing"),
    "published": ("published",),
    "failed": ("failed",),
}


def _accounts_page(
    studio: Studio, errors: dict[str, str] | None = None, status_code: int = 200
) -> HTMLResponse:
    rows = [
        AccountOut.model_validate(a) for a in accounts.list_accounts(studio.db, studio.workspace_id)
    ]
    return studio.render(
        "publishing/accounts.html",
        status_code=status_code,
        accounts=rows,
        platforms=[(p.name, p.label) for p in registry.all_platforms() if p.configured()],
        names=PLATFORM_NAMES,
        errors=errors or {},
        can_manage=studio.can("accounts.manage"),
        connected=studio.request.query_params.get("connected"),
    )


@router.get("/accounts", response_class=HTMLResponse)
def accounts_page(studio: StudioPage) -> HTMLResponse:
    studio.require("accounts.read")
    return _accounts_page(studio)


@router.post("/accounts/connect/{platform}")
def connect(platform: str, studio: StudioPage) -> Response:
    """Start the platform's OAuth consent (connect or reconnect); back to /accounts after."""
    studio.require("accounts.manage")
    try:
        started = oauth.start_connect(
            studio.db, studio.workspace_id, studio.user_id, registry.get(platform), "/accounts"
        )
    except CliplyError as exc:
        if exc.status == 402:
            raise
        return _accounts_page(studio, {f"connect-{platform}": exc.detail}, exc.status)
    return redirect(studio.request, started.authorize_url)


@router.post("/accounts/{account_id}/disconnect")
def disconnect(account_id: uuid.UUID, studio: StudioPage) -> Response:
    studio.require("accounts.manage")
    flows.disconnect_account(studio.db, studio.workspace_id, account_id, studio.user_id)
    return redirect(studio.request, "/accounts")


@router.get("/schedule", response_class=HTMLResponse)
def schedule_page(
    studio: StudioPage,
    clip: Annotated[list[uuid.UUID] | None, Query()] = None,
    clips_param: Annotated[str, Query(alias="clips", max_length=4000)] = "",
) -> HTMLResponse:
    """?clip=<id>&clip=<id> or ?clips=<id>,<id> (the gallery's bulk action) pre-selects."""
    studio.require("schedules.write")
    chosen = set(clip or [])
    for raw in clips_param.split(","):
        try:
            chosen.add(uuid.UUID(raw.strip()))
        except ValueError:
            continue
    ready = clips.recent_clips(studio.db, studio.workspace_id, ("ready", "queued", "rendering"))
    picked = [c for c in ready if c.id in chosen]
    others = [c for c in ready if c.id not in chosen]
    rows = [
        AccountOut.model_validate(a)
        for a in accounts.list_accounts(studio.db, studio.workspace_id)
        if a.status != accounts.DISCONNECTED
    ]
    return studio.render(
        "publishing/schedule.html",
        picked=picked,
        others=others,
        accounts=rows,
        names=PLATFORM_NAMES,
    )


@router.get("/calendar", response_class=HTMLResponse)
def calendar_page(studio: StudioPage) -> HTMLResponse:
    studio.require("schedules.read")
    return studio.render("publishing/calendar.html", can_schedule=studio.can("schedules.write"))


def _posts(studio: Studio, show: str) -> list[ScheduleOut]:
    wanted = POST_FILTERS.get(show)
    rows, _ = schedules.list_schedules(studio.db, studio.workspace_id, limit=100)
    if wanted is not None:
        rows = [r for r in rows if r.status in wanted]
    rows.sort(key=lambda r: r.scheduled_at, reverse=True)
    return schedules_out(studio.db, rows)


def _posts_page(
    studio: Studio, show: str, errors: dict[str, str] | None = None, status_code: int = 200
) -> HTMLResponse:
    items = _posts(studio, show)
    clip_titles = clips.titles(studio.db, studio.workspace_id, list({i.clip_id for i in items}))
    names = {a.id: a.display_name for a in accounts.list_accounts(studio.db, studio.workspace_id)}
    return studio.render(
        "publishing/posts.html",
        status_code=status_code,
        items=items,
        show=show if show in POST_FILTERS else "all",
        filters=list(POST_FILTERS),
        clip_titles=clip_titles,
        account_names=names,
        names=PLATFORM_NAMES,
        errors=errors or {},
        can_schedule=studio.can("schedules.write"),
        scheduled=studio.request.query_params.get("scheduled"),
    )


@router.get("/posts", response_class=HTMLResponse)
def posts_page(studio: StudioPage, show: str = "all") -> HTMLResponse:
    studio.require("schedules.read")
    return _posts_page(studio, show)


@router.post("/posts/{schedule_id}/retry")
def retry(
    schedule_id: uuid.UUID, studio: StudioPage, show: Annotated[str, Form()] = "all"
) -> Response:
    studio.require("schedules.write")
    try:
        schedules.retry_schedule(studio.db, studio.workspace_id, schedule_id, studio.user_id)
    except CliplyError as exc:
        if exc.status == 402:
            raise
        return _posts_page(studio, show, {str(schedule_id): exc.detail}, exc.status)
    return redirect(studio.request, f"/posts?show={show}&retried={schedule_id}")
