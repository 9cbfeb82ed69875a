"""HIGHLIGHT_DETECT (the project's auto clips) and CLIP_RENDER: one job per clip (fan-out
from HIGHLIGHT_DETECT, or after an edit).

Re-running replaces the outputs: detection replaces the auto clips, and the render and
thumbnail always go to the same keys. A render job for an older `render_version` than the
clip's does nothing (a newer render is queued).
"""

from __future__ import annotations

import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from cliply.clips import flows, service, weights
from cliply.clips.models import Clip
from cliply.db.engine import owner_session
from cliply.errors import CliplyError, PermanentError
from cliply.jobs import queue, registry
from cliply.jobs.registry import JobContext, JobInterrupted
from cliply.media import probe
from cliply.media.export import EXPORT_FORMATS, write_exports
from cliply.media.export import MEDIA_TYPES as EXPORT_MEDIA_TYPES
from cliply.pipeline import config, steps
from cliply.pipeline.options import layout_of
from cliply.pipeline.sources import local_source
from cliply.projects import service as projects
from cliply.projects import stage
from cliply.storage import app_storage
from cliply.storage.keys import captions_key, export_key, render_key, thumbnail_key


def _set_clip(ctx: JobContext, clip_id: uuid.UUID, version: int, **values: Any) -> None:
    """Update the clip if it still is at `version` and this attempt still holds its job (one
    released at shutdown or reclaimed must not write over the next attempt), then settle
    its project."""
    with owner_session() as db:
        if not queue.holds(db, ctx.job_id, ctx.worker_id, ctx.attempt):
            return
        clip = service.update_render_state(db, clip_id, version, **values)
        if clip is not None:
            flows.settle_project(db, clip.workspace_id, clip.project_id)


@registry.handler(registry.HIGHLIGHT_DETECT, capability="cpu")
def detect(ctx: JobContext) -> dict[str, Any] | None:
    """Score the transcript's moments; the project's auto clips are replaced by the new ones
    (manual clips stay) and one CLIP_RENDER is queued per clip."""
    ws, pid = stage.workspace_of(ctx), stage.payload_uuid(ctx, "project_id")
    project = stage.load_project(ws, pid)
    if project is None:
        return {"skipped": "project gone"}
    storage = app_storage()
    with stage.project_stage(ctx, pid):
        if project.source_key is None:
            raise PermanentError("The project has no source video.", code="no-source")
        stage.enter_stage(pid, "detecting")
        plan = stage.plan_of(ws)
        options = config.clip_options(project.options, plan.clips_per_project)
        with owner_session() as db:
            learnt = weights.workspace_weights(db, ws)  # None: the default weights
            caption_style, aspect = service.default_look(db, ws, project.options or {})
        transcript = stage.load_transcript(storage, ws, pid)
        path = local_source(storage, project.source_key, config.work_root())
        with tempfile.TemporaryDirectory(prefix="cliply-hl-", dir=ctx.scratch_dir()) as tmp:
            wav = steps.speech_wav(path, Path(tmp) / "audio.wav")
            found = steps.find_highlights(
                transcript,
                wav,
                options,
                config.llm_client(),
                weights=learnt,
                release_models_after_s=config.release_models_after_s(),
            )
        steps.require_clips(found, transcript)  # zero clips always says why
        label = steps.embedder_label(found.embedder_name)
        ctx.event(
            "highlights",
            f"{len(found.highlights)} highlight(s); embedder: {label}",
            embedder=label,
            llm_applied=found.llm_applied,
            notes=found.notes,
            learnt_weights=learnt is not None,
        )
        with owner_session() as db:
            _, stale = flows.clips_from_highlights(
                db,
                ws,
                pid,
                found.highlights,
                caption_style=caption_style,
                aspect=aspect,
                caption_fx=options.caption_fx().model_dump(),
            )
        for key in stale:
            storage.delete(key)
    return {"clips": len(found.highlights), "embedder": label, "learnt_weights": learnt is not None}


@registry.handler(registry.CLIP_RENDER, capability="cpu")
def render(ctx: JobContext) -> dict[str, Any] | None:
    ws = stage.workspace_of(ctx)
    clip_id = stage.payload_uuid(ctx, "clip_id")
    version = int(ctx.payload.get("render_version") or 0)
    with owner_session() as db:
        clip = db.get(Clip, clip_id)
        if clip is None or clip.workspace_id != ws:
            return {"skipped": "clip gone"}
        if clip.render_version != version:
            return {"skipped": f"stale version {version} (clip is at {clip.render_version})"}
        project = projects.find_project(db, ws, clip.project_id)
        if project is None or project.source_key is None:
            return {"skipped": "project gone"}
        clip.status = "rendering"
        look = service.look_of(clip)
        kit = service.brand_spec(db, ws, app_storage())
        start, end = look.start, look.end
        pid, source_key = project.id, project.source_key
        # What an editor relinks the exported timeline to: the name the user knows.
        source_ref = project.original_filename or project.source_url or Path(source_key).name
        title = clip.title
        layout = layout_of(project.options)
    storage = app_storage()
    last = [0.0]

    def report(fraction: float) -> None:
        now = time.monotonic()
        if fraction >= 1.0 or now - last[0] >= 1.0:
            last[0] = now
            ctx.progress(fraction, "rendering")

    try:
        # The same look → spec step as the editor's preview (clips.service.preview).
        spec = service.render_spec_for(look, stage.plan_of(ws), kit, layout)
        digest = service.look_digest(source_key, start, end, spec)
        words = stage.load_transcript(storage, ws, pid).words()
        path = local_source(storage, source_key, config.work_root())
        info = probe(path)
        with tempfile.TemporaryDirectory(prefix="cliply-render-", dir=ctx.scratch_dir()) as tmp:
            out = steps.render_clip_files(
                path,
                info,
                words,
                start=start,
                end=end,
                spec=spec,
                out_mp4=Path(tmp) / "clip.mp4",
                out_jpg=Path(tmp) / "thumb.jpg",
                work_dir=Path(tmp),
                progress=report,
                keep_captions=True,
            )
            rkey, tkey = render_key(ws, pid, clip_id), thumbnail_key(ws, pid, clip_id)
            if out.captions is not None:
                storage.put_file(
                    captions_key(ws, pid, clip_id), out.captions, content_type="text/x-ssa"
                )
            timeline = steps.clip_timeline(
                title or "clip",
                source_ref,
                info,
                start=start,
                end=end,
                width=out.width,
                height=out.height,
                plan=out.crop_plan,
            )
            exports = write_exports(
                timeline,
                steps.export_words(words, spec, start=start, end=end, cut=out.cut),
                Path(tmp),
                "export",
                EXPORT_FORMATS,
            )
            for fmt, made in exports.items():
                storage.put_file(
                    export_key(ws, pid, clip_id, fmt), made, content_type=EXPORT_MEDIA_TYPES[fmt]
                )
            storage.put_file(rkey, out.mp4, content_type="video/mp4")
            storage.put_file(tkey, out.jpg, content_type="image/jpeg")
    except JobInterrupted:
        raise  # the worker stopped this attempt (shutdown, reclaimed): the job runs again
    except Exception as exc:
        # Final (not retryable, or no attempts left): the clip says why; the error itself
        # goes on unchanged to the worker, which fails or retries the job.
        final = isinstance(exc, CliplyError) and not exc.retryable
        if final or (not ctx.interrupted and stage.last_attempt(ctx)):
            code = exc.code if isinstance(exc, CliplyError) else "render-failed"
            _set_clip(ctx, clip_id, version, status="failed", error=f"{code}: {exc}")
        raise
    _set_clip(
        ctx,
        clip_id,
        version,
        status="ready",
        error=None,
        render_key=rkey,
        thumb_key=tkey,
        width=out.width,
        height=out.height,
        layout=out.layout,
        layouts=out.layouts(),
        seconds_removed=out.seconds_removed,
    )
    ctx.event(
        "rendered",
        f"{out.width}x{out.height} {out.layout}, {out.duration:.1f} s",
        width=out.width,
        height=out.height,
        layout=out.layout,
        render_version=version,
        look=digest,
    )
    return {
        "render_key": rkey,
        "width": out.width,
        "height": out.height,
        "layout": out.layout,
        "layouts": out.layouts(),
        "duration": out.duration,
        "seconds_removed": out.seconds_removed,
        "look": digest,
    }
