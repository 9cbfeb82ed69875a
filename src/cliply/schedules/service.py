"""Schedules: create, edit, cancel, and the scan that hands due ones to the publish jobs.
The one module that writes the schedules table.

Times arrive as ISO datetimes plus an IANA zone and are stored in UTC with the zone kept for
display. The scan claims due schedules atomically (one UPDATE over rows taken with
FOR UPDATE SKIP LOCKED), so any number of schedulers and cron callers can run it at once and
each schedule is queued once; the publish job's dedupe key per schedule backs that up.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import CursorResult, Select, select, text, update
from sqlalchemy.orm import Session

from cliply.accounts.service import get_account, platforms_of, usable_reason
from cliply.audit.service import record as audit
from cliply.billing.gate import check_feature
from cliply.clips.models import Clip
from cliply.db.pagination import paginate
from cliply.errors import Conflict, NotFound, ValidationFailed
from cliply.jobs import queue
from cliply.platforms import registry
from cliply.platforms.base import Platform, PostText
from cliply.publishing.models import Post
from cliply.publishing.service import posts_for_schedules
from cliply.schedules import hooks
from cliply.schedules.models import Schedule
from cliply.schedules.schemas import ScheduleIn, SchedulePatch

# "Publish now" may arrive a little late (clock skew, slow clients): up to this is not past.
NOW_TOLERANCE: Final = timedelta(minutes=2)
PUBLISH_MAX_ATTEMPTS: Final = 5
EDITABLE: Final = ("scheduled", "failed", "paused")
CANCELLABLE: Final = ("scheduled", "queued", "failed", "paused")
PENDING: Final = ("scheduled", "queued")
# Schedules that will post (or did): what a platform's daily cap counts.
COUNTS_FOR_CAP: Final = ("scheduled", "queued", "publishing", "published")
CAP_WINDOW: Final = timedelta(hours=24)
# Clips in these states will have a render by the time they are due (or the publish retries).
SCHEDULABLE_CLIP: Final = ("ready", "queued", "rendering")


def _now() -> datetime:
    return datetime.now(UTC)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(
            f"{name!r} is not an IANA time zone (such as Europe/Berlin or UTC).",
            code="invalid-timezone",
        ) from None


def resolve_time(value: datetime | None, tz_name: str, now: datetime) -> datetime:
    """UTC instant of `value` (naive = wall-clock time in `tz_name`); None means now."""
    tz = zone(tz_name)
    if value is None:
        return now
    aware = value if value.tzinfo is not None else value.replace(tzinfo=tz)
    at = aware.astimezone(UTC)
    if at < now - NOW_TOLERANCE:
        raise ValidationFailed(
            f"The time {at.isoformat()} is in the past; give a future time, or leave "
            "scheduled_at out to publish now.",
            code="schedule-in-past",
        )
    return at


def local_time(at: datetime, tz_name: str) -> str:
    try:
        return at.astimezone(ZoneInfo(tz_name)).isoformat()
    except (ZoneInfoNotFoundError, ValueError):
        return at.isoformat()


def _gate(db: Session, workspace_id: uuid.UUID, at: datetime, now: datetime) -> None:
    # Posting now needs only publishing; a time ahead needs the scheduling feature.
    check_feature(db, workspace_id, "scheduling" if at > now + NOW_TOLERANCE else "publishing")


def _text_of(schedule: Schedule) -> PostText:
    return PostText(
        title=schedule.title,
        caption=schedule.caption,
        hashtags=tuple(schedule.hashtags or ()),
        privacy=schedule.privacy,
        options=dict(schedule.options or {}),
    )


def _check_cap(
    db: Session,
    platform: Platform,
    account_id: uuid.UUID,
    at: datetime,
    *,
    exclude: uuid.UUID | None = None,
) -> None:
    """Refuse a post that would put more than the platform's daily cap into some 24 h."""
    cap = platform.daily_post_cap()
    if cap is None:
        return
    stmt = select(Schedule.scheduled_at).where(
        Schedule.account_id == account_id,
        Schedule.status.in_(COUNTS_FOR_CAP),
        Schedule.scheduled_at > at - CAP_WINDOW,
        Schedule.scheduled_at < at + CAP_WINDOW,
    )
    if exclude is not None:
        stmt = stmt.where(Schedule.id != exclude)
    times = sorted([*db.scalars(stmt), at])
    # Sliding 24 h window over the sorted times: the fullest window that holds `at`.
    fullest, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= CAP_WINDOW:
            lo += 1
        if times[lo] <= at <= t:
            fullest = max(fullest, hi - lo + 1)
    if fullest > cap:
        raise Conflict(
            f"{platform.label} lets an account publish {cap} posts in 24 hours; this one would "
            "be over that limit. Pick another time.",
            code="publishing-limit-reached",
            platform=platform.name,
            limit=cap,
        )


def _clip(db: Session, workspace_id: uuid.UUID, clip_id: uuid.UUID) -> Clip:
    clip = db.scalar(select(Clip).where(Clip.id == clip_id, Clip.workspace_id == workspace_id))
    if clip is None:
        raise NotFound("No such clip.", code="clip-not-found")
    return clip


def get_schedule(
    db: Session, workspace_id: uuid.UUID, schedule_id: uuid.UUID, *, lock: bool = False
) -> Schedule:
    stmt = select(Schedule).where(Schedule.id == schedule_id, Schedule.workspace_id == workspace_id)
    schedule = db.scalar(stmt.with_for_update() if lock else stmt)
    if schedule is None:
        raise NotFound("No such schedule.", code="schedule-not-found")
    return schedule


def create_schedule(
    db: Session, workspace_id: uuid.UUID, user_id: uuid.UUID | None, body: ScheduleIn
) -> Schedule:
    now = _now()
    clip = _clip(db, workspace_id, body.clip_id)
    account = get_account(db, workspace_id, body.account_id)
    reason = usable_reason(account)
    if reason is not None:
        raise Conflict(reason, code="account-unusable", account_status=account.status)
    if clip.status not in SCHEDULABLE_CLIP:
        raise Conflict(
            f"The clip is not rendered (status {clip.status}); render it before scheduling.",
            code="clip-not-rendered",
            clip_status=clip.status,
        )
    platform = registry.get(account.platform)
    title = body.title if body.title is not None else clip.title
    at = resolve_time(body.scheduled_at, body.timezone, now)
    _gate(db, workspace_id, at, now)
    schedule = Schedule(
        id=uuid.uuid4(),
        workspace_id=workspace_id,
        clip_id=clip.id,
        account_id=account.id,
        scheduled_at=at,
        timezone=body.timezone,
        title=title,
        caption=body.caption if body.caption is not None else clip.description,
        hashtags=body.hashtags if body.hashtags is not None else list(clip.hashtags or []),
        privacy=body.privacy,
        options=body.options.model_dump(),
        status="scheduled",
        created_by=user_id,
    )
    platform.validate(_text_of(schedule))
    _check_cap(db, platform, account.id, at)
    db.add(schedule)
    db.flush()
    # Tracked links of the clip's products (and whatever else a domain adds), once the row
    # exists for them to point at; the text is checked again against the platform's rules.
    new = hooks.NewSchedule(workspace_id, schedule.id, clip.id, account.platform)
    extra = hooks.caption_additions(db, new)
    if extra:
        schedule.caption = "\n\n".join(t for t in (schedule.caption.strip(), *extra) if t)
        platform.validate(_text_of(schedule))
    # A domain may hold it back from the start (a linked product is out of stock).
    held = hooks.pause_reason(db, new)
    if held is not None:
        schedule.status, schedule.paused_reason = "paused", held
    db.flush()
    audit(
        db,
        "schedule.created",
        workspace_id=workspace_id,
        user_id=user_id,
        target_type="schedule",
        target_id=schedule.id,
        data={"platform": account.platform, "scheduled_at": at.isoformat()},
    )
    if at <= now and schedule.status == "scheduled":
        _enqueue(db, schedule, account.platform)  # publish now: no wait for the next scan
    return schedule


def update_schedule(
    db: Session,
    workspace_id: uuid.UUID,
    schedule_id: uuid.UUID,
    user_id: uuid.UUID | None,
    body: SchedulePatch,
) -> Schedule:
    """Edit a schedule not yet handed to a publish job; a failed one is scheduled again."""
    schedule = get_schedule(db, workspace_id, schedule_id, lock=True)
    if schedule.status not in EDITABLE:
        raise Conflict(
            f"The schedule is {schedule.status}; only scheduled or failed ones can be edited.",
            code="schedule-not-editable",
            schedule_status=schedule.status,
        )
    account = get_account(db, workspace_id, schedule.account_id)
    fields = body.model_dump(exclude_unset=True)
    now = _now()
    platform = registry.get(account.platform)
    if body.privacy is not None:
        schedule.privacy = body.privacy
    if body.title is not None:
        schedule.title = body.title
    if body.caption is not None:
        schedule.caption = body.caption
    if body.hashtags is not None:
        schedule.hashtags = body.hashtags
    if body.options is not None:
        schedule.options = body.options.model_dump()
    tz_name = body.timezone or schedule.timezone
    if "scheduled_at" in fields or body.timezone is not None:
        zone(tz_name)
        if "scheduled_at" in fields:
            schedule.scheduled_at = resolve_time(body.scheduled_at, tz_name, now)
        schedule.timezone = tz_name
    platform.validate(_text_of(schedule))
    if schedule.status == "failed":
        reason = usable_reason(account)
        if reason is not None:
            raise Conflict(reason, code="account-unusable", account_status=account.status)
        if schedule.scheduled_at < now:
            schedule.scheduled_at = now
        schedule.status, schedule.error = "scheduled", None
    _gate(db, workspace_id, schedule.scheduled_at, now)
    _check_cap(db, platform, account.id, schedule.scheduled_at, exclude=schedule.id)
    audit(
        db,
        "schedule.updated",
        workspace_id=workspace_id,
        user_id=user_id,
        target_type="schedule",
        target_id=schedule.id,
        data={"fields": sorted(fields)},
    )
    db.flush()
    if schedule.status == "scheduled" and schedule.scheduled_at <= now:
        _enqueue(db, schedule, account.platform)
    return schedule


def retry_schedule(
    db: Session, workspace_id: uuid.UUID, schedule_id: uuid.UUID, user_id: uuid.UUID | None
) -> Schedule:
    """Publish a failed schedule again, now (or at its time when that is still ahead)."""
    schedule = get_schedule(db, workspace_id, schedule_id)
    if schedule.status != "failed":
        raise Conflict(
            f"The schedule is {schedule.status}; only a failed one can be retried.",
            code="schedule-not-failed",
            schedule_status=schedule.status,
        )
    return update_schedule(db, workspace_id, schedule_id, user_id, SchedulePatch())


def cancel_schedule(
    db: Session, workspace_id: uuid.UUID, schedule_id: uuid.UUID, user_id: uuid.UUID | None
) -> Schedule:
    schedule = get_schedule(db, workspace_id, schedule_id, lock=True)
    if schedule.status == "cancelled":
        return schedule
    if schedule.status not in CANCELLABLE:
        raise Conflict(
            f"The schedule is {schedule.status}; it can no longer be cancelled.",
            code="schedule-not-cancellable",
            schedule_status=schedule.status,
        )
    if schedule.status == "queued" and schedule.job_id is not None:
        # A job that already ended is fine: the handler skips cancelled schedules anyway.
        with contextlib.suppress(Conflict, NotFound):
            queue.cancel(db, schedule.job_id, by=str(user_id) if user_id else None)
    schedule.status = "cancelled"
    audit(
        db,
        "schedule.cancelled",
        workspace_id=workspace_id,
        user_id=user_id,
        target_type="schedule",
        target_id=schedule.id,
    )
    db.flush()
    return schedule


def list_schedules(
    db: Session,
    workspace_id: uuid.UUID,
    *,
    status: str | None = None,
    clip_id: uuid.UUID | None = None,
    account_id: uuid.UUID | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[Schedule], str | None]:
    stmt: Select[Any] = select(Schedule).where(Schedule.workspace_id == workspace_id)
    if status is not None:
        stmt = stmt.where(Schedule.status == status)
    if clip_id is not None:
        stmt = stmt.where(Schedule.clip_id == clip_id)
    if account_id is not None:
        stmt = stmt.where(Schedule.account_id == account_id)
    return paginate(db, stmt, (Schedule.created_at, Schedule.id), cursor, limit)


@dataclass(frozen=True)
class Related:
    platforms: dict[uuid.UUID, str]
    posts: dict[uuid.UUID, Post]


def related(db: Session, schedules: list[Schedule]) -> Related:
    """The platform of each schedule's account and each schedule's post, in two queries."""
    return Related(
        platforms=platforms_of(db, {s.account_id for s in schedules}),
        posts=posts_for_schedules(db, [s.id for s in schedules]),
    )


# --- the scan ---------------------------------------------------------------------------------


def _enqueue(db: Session, schedule: Schedule, platform: str) -> None:
    try:
        kind = registry.get(platform).job_kind
    except NotFound:
        schedule.status, schedule.error = "failed", f"Unknown platform {platform!r}."
        return
    job = queue.enqueue(
        db,
        kind,
        {"schedule_id": str(schedule.id), "max_attempts": PUBLISH_MAX_ATTEMPTS},
        workspace_id=schedule.workspace_id,
        max_attempts=PUBLISH_MAX_ATTEMPTS,
        dedupe_key=f"publish:{schedule.id}",
    )
    schedule.status, schedule.job_id, schedule.error = "queued", job.id, None


_CLAIM_DUE_SQL = text("""
WITH due AS (
  SELECT s.id FROM schedules s
  WHERE s.status = 'scheduled' AND s.scheduled_at <= now()
  ORDER BY s.scheduled_at
  LIMIT :n
  FOR UPDATE OF s SKIP LOCKED
)
UPDATE schedules s SET status = 'queued', updated_at = now()
FROM due, connected_accounts a
WHERE s.id = due.id AND a.id = s.account_id AND s.status = 'scheduled'
RETURNING s.id, s.workspace_id, a.platform
""")

# A schedule whose publish job ended without the handler recording an outcome (the worker
# died on its last attempt, or the job was cancelled) would otherwise stay queued forever.
# (Their posts are failed by the caller: `schedules.flows.scan`.)
_REPAIR_SQL = text("""
UPDATE schedules s
SET status = 'failed', updated_at = now(),
    error = 'The publish job ' || j.status || COALESCE(': ' || j.error, '.')
FROM jobs j
WHERE s.job_id = j.id AND s.status IN ('queued', 'publishing')
  AND j.status IN ('failed', 'cancelled')
RETURNING s.id, s.error
""")


@dataclass(frozen=True)
class ScanResult:
    claimed: list[uuid.UUID]
    repaired: dict[uuid.UUID, str]


def scan_due(db: Session, *, limit: int = 200) -> ScanResult:
    """Claim due schedules and queue one publish job each (in the caller's transaction);
    fail those whose publish job ended without an outcome."""
    rows = db.execute(_CLAIM_DUE_SQL, {"n": limit}).tuples().all()
    claimed: list[uuid.UUID] = []
    for schedule_id, _workspace_id, platform in rows:
        schedule = db.get(Schedule, schedule_id)
        if schedule is None:
            continue
        _enqueue(db, schedule, platform)
        claimed.append(schedule_id)
    db.flush()
    repaired = {sid: str(error) for sid, error in db.execute(_REPAIR_SQL).tuples()}
    return ScanResult(claimed=claimed, repaired=repaired)


# --- a publish attempt's view of its schedule --------------------------------------------------


def lock_runnable(db: Session, schedule_id: uuid.UUID) -> Schedule | str:
    """The schedule, locked, when a publish attempt may run it; else why not."""
    schedule = db.scalar(select(Schedule).where(Schedule.id == schedule_id).with_for_update())
    if schedule is None:
        return "schedule-deleted"
    if schedule.status not in ("queued", "publishing"):
        return schedule.status
    return schedule


def text_of(schedule: Schedule) -> PostText:
    return _text_of(schedule)


def mark(db: Session, schedule_id: uuid.UUID, status: str, error: str | None = None) -> None:
    """Record an attempt's outcome; a schedule no longer queued or publishing keeps its state
    (e.g. cancelled meanwhile), except that a published post always wins."""
    schedule = db.get(Schedule, schedule_id, with_for_update=True)
    if schedule is None:
        return
    if status == "published" or schedule.status in ("queued", "publishing"):
        schedule.status, schedule.error = status, (error[:2000] if error else None)


def fail_pending_for_account(
    db: Session, workspace_id: uuid.UUID, account_id: uuid.UUID, reason: str
) -> int:
    """Fail the account's schedules that have not started publishing."""
    rows = db.execute(
        update(Schedule)
        .where(
            Schedule.workspace_id == workspace_id,
            Schedule.account_id == account_id,
            Schedule.status.in_(PENDING),
        )
        .values(status="failed", error=reason)
    )
    return int(cast(CursorResult[Any], rows).rowcount or 0)


# --- pausing (products out of stock) -----------------------------------------------------------

# Not yet handed to a platform: these can wait. A queued one's publish job is cancelled (the
# handler also skips a schedule that is no longer queued).
PAUSABLE: Final = ("scheduled", "queued")


def pause_for_clips(
    db: Session, workspace_id: uuid.UUID, clip_ids: Sequence[uuid.UUID], reason: str
) -> list[uuid.UUID]:
    """Pause the clips' schedules that have not started publishing; returns their ids."""
    if not clip_ids:
        return []
    rows = list(
        db.scalars(
            select(Schedule)
            .where(
                Schedule.workspace_id == workspace_id,
                Schedule.clip_id.in_(clip_ids),
                Schedule.status.in_(PAUSABLE),
            )
            .order_by(Schedule.scheduled_at, Schedule.id)
            .with_for_update()
        )
    )
    for schedule in rows:
        if schedule.status == "queued" and schedule.job_id is not None:
            with contextlib.suppress(Conflict, NotFound):
                queue.cancel(db, schedule.job_id, by="dropshipping")
        schedule.status, schedule.paused_reason, schedule.job_id = "paused", reason, None
    db.flush()
    return [s.id for s in rows]


def resume_for_clips(
    db: Session, workspace_id: uuid.UUID, clip_ids: Sequence[uuid.UUID], reason: str
) -> list[uuid.UUID]:
    """Schedule again the clips' schedules paused for `reason`; a time already past becomes
    now (the next scan queues it). Returns their ids."""
    if not clip_ids:
        return []
    now = _now()
    rows = list(
        db.scalars(
            select(Schedule)
            .where(
                Schedule.workspace_id == workspace_id,
                Schedule.clip_id.in_(clip_ids),
                Schedule.status == "paused",
                Schedule.paused_reason == reason,
            )
            .order_by(Schedule.scheduled_at, Schedule.id)
            .with_for_update()
        )
    )
    for schedule in rows:
        schedule.status, schedule.paused_reason = "scheduled", None
        if schedule.scheduled_at < now:
            schedule.scheduled_at = now
    db.flush()
    return [s.id for s in rows]
