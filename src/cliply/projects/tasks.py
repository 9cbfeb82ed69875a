"""Pipeline job handlers up to the transcript: YOUTUBE_DOWNLOAD → INGEST → TRANSCRIBE, which
queues HIGHLIGHT_DETECT (clips.tasks: the project's clips, then one CLIP_RENDER per clip).

Each handler is idempotent: it re-reads its project, overwrites the same storage keys and
replaces the rows it owns, and queues the next stage under a dedupe key.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.dialects.postgresql import insert

from cliply.billing import gate
from cliply.db.engine import owner_session
from cliply.errors import PermanentError
from cliply.ingest.download import (
    default_project_name,
    download_url,
    limits_from_settings,
    policy_from_settings,
)
from cliply.jobs import registry
from cliply.jobs.registry import JobContext
from cliply.pipeline import config, steps
from cliply.pipeline.options import language_of
from cliply.pipeline.sources import clean_cache, local_source
from cliply.projects import service, stage
from cliply.projects.models import Transcript
from cliply.storage import app_storage
from cliply.storage.keys import source_video_key, transcript_key

CONTENT_TYPES = {"json": "application/json", "srt": "application/x-subrip", "vtt": "text/vtt"}


def _tmpdir(ctx: JobContext, prefix: str) -> tempfile.TemporaryDirectory[str]:
    # In the attempt's scratch folder: pruned by the cleanup task if its worker is killed.
    return tempfile.TemporaryDirectory(prefix=prefix, dir=ctx.scratch_dir())


@registry.handler(registry.YOUTUBE_DOWNLOAD, capability="io")
def download_source(ctx: JobContext) -> dict[str, Any] | None:
    """Fetch the project's URL (SSRF-guarded, size and duration capped) into storage."""
    ws, pid = stage.workspace_of(ctx), stage.payload_uuid(ctx, "project_id")
    project = stage.load_project(ws, pid)
    if project is None or project.source_url is None:
        return {"skipped": "project gone"}
    storage = app_storage()
    with stage.project_stage(ctx, pid):
        stage.enter_stage(pid, "downloading")
        plan = stage.plan_of(ws)
        limits = limits_from_settings(plan.max_source_minutes * 60.0)
        report = stage.StageProgress(ctx, pid, "downloading")
        with _tmpdir(ctx, "cliply-dl-") as tmp:
            got = download_url(
                project.source_url,
                Path(tmp),
                policy=policy_from_settings(),
                limits=limits,
                progress=report,
            )
            ctx.event(
                "downloaded",
                f"downloaded via {got.via}: {got.size_bytes} bytes",
                via=got.via,
                final_url=got.final_url,
            )
            key = source_video_key(ws, pid, got.path.suffix.lstrip("."))
            storage.put_file(key, got.path, content_type="application/octet-stream")
        with owner_session() as db:
            p = service.get_project(db, ws, pid, lock=True)
            p.source_key, p.size_bytes, p.original_filename = key, got.size_bytes, got.filename
            if got.title and p.name == default_project_name(p.source_url or ""):
                p.name = got.title[:300]  # the name was only the default (from the URL)
            db.flush()
            service.start_ingest(db, p)
    return {"source_key": key, "size_bytes": got.size_bytes, "via": got.via}


@registry.handler(registry.INGEST, capability="cpu")
def ingest(ctx: JobContext) -> dict[str, Any] | None:
    """Probe the stored source before anything else; refuse what is not a playable video with
    sound within the plan's limits (the project fails with the reason)."""
    ws, pid = stage.workspace_of(ctx), stage.payload_uuid(ctx, "project_id")
    project = stage.load_project(ws, pid)
    if project is None:
        return {"skipped": "project gone"}
    with stage.project_stage(ctx, pid):
        if project.source_key is None:
            raise PermanentError("The project has no source video.", code="no-source")
        stage.enter_stage(pid, "probing")
        plan = stage.plan_of(ws)
        path = local_source(app_storage(), project.source_key, config.work_root())
        info = steps.inspect_source(path, config.source_limits(plan.max_source_minutes))
        minutes = info.duration / 60.0
        with owner_session() as db:
            # The month's minutes are checked now and counted once transcription starts.
            used = gate.current_usage(db, ws, service.SOURCE_MINUTES_METRIC)
            gate.check_limit(db, ws, "source_minutes_per_month", current=used, adding=minutes)
            p = service.get_project(db, ws, pid, lock=True)
            p.duration_s, p.width, p.height = info.duration, info.display_width, info.display_height
            p.media_info = steps.media_info(info)
            db.flush()
            service.set_stage(db, pid, "transcribing")
            service.start_stage(db, p, registry.TRANSCRIBE)
        ctx.event(
            "probed",
            f"{info.duration:.1f} s, {info.display_width}x{info.display_height}",
            **steps.media_info(info),
        )
    return {"duration_s": info.duration, "width": info.display_width, "height": info.display_height}


# "gpu": a GPU box runs `cliply worker --kinds gpu`; the default worker (every capability)
# transcribes on the CPU.
@registry.handler(registry.TRANSCRIBE, capability="gpu")
def transcribe(ctx: JobContext) -> dict[str, Any] | None:
    """Word-timed transcript with the engines of TRANSCRIBE_ENGINES in order (fallback);
    stored as JSON, SRT and VTT. Source minutes are counted here, once per project."""
    ws, pid = stage.workspace_of(ctx), stage.payload_uuid(ctx, "project_id")
    project = stage.load_project(ws, pid)
    if project is None:
        return {"skipped": "project gone"}
    storage = app_storage()
    with stage.project_stage(ctx, pid):
        if project.source_key is None or project.duration_s is None:
            raise PermanentError("The project was not ingested.", code="not-ingested")
        stage.enter_stage(pid, "transcribing")
        with owner_session() as db:
            gate.consume(
                db,
                ws,
                service.SOURCE_MINUTES_METRIC,
                project.duration_s / 60.0,
                event_key=service.source_minutes_key(pid),
            )
        path = local_source(storage, project.source_key, config.work_root())
        report = stage.StageProgress(ctx, pid, "transcribing")
        with _tmpdir(ctx, "cliply-stt-") as tmp:
            wav = steps.speech_wav(path, Path(tmp) / "audio.wav")
            report(0.05, "audio extracted")
            result = steps.transcribe(
                wav,
                config.transcriber_chain(),
                lambda f: report(0.05 + 0.9 * f, "transcribing"),
                language=language_of(project.options),
                release_models_after_s=config.release_models_after_s(),
            )
        transcript = result.transcript
        failed = [f"{a.engine}: {a.code}" for a in result.attempts if not a.ok]
        ctx.event(
            "transcribed",
            f"transcript produced by engine {result.engine}"
            + (f" (after {', '.join(failed)})" if failed else ""),
            engine=result.engine,
            model=transcript.model,
            language=transcript.language,
            language_probability=transcript.language_probability,
            attempts=[a.__dict__ for a in result.attempts],
        )
        steps.require_speech(transcript)  # no-speech fails the project with its reason
        for fmt, text in steps.transcript_documents(transcript).items():
            storage.put_bytes(
                transcript_key(ws, pid, fmt), text.encode("utf-8"), content_type=CONTENT_TYPES[fmt]
            )
        words = transcript.words()
        with owner_session() as db:
            values = {
                "workspace_id": ws,
                "project_id": pid,
                "engine": result.engine,
                "model": transcript.model,
                "language": transcript.language,
                "duration_s": transcript.duration or project.duration_s,
                "word_count": len(words),
                "json_key": transcript_key(ws, pid, "json"),
                "srt_key": transcript_key(ws, pid, "srt"),
                "vtt_key": transcript_key(ws, pid, "vtt"),
            }
            stmt = insert(Transcript).values(**values)
            db.execute(
                stmt.on_conflict_do_update(
                    index_elements=[Transcript.project_id],
                    set_={
                        k: stmt.excluded[k]
                        for k in values
                        if k not in ("workspace_id", "project_id")
                    }
                    | {"updated_at": datetime.now(UTC)},
                )
            )
            p = service.get_project(db, ws, pid)
            service.set_stage(db, pid, "detecting")
            service.start_stage(db, p, registry.HIGHLIGHT_DETECT)
    return {"engine": result.engine, "words": len(words)}


@registry.periodic("pipeline.cleanup", every_s=3600)
def cleanup() -> None:
    """Abandon expired resumable uploads, fail stalled direct ones, and drop cached sources unused for a day."""
    with owner_session() as db:
        service.abort_expired_uploads(db, datetime.now(UTC))
        service.fail_stalled_uploads(db, datetime.now(UTC))
    clean_cache(config.work_root(), 86400)
