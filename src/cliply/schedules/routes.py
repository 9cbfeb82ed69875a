"""/api/v1/schedules (create, list, read, edit, cancel) and /api/v1/cron/scan-schedules."""

from __future__ import annotations

import hmac
import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, status
from sqlalchemy.orm import Session

from cliply.accounts.schemas import AccountOut
from cliply.api.deps import DB
from cliply.config import get_settings
from cliply.db.pagination import Page
from cliply.errors import Forbidden, NotFound, Unauthorized
from cliply.publishing import service as posts
from cliply.schedules import batch, flows, service
from cliply.schedules.models import Schedule
from cliply.schedules.schemas import PostSummary, ScanOut, ScheduleIn, ScheduleOut, SchedulePatch
from cliply.workspaces.deps import HeaderTenant

router = APIRouter(tags=["schedules"])


def _out(db: Session, schedules: list[Schedule]) -> list[ScheduleOut]:
    rel = service.related(db, schedules)
    out = []
    for s in schedules:
        post = rel.posts.get(s.id)
        out.append(
            ScheduleOut(
                id=s.id,
                clip_id=s.clip_id,
                account_id=s.account_id,
                platform=rel.platforms.get(s.account_id),
                scheduled_at=s.scheduled_at,
                timezone=s.timezone,
                scheduled_local=service.local_time(s.scheduled_at, s.timezone),
                title=s.title,
                caption=s.caption,
                hashtags=list(s.hashtags or []),
                privacy=s.privacy,
                options=dict(s.options or {}),
                status=s.status,
                error=s.error,
                job_id=s.job_id,
                post=PostSummary(
                    id=post.id,
                    status=post.status,
                    platform_post_id=post.platform_post_id,
                    url=post.url,
                    error=post.error,
                )
                if post
                else None,
                created_at=s.created_at,
                updated_at=s.updated_at,
            )
        )
    return out


def _one(db: Session, schedule: Schedule) -> ScheduleOut:
    db.flush()
    db.refresh(schedule)
    return _out(db, [schedule])[0]


@router.post(
    "/schedules",
    response_model=ScheduleOut,
    status_code=status.HTTP_201_CREATED,
    summary="Schedule a rendered clip on a connected account (leave scheduled_at out: now)",
)
def create_schedule(body: ScheduleIn, tenant: HeaderTenant, db: DB) -> ScheduleOut:
    tenant.require("schedules.write")
    return _one(db, service.create_schedule(db, tenant.workspace_id, tenant.user_id, body))


@router.get("/schedules", response_model=Page[ScheduleOut])
def list_schedules(
    tenant: HeaderTenant,
    db: DB,
    status: Annotated[str | None, Query(max_length=20)] = None,
    clip_id: uuid.UUID | None = None,
    account_id: uuid.UUID | None = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> Page[ScheduleOut]:
    tenant.require("schedules.read")
    rows, nxt = service.list_schedules(
        db,
        tenant.workspace_id,
        status=status,
        clip_id=clip_id,
        account_id=account_id,
        cursor=cursor,
        limit=limit,
    )
    return Page[ScheduleOut](items=_out(db, rows), next_cursor=nxt)


@router.get("/schedules/{schedule_id}", response_model=ScheduleOut)
def get_schedule(schedule_id: uuid.UUID, tenant: HeaderTenant, db: DB) -> ScheduleOut:
    tenant.require("schedules.read")
    return _out(db, [service.get_schedule(db, tenant.workspace_id, schedule_id)])[0]


@router.patch(
    "/schedules/{schedule_id}",
    response_model=ScheduleOut,
    summary="Edit a schedule not yet publishing; editing a failed one retries it",
)
def update_schedule(
    schedule_id: uuid.UUID, body: SchedulePatch, tenant: HeaderTenant, db: DB
) -> ScheduleOut:
    tenant.require("schedules.write")
    schedule = service.update_schedule(db, tenant.workspace_id, schedule_id, tenant.user_id, body)
    return _one(db, schedule)


@router.delete("/schedules/{schedule_id}", response_model=ScheduleOut, summary="Cancel")
def cancel_schedule(schedule_id: uuid.UUID, tenant: HeaderTenant, db: DB) -> ScheduleOut:
    tenant.require("schedules.write")
    schedule = service.cancel_schedule(db, tenant.workspace_id, schedule_id, tenant.user_id)
    return _one(db, schedule)


@router.post(
    "/schedules/batch",
    response_model=list[ScheduleOut],
    status_code=status.HTTP_201_CREATED,
    summary="Schedule every clip on every account at once: given times, or spread one a day at 18:00",
)
def create_batch(body: batch.BatchIn, tenant: HeaderTenant, db: DB) -> list[ScheduleOut]:
    tenant.require("schedules.write")
    rows = batch.create_batch(db, tenant.workspace_id, tenant.user_id, body)
    db.flush()
    for row in rows:
        db.refresh(row)
    return _out(db, rows)


@router.post(
    "/schedules/{schedule_id}/retry",
    response_model=ScheduleOut,
    summary="Publish a failed schedule again",
)
def retry_schedule(schedule_id: uuid.UUID, tenant: HeaderTenant, db: DB) -> ScheduleOut:
    tenant.require("schedules.write")
    schedule = service.retry_schedule(db, tenant.workspace_id, schedule_id, tenant.user_id)
    return _one(db, schedule)


@router.post(
    "/posts/{post_id}/retry",
    response_model=ScheduleOut,
    summary="Publish a failed post again (retries the schedule it came from)",
)
def retry_post(post_id: uuid.UUID, tenant: HeaderTenant, db: DB) -> ScheduleOut:
    tenant.require("schedules.write")
    post = posts.get_post(db, tenant.workspace_id, post_id)
    if post.schedule_id is None:
        raise NotFound("This post has no schedule to retry.", code="schedule-not-found")
    schedule = service.retry_schedule(db, tenant.workspace_id, post.schedule_id, tenant.user_id)
    return _one(db, schedule)


def _check_cron_secret(authorization: str | None, x_cron_secret: str | None) -> None:
    configured = get_settings().cron_secret
    secret = configured.get_secret_value() if configured is not None else ""
    if not secret:
        raise NotFound(
            "The cron endpoints are disabled (CRON_SECRET is not set).", code="cron-disabled"
        )
    given = x_cron_secret
    if given is None and authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer":
            given = value.strip()
    if not given:
        raise Unauthorized(
            "Send the cron secret as `Authorization: Bearer <secret>` or `X-CRON-SECRET`.",
            code="cron-secret-required",
        )
    if not hmac.compare_digest(given.encode("utf-8"), secret.encode("utf-8")):
        raise Forbidden("The cron secret is wrong.", code="cron-secret-invalid")


@router.post(
    "/cron/scan-schedules",
    response_model=ScanOut,
    summary="For an external cron: queue publish jobs for due schedules",
)
def cron_scan_schedules(
    db: DB,
    authorization: Annotated[str | None, Header()] = None,
    x_cron_secret: Annotated[str | None, Header(alias="X-CRON-SECRET")] = None,
) -> ScanOut:
    _check_cron_secret(authorization, x_cron_secret)
    result = flows.scan(db)
    return ScanOut(
        claimed=len(result.claimed), schedule_ids=result.claimed, repaired=len(result.repaired)
    )


@router.delete(
    "/accounts/{account_id}",
    response_model=AccountOut,
    tags=["accounts"],
    summary="Disconnect: revoke at the platform where possible, wipe tokens, fail the "
    "account's pending schedules",
)
def disconnect_account(account_id: uuid.UUID, tenant: HeaderTenant, db: DB) -> AccountOut:
    # Here rather than in accounts/routes.py: ending the schedules is this domain's step,
    # and accounts sits below schedules (no import back up).
    tenant.require("accounts.manage")
    account = flows.disconnect_account(db, tenant.workspace_id, account_id, tenant.user_id)
    return AccountOut.model_validate(account)
