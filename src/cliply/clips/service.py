"""Clips: listing, manual clips and edits (trims snapped to words), renders and their links.

Every change that shows in the video (times, caption style, aspect, caption fixes, the title
overlay) bumps `render_version` and queues a CLIP_RENDER for that version; an older render
still running finds itself stale.

How a clip looks is one value, `Look`, resolved from the clip plus an editor draft by
`resolve_look`. The editor's previews draw a draft's Look, a save stores it, and the render
draws the stored one through the same `render_spec_for`: a previewed look renders the same
(both report its `digest`).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from cliply.billing.plans import Plan
from cliply.brand import service as brand
from cliply.clips.models import Clip
from cliply.clips.schemas import ClipIn, ClipLookIn, ClipPatch, PreviewIn
from cliply.config import get_settings
from cliply.db.pagination import paginate
from cliply.errors import Conflict, NotFound, ValidationFailed
from cliply.highlights.models import Highlight
from cliply.jobs import registry
from cliply.jobs.models import Job
from cliply.jobs.queue import enqueue
from cliply.jobs.service import latest_by_dedupe_keys
from cliply.media import probe
from cliply.media.audio import waveform_peaks
from cliply.media.captionfx import is_keyword, keyword_set
from cliply.media.captions import CAPTION_STYLES
from cliply.media.export import EXPORT_FORMATS
from cliply.pipeline.config import render_spec, work_root
from cliply.pipeline.options import MAX_CLIP_S, CaptionFx, caption_fx_of, layout_of
from cliply.pipeline.sources import local_source
from cliply.pipeline.steps import (
    BrandSpec,
    RenderSpec,
    preview_frames,
    preview_time,
    slugify,
    snap_to_words,
)
from cliply.projects import service as projects
from cliply.projects.models import Project
from cliply.storage import ObjectNotFound, Storage
from cliply.storage.keys import captions_key, export_key, preview_key, transcript_key
from cliply.transcribe.formats import from_json
from cliply.transcribe.models import Word

MIN_CLIP_S = 1.0
ACTIVE = ("queued", "rendering")
# Clips copied from another for an experiment: rendered and posted, kept out of the gallery.
VARIANT = "variant"


def render_dedupe_key(clip: Clip) -> str:
    return f"clip_render:{clip.id}:{clip.render_version}"


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
        dedupe_key=render_dedupe_key(clip),
    )


def render_jobs(db: Session, workspace_id: uuid.UUID, clips: list[Clip]) -> dict[uuid.UUID, Job]:
    """The newest render job of each clip's current version (its live status and progress)."""
    by_key = latest_by_dedupe_keys(db, workspace_id, [render_dedupe_key(c) for c in clips])
    return {c.id: by_key[k] for c in clips if (k := render_dedupe_key(c)) in by_key}


# --- the look: one value for preview and render ----------------------------------------------


@dataclass(frozen=True)
class Look:
    start: float
    end: float
    aspect: str
    caption_style: str
    title: str
    title_overlay: bool
    caption_edits: dict[str, str] = field(default_factory=dict)
    thumb_at: float | None = None  # seconds after start; None: best-scoring frame
    caption_fx: CaptionFx = field(default_factory=CaptionFx)
    keywords: tuple[str, ...] = ()  # the clip's hashtags (emphasis and emoji)

    def word_edits(self) -> tuple[tuple[int, str], ...]:
        return tuple(sorted((int(k), v) for k, v in self.caption_edits.items()))

    def visible(self) -> tuple[object, ...]:
        """What shows in the video (a change here means a re-render)."""
        return (
            self.start,
            self.end,
            self.aspect,
            self.caption_style,
            self.title if self.title_overlay else None,
            self.word_edits(),
            self.thumb_at,
            self.caption_fx,
        )

    def shows_keywords(self, keywords: Sequence[str], text: str) -> bool:
        """Whether any of `keywords` is drawn differently in this look (emphasised, or with
        an emoji) because a word of `text` is one of them."""
        fx = self.caption_fx
        wanted = keyword_set(keywords)
        if not wanted or not (fx.keyword_emphasis or fx.emoji):
            return False
        return any(is_keyword(token, wanted) for token in text.split())


def look_of(clip: Clip) -> Look:
    return Look(
        start=clip.start_s,
        end=clip.end_s,
        aspect=clip.aspect,
        caption_style=clip.caption_style,
        title=clip.title,
        title_overlay=clip.title_overlay,
        caption_edits=dict(clip.caption_edits or {}),
        thumb_at=clip.thumb_at_s,
        caption_fx=caption_fx_of(clip.caption_fx),
        keywords=tuple(clip.hashtags or ()),
    )


def render_spec_for(
    look: Look, plan: Plan | None, kit: BrandSpec | None = None, layout: str = "auto"
) -> RenderSpec:
    """The render parameters of a look under a plan and the workspace's brand kit (the
    preview and the render use this). The plan alone decides the watermark. `layout`: the
    project's reframe layout option."""
    spec = render_spec(
        look.aspect,
        look.caption_style,
        max_short_side=plan.max_render_height if plan is not None else None,
        watermark=plan.watermark if plan is not None else False,
        overlay_title=(look.title.strip() or None) if look.title_overlay else None,
        word_edits=look.word_edits(),
        thumb_at=look.thumb_at,
        layout=layout,
        fx=look.caption_fx,
        keywords=look.keywords,
    )
    return replace(spec, brand=kit) if kit is not None else spec


def brand_spec(db: Session, workspace_id: uuid.UUID, storage: Storage) -> BrandSpec | None:
    """The workspace's brand kit as renders draw it (its files copied locally)."""
    return brand.render_brand(db, workspace_id, storage, work_root())


def look_digest(source_key: str, start: float, end: float, spec: RenderSpec) -> str:
    """Identifies the pictures a look produces: source, range and every drawing parameter
    (not the encoder settings)."""
    data = {
        "v": 1,
        "source": source_key,
        "start": round(start, 3),
        "end": round(end, 3),
        "aspect": spec.aspect,
        "style": spec.caption_style,
        "size": spec.max_short_side,
        "watermark": spec.watermark,
        "title": spec.overlay_title,
        "words": [list(e) for e in spec.word_edits],
    }
    if spec.thumb_at is not None:  # only when chosen, so existing looks keep their digest
        data["thumb"] = round(spec.thumb_at, 3)
    if spec.layout != "auto":  # likewise
        data["layout"] = spec.layout
    fx = {
        "kw": list(spec.keywords) if spec.keyword_emphasis or spec.keyword_emoji else [],
        "emph": spec.keyword_emphasis,
        "emoji": spec.keyword_emoji,
        "mask": spec.mask_profanity,
        "bleep": spec.bleep,
        "fillers": spec.cut_fillers,
        "silence": spec.max_silence_s,
    }
    if any(fx.values()):
        data["fx"] = fx
    if spec.brand is not None:  # likewise: looks without a brand kit keep their digest
        data["brand"] = spec.brand.digest
    raw = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(raw).hexdigest()[:32]


def _check_edits(words: list[Word], edits: dict[str, str]) -> None:
    for key in edits:
        if not 0 <= int(key) < len(words):
            raise ValidationFailed(
                f"Word {key} is not in the transcript (it has {len(words)} words).",
                code="caption-word-not-found",
            )


def resolve_look(
    db: Session, clip: Clip, draft: ClipLookIn, storage: Storage
) -> tuple[Look, list[Word] | None]:
    """The clip's look with the draft applied: trims placed (snapped to words, checked against
    the source), caption fixes merged. Returns the transcript's words when it was read."""
    look = look_of(clip)
    words: list[Word] | None = None
    trimming = draft.start is not None or draft.end is not None or draft.start_word is not None
    if trimming or draft.caption_edits:
        words = _words(storage, clip.workspace_id, clip.project_id)
    if trimming:
        assert words is not None
        if draft.start_word is not None and draft.end_word is not None:
            if draft.end_word >= len(words):
                raise ValidationFailed(
                    f"The transcript has {len(words)} words; end_word is past its end.",
                    code="clip-out-of-range",
                )
            start, end = words[draft.start_word].start, words[draft.end_word].end
        else:
            start = draft.start if draft.start is not None else clip.start_s
            end = draft.end if draft.end is not None else clip.end_s
        if end <= start:
            raise ValidationFailed("end must be after start.", code="clip-invalid-range")
        project = projects.get_project(db, clip.workspace_id, clip.project_id)
        start, end = _place(words, project, start, end)
        look = replace(look, start=start, end=end)
    if draft.caption_edits:
        assert words is not None
        edits = dict(look.caption_edits)
        for index, text in draft.caption_edits.items():
            key = str(index)
            if text is None or (0 <= index < len(words) and text == words[index].text.strip()):
                edits.pop(key, None)  # null, or back to what was said: no fix
            else:
                edits[key] = text
        _check_edits(words, edits)
        look = replace(look, caption_edits=edits)
    for name in ("aspect", "caption_style", "title", "title_overlay"):
        value = getattr(draft, name)
        if value is not None:
            look = replace(look, **{name: value})
    if draft.caption_fx is not None:
        merged = look.caption_fx.model_dump() | draft.caption_fx.model_dump(exclude_unset=True)
        try:
            look = replace(look, caption_fx=CaptionFx.model_validate(merged))
        except PydanticValidationError as exc:  # a combination (bleep without masking)
            raise ValidationFailed("; ".join(str(e["msg"]) for e in exc.errors())) from None
    return look, words


def clip_text(words: list[Word], look: Look) -> str:
    """The clip's spoken text with its caption fixes (hidden words left out)."""
    fixed = look.word_edits()
    edited = dict(fixed)
    return " ".join(
        t
        for i, w in enumerate(words)
        if w.start >= look.start - 1e-3
        and w.end <= look.end + 1e-3
        and (t := edited.get(i, w.text).strip())
    )


def list_clips(db: Session, workspace_id: uuid.UUID, project_id: uuid.UUID) -> list[Clip]:
    projects.get_project(db, workspace_id, project_id)
    return list(
        db.scalars(
            select(Clip)
            .where(
                Clip.project_id == project_id,
                Clip.workspace_id == workspace_id,
                Clip.origin != VARIANT,
            )
            .order_by(Clip.rank.asc().nulls_last(), Clip.score.desc().nulls_last(), Clip.start_s)
        )
    )


# Keyset of the API's clip list: rank first (auto clips), then manual clips by start time.
_UNRANKED = 2**31 - 1


def page_clips(
    db: Session,
    workspace_id: uuid.UUID,
    project_id: uuid.UUID,
    *,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[Clip], str | None]:
    """One page of the project's clips, best first (GET /projects/{id}/clips)."""
    projects.get_project(db, workspace_id, project_id)
    stmt = select(Clip).where(
        Clip.project_id == project_id, Clip.workspace_id == workspace_id, Clip.origin != VARIANT
    )
    keys = (func.coalesce(Clip.rank, _UNRANKED), Clip.start_s, Clip.id)
    return paginate(db, stmt, keys, cursor, limit, descending=False)


def recent_clips(
    db: Session, workspace_id: uuid.UUID, statuses: tuple[str, ...], limit: int = 100
) -> list[Clip]:
    """The workspace's newest clips in these states (the schedule form's picker)."""
    return list(
        db.scalars(
            select(Clip)
            .where(Clip.workspace_id == workspace_id, Clip.status.in_(statuses))
            .order_by(Clip.created_at.desc(), Clip.id)
            .limit(limit)
        )
    )


def titles(db: Session, workspace_id: uuid.UUID, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = db.execute(
        select(Clip.id, Clip.title).where(Clip.workspace_id == workspace_id, Clip.id.in_(ids))
    ).tuples()
    return {i: t for i, t in rows}


def scores(db: Session, workspace_id: uuid.UUID, ids: list[uuid.UUID]) -> dict[uuid.UUID, float]:
    """The highlight score of each of these clips that has one (analytics calibrates it)."""
    if not ids:
        return {}
    rows = db.execute(
        select(Clip.id, Clip.score).where(
            Clip.workspace_id == workspace_id, Clip.id.in_(ids), Clip.score.is_not(None)
        )
    ).tuples()
    return {i: float(sc) for i, sc in rows if sc is not None}


def feature_values(
    db: Session, workspace_id: uuid.UUID, ids: list[uuid.UUID]
) -> dict[uuid.UUID, dict[str, float]]:
    """Each clip's named score features (from its reasons; unavailable ones left out)."""
    if not ids:
        return {}
    rows = db.execute(
        select(Clip.id, Clip.reasons).where(Clip.workspace_id == workspace_id, Clip.id.in_(ids))
    ).tuples()
    out: dict[uuid.UUID, dict[str, float]] = {}
    for clip_id, reasons in rows:
        out[clip_id] = {
            str(r["name"]): float(r["value"])
            for r in reasons or []
            if isinstance(r, dict) and r.get("name") and r.get("value") is not None
        }
    return out


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


def default_look(db: Session, workspace_id: uuid.UUID, options: dict[str, Any]) -> tuple[str, str]:
    """Caption style and aspect of a project's new clips: what the project asked for, else
    the workspace's brand kit defaults, else the server's."""
    style, aspect = brand.defaults(db, workspace_id)
    return (
        str(options.get("caption_style") or style or get_settings().caption_style_default),
        str(options.get("aspect") or aspect or "9:16"),
    )


def add_clip(
    db: Session, workspace_id: uuid.UUID, project_id: uuid.UUID, body: ClipIn, storage: Storage
) -> Clip:
    project = projects.get_project(db, workspace_id, project_id)
    words = _words(storage, workspace_id, project_id)
    start, end = _place(words, project, body.start, body.end)
    opts = project.options or {}
    default_style, default_aspect = default_look(db, workspace_id, opts)
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
        caption_style=body.caption_style or default_style,
        aspect=body.aspect or default_aspect,
        caption_fx=caption_fx_of(opts).model_dump(),
        render_version=1,
    )
    db.add(clip)
    db.flush()
    queue_render(db, clip)
    db.flush()
    return clip


@dataclass(frozen=True)
class Derived:
    """What a derived clip changes from its base (None: kept)."""

    start: float | None = None
    text: str | None = None
    title: str | None = None
    description: str | None = None
    hashtags: list[str] | None = None
    caption_style: str | None = None
    title_overlay: bool | None = None
    thumb_at: float | None = None


def derive_clip(db: Session, base: Clip, change: Derived) -> Clip:
    """A copy of `base` with parts of its look and text changed (an experiment's variant): a
    clip of its own, with its own render (one CLIP_RENDER queued) and its own posts."""
    start = base.start_s if change.start is None else change.start
    if base.end_s - start < MIN_CLIP_S:
        raise ValidationFailed(
            f"A clip lasts at least {MIN_CLIP_S:g} s; this hook starts too late.",
            code="clip-too-short",
        )
    clip = Clip(
        workspace_id=base.workspace_id,
        project_id=base.project_id,
        origin=VARIANT,
        rank=None,
        start_s=start,
        end_s=base.end_s,
        title=base.title if change.title is None else change.title,
        description=base.description if change.description is None else change.description,
        hashtags=list(base.hashtags or []) if change.hashtags is None else change.hashtags,
        text=base.text if change.text is None else change.text,
        score=base.score,
        reasons=list(base.reasons or []),
        caption_style=change.caption_style or base.caption_style,
        aspect=base.aspect,
        caption_edits=dict(base.caption_edits or {}),
        title_overlay=base.title_overlay if change.title_overlay is None else change.title_overlay,
        thumb_at_s=base.thumb_at_s if change.thumb_at is None else change.thumb_at,
        caption_fx=dict(base.caption_fx or {}),
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
    before = look_of(clip)
    look, words = resolve_look(db, clip, patch, storage)
    clip.start_s, clip.end_s = look.start, look.end
    clip.aspect, clip.caption_style = look.aspect, look.caption_style
    clip.title, clip.title_overlay = look.title, look.title_overlay
    clip.caption_edits = dict(look.caption_edits)
    clip.caption_fx = look.caption_fx.model_dump()
    if words is not None and (
        (look.start, look.end) != (before.start, before.end)
        or look.caption_edits != before.caption_edits
    ):
        clip.text = clip_text(words, look)
    if patch.description is not None:
        clip.description = patch.description
    rerender = look.visible() != before.visible()
    if patch.hashtags is not None:
        clip.hashtags = [t if t.startswith("#") else f"#{t}" for t in patch.hashtags]
        # Hashtags are the keywords the captions emphasise: a re-render when one is said.
        changed = set(before.keywords) ^ set(clip.hashtags)
        rerender = rerender or look.shows_keywords(sorted(changed), clip.text)
    if rerender:
        clip.render_version += 1
        queue_render(db, clip)
    db.flush()
    return clip


@dataclass(frozen=True)
class PreviewStill:
    caption_style: str
    key: str
    digest: str


@dataclass(frozen=True)
class Preview:
    look: Look
    frame_at: float
    digest: str
    stills: list[PreviewStill]


def preview(
    db: Session,
    workspace_id: uuid.UUID,
    clip_id: uuid.UUID,
    draft: PreviewIn,
    storage: Storage,
    plan: Plan | None,
) -> Preview:
    """Stills of the draft look, one per caption style, on one real frame of the clip, drawn
    by the render's own filtergraph. Cached in storage by digest: only new looks are drawn."""
    clip = get_clip(db, workspace_id, clip_id)
    look, words = resolve_look(db, clip, draft, storage)
    if words is None:
        words = _words(storage, workspace_id, clip.project_id)
    project = projects.get_project(db, workspace_id, clip.project_id)
    if project.source_key is None:
        raise Conflict("The project has no source video.", code="source-missing")
    source_key = project.source_key
    styles = draft.styles or [look.caption_style] + [
        s for s in CAPTION_STYLES if s != look.caption_style
    ]
    kit = brand_spec(db, workspace_id, storage)
    layout = layout_of(project.options)
    specs = [render_spec_for(replace(look, caption_style=s), plan, kit, layout) for s in styles]
    stills = [
        PreviewStill(s, preview_key(workspace_id, clip.project_id, clip.id, d), d)
        for s, spec in zip(styles, specs, strict=True)
        for d in [look_digest(source_key, look.start, look.end, spec)]
    ]
    missing = [
        (st, spec) for st, spec in zip(stills, specs, strict=True) if not storage.exists(st.key)
    ]
    if missing:
        path = local_source(storage, source_key, work_root())
        with tempfile.TemporaryDirectory(prefix="cliply-preview-", dir=work_root()) as tmp:
            drawn = preview_frames(
                path,
                probe(path),
                words,
                start=look.start,
                end=look.end,
                specs=[spec for _, spec in missing],
                out_dir=Path(tmp),
            )
            for (st, _), jpg in zip(missing, drawn, strict=True):
                storage.put_file(st.key, jpg, content_type="image/jpeg")
    own = render_spec_for(look, plan, kit, layout)
    return Preview(
        look=look,
        frame_at=preview_time(words, look.start, look.end),
        digest=look_digest(source_key, look.start, look.end, own),
        stills=stills,
    )


def words_of(
    db: Session, workspace_id: uuid.UUID, clip_id: uuid.UUID, storage: Storage
) -> tuple[list[Word], Clip, float | None]:
    """The transcript's words (indices are what trims and caption fixes refer to), the clip,
    and the source's duration."""
    clip = get_clip(db, workspace_id, clip_id)
    project = projects.get_project(db, workspace_id, clip.project_id)
    return _words(storage, workspace_id, clip.project_id), clip, project.duration_s


WAVEFORM_MAX_S = 20 * 60.0


def waveform(
    db: Session,
    workspace_id: uuid.UUID,
    clip_id: uuid.UUID,
    storage: Storage,
    start: float,
    end: float,
) -> tuple[float, float, list[float]]:
    """Peaks of the source's audio in [start, end) (clamped to the source), for the editor's
    timeline, which may reach past the clip."""
    clip = get_clip(db, workspace_id, clip_id)
    project = projects.get_project(db, workspace_id, clip.project_id)
    if project.source_key is None:
        raise Conflict("The project has no source video.", code="source-missing")
    duration = project.duration_s or end
    start, end = max(0.0, start), min(end, duration)
    if end <= start or end - start > WAVEFORM_MAX_S:
        raise ValidationFailed(
            f"Ask for 0 to {WAVEFORM_MAX_S / 60:g} minutes inside the video.",
            code="waveform-range",
        )
    path = local_source(storage, project.source_key, work_root())
    return start, end, waveform_peaks(path, start=start, end=end)


def source_key(db: Session, workspace_id: uuid.UUID, clip_id: uuid.UUID) -> str:
    clip = get_clip(db, workspace_id, clip_id)
    project = projects.get_project(db, workspace_id, clip.project_id)
    if project.source_key is None:
        raise Conflict("The project has no source video.", code="source-missing")
    return project.source_key


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


def replace_auto_clips(
    db: Session,
    workspace_id: uuid.UUID,
    project_id: uuid.UUID,
    highlights: Sequence[Highlight],
    *,
    caption_style: str,
    aspect: str,
    caption_fx: dict[str, Any] | None = None,
) -> tuple[list[Clip], list[str]]:
    """The project's auto clips become `highlights` (ranked in order; manual clips stay), one
    CLIP_RENDER queued per clip (`caption_fx`: the project's caption effects). Returns the new clips and the storage keys of the old ones'
    renders, to delete once the transaction committed."""
    old = list(
        db.scalars(
            select(Clip).where(
                Clip.project_id == project_id,
                Clip.workspace_id == workspace_id,
                Clip.origin == "auto",
            )
        )
    )
    stale = [k for c in old for k in (c.render_key, c.thumb_key) if k]
    db.execute(
        delete(Clip).where(
            Clip.project_id == project_id,
            Clip.workspace_id == workspace_id,
            Clip.origin == "auto",
        )
    )
    clips = [
        Clip(
            workspace_id=workspace_id,
            project_id=project_id,
            origin="auto",
            rank=i + 1,
            start_s=h.start,
            end_s=h.end,
            title=h.title[:300],
            description=h.description or "",
            hashtags=h.hashtags,
            text=h.text,
            score=h.score,
            reasons=[r.model_dump() for r in h.reasons],
            caption_style=caption_style,
            aspect=aspect,
            caption_fx=dict(caption_fx or {}),
            status="queued",
            render_version=1,
        )
        for i, h in enumerate(highlights)
    ]
    db.add_all(clips)
    db.flush()
    for clip in clips:
        queue_render(db, clip)
    db.flush()
    return clips, stale


def captions_text(
    db: Session, workspace_id: uuid.UUID, clip_id: uuid.UUID, storage: Storage
) -> str:
    """The ASS subtitles the clip's current render burned in."""
    clip = get_clip(db, workspace_id, clip_id)
    if clip.render_key is None:
        raise Conflict(
            "The clip has not been rendered yet.", code="clip-not-rendered", clip_status=clip.status
        )
    try:
        raw = storage.read_bytes(captions_key(workspace_id, clip.project_id, clip.id))
    except ObjectNotFound:
        raise NotFound(
            "This render kept no subtitle file (render it again).", code="captions-not-found"
        ) from None
    return raw.decode("utf-8-sig")


def export_file(
    db: Session, workspace_id: uuid.UUID, clip_id: uuid.UUID, fmt: str, storage: Storage
) -> tuple[bytes, str]:
    """The clip's timeline for editors (otio, fcpxml) or SRT from its current render, and a
    file name for it."""
    if fmt not in EXPORT_FORMATS:
        raise ValidationFailed(
            f"format must be one of {', '.join(EXPORT_FORMATS)}.", code="invalid-export-format"
        )
    clip = get_clip(db, workspace_id, clip_id)
    if clip.render_key is None:
        raise Conflict(
            "The clip has not been rendered yet.", code="clip-not-rendered", clip_status=clip.status
        )
    try:
        raw = storage.read_bytes(export_key(workspace_id, clip.project_id, clip.id, fmt))
    except ObjectNotFound:
        raise NotFound(
            "This render kept no editor export (render it again).", code="export-not-found"
        ) from None
    return raw, f"{slugify(clip.title or 'clip')}.{fmt}"


def render_counts(db: Session, project_id: uuid.UUID) -> tuple[int, int]:
    """(clips of the project, those still queued or rendering)."""
    counts = dict(
        db.execute(
            select(Clip.status, func.count())
            .where(Clip.project_id == project_id, Clip.origin != VARIANT)
            .group_by(Clip.status)
        ).all()
    )
    return sum(counts.values()), sum(counts.get(s, 0) for s in ACTIVE)


def update_render_state(
    db: Session, clip_id: uuid.UUID, version: int, **values: Any
) -> Clip | None:
    """Update the clip if it still is at render `version` (a newer edit wins); None if not."""
    clip = db.get(Clip, clip_id, with_for_update=True)
    if clip is None or clip.render_version != version:
        return None
    for name, value in values.items():
        setattr(clip, name, value)
    db.flush()
    return clip
