"""Clips: listing, manual clips and edits (trims snapped to words), renders and their links.

Every change that shows in the video (times, caption style, aspect) bumps `render_version`
and queues a CLIP_RENDER for that version; an older render still running finds itself stale.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cliply.clips.models import Clip
from cliply.clips.schemas import ClipIn, ClipPatch
from cliply.config import get_settings
from cliply.errors import Conflict, NotFound, ValidationFailed
from cliply.jobs import registry
from cliply.jobs.models import Job
from cliply.jobs.queue import enqueue
from cliply.pipeline.options import MAX_CLIP_S
from cliply.pipeline.steps import snap_to_words
from cliply.projects import service as projects
from cliply.projects.models import Project
from cliply.storage import ObjectNotFound, Storage
from cliply.storage.keys import transcript_key
from cliply.transcribe.formats import from_json
from cliply.transcribe.models import Word

MIN_CLIP_S = 1.0
ACTIVE = ("queued", "rendering")


def queue_render(db: Session, clip: Clip) -> Job:
    clip.status, clip.error = "queued", None
    return enqueue(
        db,
        registry.CLIP_RENDER,
        {
            "clip_id": str(clip.id),
            "project_id": str(clip.project_id),
            "render_version": clip.render_version,
        },
        workspace_id=clip.workspace_id,
        project_id=clip.project_id,
        dedupe_key=f"clip_render:{clip.id}:{clip.render_version}",
    )


def list_clips(db: Session, workspace_id: uuid.UUID, project_id: uuid.UUID) -> list[Clip]:
    projects.get_project(db, workspace_id, project_id)
    return list(
        db.scalars(
            select(Clip)
            .where(Clip.project_id == project_id, Clip.workspace_id == workspace_id)
            .order_by(Clip.rank.asc().nulls_last(), Clip.score.desc().nulls_last(), Clip.start_s)
        )
    )


def get_clip(
    db: Session, workspace_id: uuid.UUID, clip_id: uuid.UUID, *, lock: bool = False
) -> Clip:
    stmt = select(Clip).where(Clip.id == clip_id, Clip.workspace_id == workspace_id)
    clip = db.scalar(stmt.with_for_update() if lock else stmt)
    if clip is None:
        raise NotFound("No such clip.", code="clip-not-found")
    return clip


def _words(storage: Storage, workspace_id: uuid.UUID, project_id: uuid.UUID) -> list[Word]:
    try:
        raw = storage.read_bytes(transcript_key(workspace_id, project_id, "json"))
    except ObjectNotFound:
        raise Conflict("The project has no transcript yet.", code="transcript-not-ready") from None
    return from_json(raw).words()


def _place(words: list[Word], project: Project, start: float, end: float) -> tuple[float, float]:
    """Snap to word boundaries and check the range fits the source."""
    duration = project.duration_s or 0.0
    if duration and start >= duration:
        raise ValidationFailed(
            f"start is past the end of the video ({duration:.1f} s).", code="clip-out-of-range"
        )
    s, e = snap_to_words(words, start, min(end, duration) if duration else end)
    if duration:
        e = min(e, duration)
    if e - s < MIN_CLIP_S:
        raise ValidationFailed(
            f"A clip lasts at least {MIN_CLIP_S:g} s (after snapping to words).",
            code="clip-too-short",
        )
    if e - s > MAX_CLIP_S:
        raise ValidationFailed(f"A clip lasts at most {MAX_CLIP_S:g} s.", code="clip-too-long")
    return s, e


def _text(words: list[Word], start: float, end: float) -> str:
    return " ".join(
        w.text.strip() for w in words if w.start >= start - 1e-3 and w.end <= end + 1e-3
    )


def add_clip(
    db: Session, workspace_id: uuid.UUID, project_id: uuid.UUID, body: ClipIn, storage: Storage
) -> Clip:
    project = projects.get_project(db, workspace_id, project_id)
    words = _words(storage, workspace_id, project_id)
    start, end = _place(words, project, body.start, body.end)
    opts = project.options or {}
    text = _text(words, start, end)
    clip = Clip(
        workspace_id=workspace_id,
        project_id=project_id,
        origin="manual",
        rank=None,
        start_s=start,
        end_s=end,
        title=body.title or text[:70],
        text=text,
        hashtags=[],
        reasons=[],
        score=None,
        caption_style=body.caption_style
        or str(opts.get("caption_style") or get_settings().caption_style_default),
        aspect=body.aspect or str(opts.get("aspect", "9:16")),
        render_version=1,
    )
    db.add(clip)
    db.flush()
    queue_render(db, clip)
    db.flush()
    return clip


def update_clip(
    db: Session, workspace_id: uuid.UUID, clip_id: uuid.UUID, patch: ClipPatch, storage: Storage
) -> Clip:
    clip = get_clip(db, workspace_id, clip_id, lock=True)
    rerender = False
    if patch.start is not None or patch.end is not None:
        project = projects.get_project(db, workspace_id, clip.project_id)
        words = _words(storage, workspace_id, clip.project_id)
        start = patch.start if patch.start is not None else clip.start_s
        end = patch.end if patch.end is not None else clip.end_s
        if end <= start:
            raise ValidationFailed("end must be after start.", code="clip-invalid-range")
        start, end = _place(words, project, start, end)
        if (start, end) != (clip.start_s, clip.end_s):
            clip.start_s, clip.end_s, clip.text = start, end, _text(words, start, end)
            rerender = True
    for name in ("caption_style", "aspect"):
        value = getattr(patch, name)
        if value is not None and value != getattr(clip, name):
            setattr(clip, name, value)
            rerender = True
    if patch.title is not None:
        clip.title = patch.title
    if patch.description is not None:
        clip.description = patch.description
    if patch.hashtags is not None:
        clip.hashtags = [t if t.startswith("#") else f"#{t}" for t in patch.hashtags]
    if rerender:
        clip.render_version += 1
        queue_render(db, clip)
    db.flush()
    return clip


def delete_clip(db: Session, workspace_id: uuid.UUID, clip_id: uuid.UUID, storage: Storage) -> None:
    clip = get_clip(db, workspace_id, clip_id)
    keys = [k for k in (clip.render_key, clip.thumb_key) if k]
    db.delete(clip)
    db.flush()
    for key in keys:
        storage.delete(key)


def media_key(db: Session, workspace_id: uuid.UUID, clip_id: uuid.UUID, what: str) -> str:
    clip = get_clip(db, workspace_id, clip_id)
    key = clip.render_key if what == "render" else clip.thumb_key
    if key is None:
        raise Conflict(
            "The clip has not been rendered yet.", code="clip-not-rendered", clip_status=clip.status
        )
    return key


def settle_project(db: Session, project_id: uuid.UUID) -> None:
    """After a render ended: the project's progress follows its clips; with none left to
    render, a project in `rendering` becomes ready."""
    project = db.scalar(select(Project).where(Project.id == project_id).with_for_update())
    if project is None or project.status != "rendering":
        return
    counts = dict(
        db.execute(
            select(Clip.status, func.count())
            .where(Clip.project_id == project_id)
            .group_by(Clip.status)
        ).all()
    )
    total = sum(counts.values())
    pending = sum(counts.get(s, 0) for s in ACTIVE)
    if pending == 0:
        projects.set_stage(db, project_id, "ready", 1.0)
    else:
        projects.set_progress(db, project_id, "rendering", (total - pending) / max(1, total))
