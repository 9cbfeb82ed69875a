"""CLIP_RENDER: one job per clip (fan-out from HIGHLIGHT_DETECT, or after an edit).

Re-running replaces the outputs: the render and thumbnail always go to the same keys. A job
for an older `render_version` than the clip's does nothing (a newer render is queued).
"""

from __future__ import annotations

import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from cliply.clips import service
from cliply.clips.models import Clip
from cliply.db.engine import owner_session
from cliply.errors import CliplyError
from cliply.jobs import queue, registry
from cliply.jobs.registry import JobContext, JobInterrupted
from cliply.media import probe
from cliply.pipeline import config, steps
from cliply.pipeline.sources import local_source
from cliply.projects import stage
from cliply.projects.models import Project
from cliply.storage.keys import render_key, thumbnail_key


def _set_clip(ctx: JobContext, clip_id: uuid.UUID, version: int, **values: Any) -> None:
    """Update the clip if it still is at `version` and this attempt still holds its job (one
    released at shutdown or reclaimed must not write over the next attempt), then settle
    its project."""
    with owner_session() as db:
        if not queue.holds(db, ctx.job_id, ctx.worker_id, ctx.attempt):
            return
        clip = db.get(Clip, clip_id, with_for_update=True)
        if clip is None or clip.render_version != version:
            return
        for name, value in values.items():
            setattr(clip, name, value)
        db.flush()
        service.settle_project(db, clip.project_id)


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
        project = db.get(Project, clip.project_id)
        if project is None or project.source_key is None:
            return {"skipped": "project gone"}
        clip.status = "rendering"
        start, end, aspect, style = clip.start_s, clip.end_s, clip.aspect, clip.caption_style
        pid, source_key = project.id, project.source_key
    storage = config.app_storage()
    last = [0.0]

    def report(fraction: float) -> None:
        now = time.monotonic()
        if fraction >= 1.0 or now - last[0] >= 1.0:
            last[0] = now
            ctx.progress(fraction, "rendering")

    try:
        spec = config.render_spec(aspect, style, stage.plan_of(ws))
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
            )
            rkey, tkey = render_key(ws, pid, clip_id), thumbnail_key(ws, pid, clip_id)
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
    )
    ctx.event(
        "rendered",
        f"{out.width}x{out.height} {out.layout}, {out.duration:.1f} s",
        width=out.width,
        height=out.height,
        layout=out.layout,
        render_version=version,
    )
    return {"render_key": rkey, "width": out.width, "height": out.height, "layout": out.layout}
