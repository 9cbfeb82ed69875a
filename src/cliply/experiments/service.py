"""Experiments: variants of a clip rendered and posted side by side, evaluated by the winner
rule (`stats`), stopped by the rule, the deadline or by hand, and the winner promoted.

Each variant is a clip of its own, derived from the experiment's clip (`clips.service.
derive_clip`, origin `variant`): it renders through the ordinary CLIP_RENDER path with its own
look, and is scheduled and posted like any clip. A variant's posts are therefore the posts of
its clip; they are attached to it (variant_posts) whenever the experiment is evaluated.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from cliply.analytics import service as analytics
from cliply.audit.service import record as audit
from cliply.billing.gate import check_limit
from cliply.clips import service as clips
from cliply.clips.models import Clip
from cliply.config import get_settings
from cliply.db.pagination import paginate
from cliply.errors import Conflict, NotFound, ValidationFailed
from cliply.experiments import planner
from cliply.experiments import stats as rule
from cliply.experiments.models import Experiment, ExperimentVariant, VariantPost
from cliply.experiments.schemas import (
    ExperimentIn,
    ExperimentOut,
    PromoteIn,
    ScheduleIn,
    StopIn,
    VariantIn,
    VariantOut,
    VariantScheduleOut,
    VariantStats,
)
from cliply.highlights.sentences import split_sentences
from cliply.jobs import queue
from cliply.publishing.models import Post
from cliply.schedules import service as schedules
from cliply.schedules.schemas import ScheduleIn as OneScheduleIn
from cliply.storage import Storage
from cliply.transcribe.models import Word

EXPERIMENT_EVALUATE: Final = "EXPERIMENT_EVALUATE"
OPEN: Final = ("draft", "running")
# Schedules that will post (or did): a variant is "on" an account through these.
LIVE_SCHEDULES: Final = ("scheduled", "queued", "publishing", "published")
MAX_AHEAD: Final = timedelta(days=366)
NOW_TOLERANCE: Final = timedelta(minutes=2)


def _now() -> datetime:
    return datetime.now(UTC)


# --- reading --------------------------------------------------------------------------------------


def get(
    db: Session, workspace_id: uuid.UUID, experiment_id: uuid.UUID, *, lock: bool = False
) -> Experiment:
    stmt = select(Experiment).where(
        Experiment.id == experiment_id, Experiment.workspace_id == workspace_id
    )
    exp = db.scalar(stmt.with_for_update() if lock else stmt)
    if exp is None:
        raise NotFound("No such experiment.", code="experiment-not-found")
    return exp


def find(db: Session, workspace_id: uuid.UUID, experiment_id: uuid.UUID) -> Experiment | None:
    """The experiment, locked (the evaluate job and a stop by hand do not cross)."""
    return db.scalar(
        select(Experiment)
        .where(Experiment.id == experiment_id, Experiment.workspace_id == workspace_id)
        .with_for_update()
    )


def list_(
    db: Session,
    workspace_id: uuid.UUID,
    *,
    status: str | None = None,
    clip_id: uuid.UUID | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[Experiment], str | None]:
    stmt = select(Experiment).where(Experiment.workspace_id == workspace_id)
    if status is not None:
        stmt = stmt.where(Experiment.status == status)
    if clip_id is not None:
        stmt = stmt.where(Experiment.clip_id == clip_id)
    return paginate(db, stmt, (Experiment.created_at, Experiment.id), cursor, limit)


def variants_of(db: Session, exp: Experiment) -> list[ExperimentVariant]:
    return list(
        db.scalars(
            select(ExperimentVariant)
            .where(ExperimentVariant.experiment_id == exp.id)
            .order_by(ExperimentVariant.label)
        )
    )


def count_open(db: Session, workspace_id: uuid.UUID) -> int:
    return int(
        db.scalar(
            select(func.count())
            .select_from(Experiment)
            .where(Experiment.workspace_id == workspace_id, Experiment.status.in_(OPEN))
        )
        or 0
    )


# --- times ----------------------------------------------------------------------------------------


def _instant(value: datetime | None, tz_name: str, now: datetime, what: str) -> datetime:
    """UTC instant of a time in the request (naive = wall-clock in `tz_name`), not in the past
    and not more than a year ahead (so every sum of times below stays representable)."""
    if value is None:
        return now
    tz = schedules.zone(tz_name)
    try:
        at = (value if value.tzinfo is not None else value.replace(tzinfo=tz)).astimezone(UTC)
    except (OverflowError, ValueError):
        at = None
    if at is None or at > now + MAX_AHEAD:
        raise ValidationFailed(f"{what} must be within a year from now.", code="time-out-of-range")
    if at < now - NOW_TOLERANCE:
        raise ValidationFailed(f"{what} is in the past.", code="schedule-in-past")
    return at


# --- creating -------------------------------------------------------------------------------------


def _in_clip(words: Sequence[Word], start: float, end: float) -> list[Word]:
    return [w for w in words if w.start >= start - 1e-3 and w.end <= end + 1e-3]


def hook_starts(words: Sequence[Word], clip: Clip) -> list[tuple[float, str]]:
    """(start, text) of each sentence of the clip: the boundaries a hook may start at."""
    return [(s.start, s.text) for s in split_sentences(_in_clip(words, clip.start_s, clip.end_s))]


def _derive(
    db: Session, base: Clip, v: VariantIn, words: list[Word] | None
) -> tuple[Clip, dict[str, Any]]:
    """The variant's clip, and what it changes from the base (only what differs)."""
    changes: dict[str, Any] = {}
    start: float | None = None
    text_: str | None = None
    if v.hook_sentence is not None and v.hook_sentence > 0:
        assert words is not None
        starts = hook_starts(words, base)
        if v.hook_sentence >= len(starts):
            raise ValidationFailed(
                f"Variant {v.label}: the clip has {len(starts)} sentence(s); "
                f"hook_sentence {v.hook_sentence} is not one of them.",
                code="hook-sentence-out-of-range",
                sentences=len(starts),
            )
        start, first = starts[v.hook_sentence]
        text_ = clips.clip_text(words, replace(clips.look_of(base), start=start))
        changes["hook"] = {"sentence": v.hook_sentence, "start": round(start, 3), "text": first}
    if v.title is not None and v.title != base.title:
        changes["title"] = v.title
    if v.caption is not None and v.caption != base.description:
        changes["caption"] = v.caption
    if v.hashtags is not None and v.hashtags != list(base.hashtags or []):
        changes["hashtags"] = v.hashtags
    if v.caption_style is not None and v.caption_style != base.caption_style:
        changes["caption_style"] = v.caption_style
    if v.title_overlay is not None and v.title_overlay != base.title_overlay:
        changes["title_overlay"] = v.title_overlay
    if v.thumbnail_at is not None:
        length = base.end_s - (start if start is not None else base.start_s)
        if v.thumbnail_at >= length:
            raise ValidationFailed(
                f"Variant {v.label}: thumbnail_at must be inside the clip (< {length:.1f} s).",
                code="thumbnail-out-of-range",
            )
        changes["thumbnail_at"] = v.thumbnail_at
    clip = clips.derive_clip(
        db,
        base,
        clips.Derived(
            start=start,
            text=text_,
            title=v.title,
            description=v.caption,
            hashtags=v.hashtags,
            caption_style=v.caption_style,
            title_overlay=v.title_overlay,
            thumb_at=v.thumbnail_at,
        ),
    )
    return clip, changes


def create(
    db: Session,
    workspace_id: uuid.UUID,
    user_id: uuid.UUID | None,
    data: ExperimentIn,
    storage: Storage,
) -> Experiment:
    """The experiment, one derived clip per variant (each queues its CLIP_RENDER) and, with a
    schedule, the variants' posts spread over the accounts."""
    check_limit(db, workspace_id, "experiment_variants", current=0, adding=len(data.variants))
    check_limit(db, workspace_id, "running_experiments", current=count_open(db, workspace_id))
    base = clips.get_clip(db, workspace_id, data.clip_id)
    if base.origin == clips.VARIANT:
        raise Conflict(
            "This clip is an experiment's variant; start from the original clip.",
            code="clip-is-variant",
        )
    s = get_settings()
    now = _now()
    tz_name = data.schedule.timezone if data.schedule is not None else "UTC"
    wanted = {
        v.label: _instant(v.post_at, tz_name, now, f"Variant {v.label}'s post_at")
        for v in data.variants
        if v.post_at is not None
    }
    deadline = (
        _instant(data.deadline_at, tz_name, now, "deadline_at")
        if data.deadline_at is not None
        else None
    )
    words: list[Word] | None = None
    if any(v.hook_sentence for v in data.variants):
        words, _, _ = clips.words_of(db, workspace_id, base.id, storage)
    exp = Experiment(
        workspace_id=workspace_id,
        clip_id=base.id,
        name=data.name,
        metric=data.metric,
        status="draft",
        threshold=data.threshold if data.threshold is not None else s.experiment_win_threshold,
        deadline_at=deadline,
        auto_promote=data.auto_promote,
        plan={},
        stats={},
        created_by=user_id,
    )
    db.add(exp)
    db.flush()
    for v in data.variants:
        clip, changes = _derive(db, base, v, words)
        if v.label in wanted:
            changes["post_at"] = wanted[v.label].isoformat()
        db.add(
            ExperimentVariant(
                workspace_id=workspace_id,
                experiment_id=exp.id,
                label=v.label,
                clip_id=clip.id,
                changes=changes,
            )
        )
    db.flush()
    audit(
        db,
        "experiment.created",
        workspace_id=workspace_id,
        user_id=user_id,
        target_type="experiment",
        target_id=exp.id,
        data={"variants": len(data.variants), "metric": data.metric},
    )
    if data.schedule is not None:
        schedule(db, workspace_id, user_id, exp, data.schedule)
    return exp


# --- scheduling -----------------------------------------------------------------------------------


def _window() -> timedelta:
    return timedelta(seconds=get_settings().experiment_account_window_s)


def _one(
    db: Session,
    workspace_id: uuid.UUID,
    user_id: uuid.UUID | None,
    clip_id: uuid.UUID,
    account_id: uuid.UUID,
    at: datetime,
    plan: dict[str, Any],
) -> Any:
    return schedules.create_schedule(
        db,
        workspace_id,
        user_id,
        OneScheduleIn(
            clip_id=clip_id,
            account_id=account_id,
            scheduled_at=at,
            timezone=str(plan.get("timezone") or "UTC"),
            privacy=plan.get("privacy") or "public",
        ),
    )


def schedule(
    db: Session,
    workspace_id: uuid.UUID,
    user_id: uuid.UUID | None,
    exp: Experiment,
    body: ScheduleIn,
) -> Experiment:
    """Schedule every variant on the chosen accounts, spread by the window (planner); the
    experiment starts running. One refused post refuses them all (the caller's transaction)."""
    if exp.status != "draft":
        raise Conflict(
            f"The experiment is {exp.status}; only a draft is scheduled.",
            code="experiment-not-draft",
        )
    now = _now()
    start = _instant(body.start_at, body.timezone, now, "start_at")
    variants = variants_of(db, exp)
    wanted = [
        datetime.fromisoformat(v.changes["post_at"]) if v.changes.get("post_at") else None
        for v in variants
    ]
    slots = planner.plan(
        len(variants), body.account_ids, start, _window(), mode=body.mode, wanted=wanted
    )
    plan = {
        "account_ids": [str(a) for a in body.account_ids],
        "start_at": start.isoformat(),
        "timezone": body.timezone,
        "mode": body.mode,
        "privacy": body.privacy,
        "window_s": int(_window().total_seconds()),
    }
    for slot in slots:
        clip_id = variants[slot.variant].clip_id
        if clip_id is None:
            raise Conflict("A variant's clip was deleted.", code="variant-clip-missing")
        _one(db, workspace_id, user_id, clip_id, slot.account_id, slot.at, plan)
    exp.plan = plan
    exp.status, exp.started_at = "running", now
    if exp.deadline_at is None:
        last = max(s.at for s in slots)
        exp.deadline_at = last + timedelta(days=get_settings().experiment_default_days)
    db.flush()
    return exp


def _schedules_of(
    db: Session, workspace_id: uuid.UUID, clip_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Any]]:
    out: dict[uuid.UUID, list[Any]] = {}
    for clip_id in clip_ids:
        rows, _ = schedules.list_schedules(db, workspace_id, clip_id=clip_id, limit=200)
        out[clip_id] = sorted(rows, key=lambda r: r.scheduled_at)
    return out


# --- evidence and the rule ------------------------------------------------------------------------


def attach_posts(db: Session, exp: Experiment, variants: Sequence[ExperimentVariant]) -> int:
    """Attach each variant's posts (the posts of its clip) to it; idempotent."""
    by_clip = {v.clip_id: v.id for v in variants if v.clip_id is not None}
    if not by_clip:
        return 0
    rows = db.execute(
        select(Post.id, Post.clip_id).where(
            Post.workspace_id == exp.workspace_id, Post.clip_id.in_(list(by_clip))
        )
    ).tuples()
    values = [
        {"workspace_id": exp.workspace_id, "variant_id": by_clip[clip_id], "post_id": post_id}
        for post_id, clip_id in rows
        if clip_id is not None
    ]
    if not values:
        return 0
    done = db.execute(
        insert(VariantPost)
        .values(values)
        .on_conflict_do_nothing(index_elements=["variant_id", "post_id"])
        .returning(VariantPost.id)
    ).all()
    return len(done)


@dataclass(frozen=True)
class Evidence:
    variant: ExperimentVariant
    post_ids: list[uuid.UUID]
    arm: rule.Arm
    measured_posts: int
    newest: datetime | None  # the newest measurement used


def evidence(db: Session, exp: Experiment, variants: Sequence[ExperimentVariant]) -> list[Evidence]:
    """Each variant's posts and, from each post's latest measurement, the rule's inputs."""
    links: dict[uuid.UUID, list[uuid.UUID]] = {v.id: [] for v in variants}
    for variant_id, post_id in db.execute(
        select(VariantPost.variant_id, VariantPost.post_id).where(
            VariantPost.variant_id.in_([v.id for v in variants])
        )
    ).tuples():
        links[variant_id].append(post_id)
    all_posts = [p for ids in links.values() for p in ids]
    published = {
        pid: at
        for pid, at in db.execute(
            select(Post.id, Post.published_at).where(
                Post.id.in_(all_posts), Post.published_at.is_not(None)
            )
        ).tuples()
    }
    latest = analytics.latest_snapshots(db, list(published))
    out: list[Evidence] = []
    for v in variants:
        views = hits = hours = 0.0
        measured = 0
        newest: datetime | None = None
        for pid in links[v.id]:
            snap, at = latest.get(pid), published.get(pid)
            if snap is None or at is None:
                continue
            age_h = (snap.collected_at - at).total_seconds() / 3600.0
            if age_h <= 0:
                continue
            measured += 1
            views += snap.views
            hits += snap.likes + snap.comments + snap.shares
            hours += age_h
            newest = snap.collected_at if newest is None else max(newest, snap.collected_at)
        arm = (
            rule.Arm(count=views, exposure=hours, views=views)
            if exp.metric == "views"
            else rule.Arm(count=hits, exposure=views, views=views)
        )
        out.append(Evidence(v, sorted(links[v.id]), arm, measured, newest))
    return out


@dataclass(frozen=True)
class Evaluation:
    evidence: list[Evidence]
    stats: list[rule.ArmStats]
    decision: rule.Decision


def assess(db: Session, exp: Experiment, now: datetime | None = None) -> Evaluation:
    """The rule on the experiment's current evidence (writes nothing but post links)."""
    s = get_settings()
    variants = variants_of(db, exp)
    attach_posts(db, exp, variants)
    ev = evidence(db, exp, variants)
    arms = [e.arm for e in ev]
    measured = rule.evaluate(exp.metric, arms, min_lift=s.experiment_min_lift)
    now = now or _now()
    decision = rule.decide(
        arms,
        measured,
        threshold=exp.threshold,
        min_views=s.experiment_min_views,
        past_deadline=exp.deadline_at is not None and exp.deadline_at <= now,
    )
    return Evaluation(ev, measured, decision)


def _stats_json(ev: Evaluation) -> dict[str, Any]:
    return {
        "ready": ev.decision.ready,
        "variants": {
            str(e.variant.id): {
                "posts": e.measured_posts,
                "views": e.arm.views,
                "count": e.arm.count,
                "exposure": e.arm.exposure,
                "p_best": st.p_best,
                "p_win": st.p_win,
                # Without a measured post the posterior is the prior's: nothing to show.
                "mean": st.mean if e.measured_posts else None,
                "low": st.low if e.measured_posts else None,
                "high": st.high if e.measured_posts else None,
            }
            for e, st in zip(ev.evidence, ev.stats, strict=True)
        },
    }


def evaluate(db: Session, exp: Experiment) -> Evaluation:
    """EXPERIMENT_EVALUATE's step: store the rule's numbers; stop on a confident winner or
    at the deadline (auto-promoting the winner when asked)."""
    now = _now()
    ev = assess(db, exp, now)
    exp.stats = _stats_json(ev)
    exp.evaluated_at = max([e.newest for e in ev.evidence if e.newest is not None], default=now)
    if exp.status == "running" and ev.decision.stop:
        winner = ev.evidence[ev.decision.winner].variant if ev.decision.winner is not None else None
        _end(db, exp, winner, ev.decision.reason or "threshold", None)
        if winner is not None and exp.auto_promote:
            promote(db, exp.workspace_id, None, exp.id, PromoteIn())
    db.flush()
    return ev


def _end(
    db: Session,
    exp: Experiment,
    winner: ExperimentVariant | None,
    reason: str,
    user_id: uuid.UUID | None,
) -> None:
    """End the experiment; the losers' posts still waiting are cancelled."""
    exp.status, exp.ended_at, exp.stop_reason = "ended", _now(), reason
    exp.winner_variant_id = winner.id if winner is not None else None
    losers = [
        v.clip_id
        for v in variants_of(db, exp)
        if v.clip_id is not None and (winner is None or v.id != winner.id)
    ]
    for rows in _schedules_of(db, exp.workspace_id, losers).values():
        for row in rows:
            if row.status == "scheduled":
                schedules.cancel_schedule(db, exp.workspace_id, row.id, user_id)
    audit(
        db,
        "experiment.ended",
        workspace_id=exp.workspace_id,
        user_id=user_id,
        target_type="experiment",
        target_id=exp.id,
        data={"reason": reason, "winner": str(winner.id) if winner else None},
    )


def stop(
    db: Session,
    workspace_id: uuid.UUID,
    user_id: uuid.UUID | None,
    experiment_id: uuid.UUID,
    body: StopIn,
) -> Experiment:
    """Stop by hand: the winner given, else the rule's winner if it is confident now."""
    exp = get(db, workspace_id, experiment_id, lock=True)
    if exp.status not in OPEN:
        raise Conflict(
            f"The experiment already {exp.status} ({exp.stop_reason}).",
            code="experiment-ended",
        )
    variants = variants_of(db, exp)
    winner: ExperimentVariant | None = None
    if body.winner_variant_id is not None:
        winner = next((v for v in variants if v.id == body.winner_variant_id), None)
        if winner is None:
            raise NotFound("No such variant in this experiment.", code="variant-not-found")
    else:
        ev = assess(db, exp)
        exp.stats = _stats_json(ev)
        if ev.decision.winner is not None and ev.decision.reason == "threshold":
            winner = ev.evidence[ev.decision.winner].variant
    _end(db, exp, winner, "manual", user_id)
    db.flush()
    return exp


@dataclass(frozen=True)
class Promoted:
    schedule_id: uuid.UUID
    account_id: uuid.UUID
    scheduled_at: datetime
    status: str


def promote(
    db: Session,
    workspace_id: uuid.UUID,
    user_id: uuid.UUID | None,
    experiment_id: uuid.UUID,
    body: PromoteIn,
) -> list[Promoted]:
    """Schedule the winner on the accounts that have not posted it (nor have it scheduled),
    each at the earliest time that keeps the window from the experiment's posts there."""
    exp = get(db, workspace_id, experiment_id)
    if exp.winner_variant_id is None:
        raise Conflict("The experiment has no winner to promote.", code="experiment-no-winner")
    variants = variants_of(db, exp)
    winner = next((v for v in variants if v.id == exp.winner_variant_id), None)
    if winner is None or winner.clip_id is None:
        raise Conflict("The winning variant's clip was deleted.", code="variant-clip-missing")
    plan = dict(exp.plan or {})
    if body.account_ids is not None:
        accounts = list(dict.fromkeys(body.account_ids))
    else:
        accounts = [uuid.UUID(a) for a in plan.get("account_ids", [])]
    now = _now()
    tz_name = str(plan.get("timezone") or "UTC")
    want = _instant(body.at, tz_name, now, "at")
    by_clip = _schedules_of(db, workspace_id, [v.clip_id for v in variants if v.clip_id])
    done: list[Promoted] = []
    for account_id in accounts:
        own = [
            r
            for r in by_clip.get(winner.clip_id, [])
            if r.account_id == account_id and r.status in LIVE_SCHEDULES
        ]
        if own:
            continue
        taken = [
            r.scheduled_at
            for rows in by_clip.values()
            for r in rows
            if r.account_id == account_id and r.status in LIVE_SCHEDULES
        ]
        at = planner.earliest_free(want, taken, _window())
        row = _one(db, workspace_id, user_id, winner.clip_id, account_id, at, plan)
        done.append(Promoted(row.id, row.account_id, row.scheduled_at, row.status))
    exp.promoted_at = now
    db.flush()
    return done


# --- the periodic scan ----------------------------------------------------------------------------

_DUE_SQL = text("""
SELECT e.id, e.workspace_id FROM experiments e
WHERE e.status = 'running' AND (
  (e.deadline_at IS NOT NULL AND e.deadline_at <= now())
  OR EXISTS (
    SELECT 1 FROM experiment_variants v
    JOIN posts p ON p.clip_id = v.clip_id AND p.workspace_id = e.workspace_id
    JOIN post_metrics m ON m.post_id = p.id
    WHERE v.experiment_id = e.id
      AND m.collected_at > COALESCE(e.evaluated_at, '-infinity'::timestamptz)
  )
)
ORDER BY e.created_at
LIMIT :n
""")


def queue_due(db: Session, *, limit: int = 500) -> int:
    """Queue EXPERIMENT_EVALUATE for running experiments with new metrics or past their
    deadline (one queued job per experiment at a time)."""
    rows = db.execute(_DUE_SQL, {"n": limit}).tuples().all()
    for experiment_id, workspace_id in rows:
        queue.enqueue(
            db,
            EXPERIMENT_EVALUATE,
            {"experiment_id": str(experiment_id)},
            workspace_id=workspace_id,
            max_attempts=3,
            dedupe_key=f"experiment-evaluate:{experiment_id}",
        )
    return len(rows)


# --- API shapes -----------------------------------------------------------------------------------


def to_out(db: Session, exp: Experiment, *, live: bool = True) -> ExperimentOut:
    """The experiment with its variants; `live` runs the rule now (else the stored numbers)."""
    variants = variants_of(db, exp)
    clip_ids = [v.clip_id for v in variants if v.clip_id is not None]
    clip_rows = (
        {c.id: c for c in db.scalars(select(Clip).where(Clip.id.in_(clip_ids)))} if clip_ids else {}
    )
    jobs = clips.render_jobs(db, exp.workspace_id, list(clip_rows.values()))
    by_clip = _schedules_of(db, exp.workspace_id, clip_ids)
    if live:
        ev = assess(db, exp)
        stored = _stats_json(ev)
    else:
        stored = dict(exp.stats or {})
    per = stored.get("variants", {})
    links: dict[uuid.UUID, list[uuid.UUID]] = {v.id: [] for v in variants}
    if variants:
        for variant_id, post_id in db.execute(
            select(VariantPost.variant_id, VariantPost.post_id).where(
                VariantPost.variant_id.in_(list(links))
            )
        ).tuples():
            links[variant_id].append(post_id)
    outs: list[VariantOut] = []
    for v in variants:
        clip = clip_rows.get(v.clip_id) if v.clip_id else None
        job = jobs.get(v.clip_id) if v.clip_id else None
        outs.append(
            VariantOut(
                id=v.id,
                label=v.label,
                clip_id=v.clip_id,
                clip_status=clip.status if clip else None,
                render_job_id=job.id if job else None,
                changes=dict(v.changes or {}),
                post_ids=sorted(links[v.id]),
                schedules=[
                    VariantScheduleOut(
                        schedule_id=r.id,
                        account_id=r.account_id,
                        scheduled_at=r.scheduled_at,
                        status=r.status,
                    )
                    for r in (by_clip.get(v.clip_id, []) if v.clip_id else [])
                ],
                stats=VariantStats(**per.get(str(v.id), {})),
            )
        )
    leader = max(outs, key=lambda o: o.stats.p_win or 0.0, default=None)
    return ExperimentOut(
        id=exp.id,
        clip_id=exp.clip_id,
        name=exp.name,
        metric=exp.metric,
        status=exp.status,
        threshold=exp.threshold,
        deadline_at=exp.deadline_at,
        stop_reason=exp.stop_reason,
        auto_promote=exp.auto_promote,
        winner_variant_id=exp.winner_variant_id,
        leader_variant_id=leader.id if leader and leader.stats.p_win is not None else None,
        ready=bool(stored.get("ready", False)),
        started_at=exp.started_at,
        ended_at=exp.ended_at,
        evaluated_at=exp.evaluated_at,
        promoted_at=exp.promoted_at,
        created_at=exp.created_at,
        plan=dict(exp.plan or {}),
        variants=outs,
    )
