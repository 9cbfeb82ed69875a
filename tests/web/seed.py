"""Put a processed project straight into the Studio server's database and storage (no
transcription run): a real talk video, a transcript built from when each sentence was said,
and, when asked, clips whose render is a given MP4. For the editor and publishing E2E tests."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, pool, select
from sqlalchemy.orm import Session

from cliply.clips.models import Clip
from cliply.media import probe
from cliply.projects.models import Project, Transcript
from cliply.storage import LocalStorage
from cliply.storage.keys import render_key, source_video_key, thumbnail_key, transcript_key
from cliply.transcribe.formats import to_json
from cliply.transcribe.models import Segment, Word
from cliply.transcribe.models import Transcript as TranscriptDoc
from cliply.workspaces.models import Workspace


def _storage(studio: Any) -> LocalStorage:
    return LocalStorage(
        studio.data_dir / "storage", url_secret="seed-only", public_base_url=studio.base_url
    )


def _session(studio: Any) -> Session:
    return Session(create_engine(studio.db_url, poolclass=pool.NullPool))


def workspace_of(studio: Any, email: str) -> uuid.UUID:
    rows = studio.sql(
        "SELECT m.workspace_id FROM workspace_members m JOIN users u ON u.id = m.user_id "
        "WHERE u.email = :e ORDER BY m.created_at LIMIT 1",
        e=email,
    )
    return uuid.UUID(str(rows[0][0]))


def set_plan(studio: Any, workspace_id: uuid.UUID, plan: str) -> None:
    with _session(studio) as db, db.begin():
        ws = db.scalar(select(Workspace).where(Workspace.id == workspace_id))
        assert ws is not None
        ws.plan = plan


def talk_project(
    studio: Any, workspace_id: uuid.UUID, video: Path, timeline: list[tuple[float, float, str]]
) -> uuid.UUID:
    pid = uuid.uuid4()
    words: list[Word] = []
    for start, end, sentence in timeline:
        parts = sentence.split()
        step = (end - start) / len(parts)
        words += [
            Word(text=p, start=round(start + i * step, 3), end=round(start + (i + 0.8) * step, 3))
            for i, p in enumerate(parts)
        ]
    duration = probe(video).duration
    doc = TranscriptDoc(
        duration=duration,
        engine="local",
        segments=[Segment(start=0, end=duration, text="talk", words=words)],
    )
    storage = _storage(studio)
    storage.put_bytes(transcript_key(workspace_id, pid, "json"), to_json(doc).encode())
    storage.put_file(source_video_key(workspace_id, pid, "mp4"), video, content_type="video/mp4")
    with _session(studio) as db, db.begin():
        db.add(
            Project(
                id=pid,
                workspace_id=workspace_id,
                name="Bread and money talk",
                source_type="upload",
                status="ready",
                progress=1.0,
                duration_s=duration,
                source_key=source_video_key(workspace_id, pid, "mp4"),
                options={"caption_style": "bold"},
            )
        )
        db.flush()
        db.add(
            Transcript(
                workspace_id=workspace_id,
                project_id=pid,
                engine="local",
                duration_s=duration,
                word_count=len(words),
                json_key=transcript_key(workspace_id, pid, "json"),
                srt_key=transcript_key(workspace_id, pid, "srt"),
                vtt_key=transcript_key(workspace_id, pid, "vtt"),
            )
        )
    return pid


def rendered_clips(
    studio: Any,
    workspace_id: uuid.UUID,
    project_id: uuid.UUID,
    render: Path,
    thumb: Path,
    titles: list[str],
) -> list[uuid.UUID]:
    """Ready clips whose render is `render` (publishing needs a file, not a fresh render)."""
    storage = _storage(studio)
    ids: list[uuid.UUID] = []
    with _session(studio) as db, db.begin():
        for i, title in enumerate(titles):
            cid = uuid.uuid4()
            rkey = render_key(workspace_id, project_id, cid)
            tkey = thumbnail_key(workspace_id, project_id, cid)
            storage.put_file(rkey, render, content_type="video/mp4")
            storage.put_file(tkey, thumb, content_type="image/jpeg")
            db.add(
                Clip(
                    id=cid,
                    workspace_id=workspace_id,
                    project_id=project_id,
                    rank=i + 1,
                    start_s=float(i),
                    end_s=float(i) + 2.0,
                    title=title,
                    description=f"{title}, cut by Cliply.",
                    hashtags=["#cliply"],
                    text=title,
                    score=80.0 - i,
                    reasons=[],
                    status="ready",
                    render_version=1,
                    render_key=rkey,
                    thumb_key=tkey,
                    width=360,
                    height=640,
                    layout="blur",
                )
            )
            ids.append(cid)
    return ids
