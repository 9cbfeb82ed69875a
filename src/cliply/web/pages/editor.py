"""Studio: the clip editor (player beside the transcript, word and timeline trims, caption
fixes, title overlay, style previews on a real frame, re-render with live status).

The page is a shell with the clip's current state; editor.js works through the JSON API
(`/api/v1/clips/{id}`: words, waveform, preview, PATCH), the same calls an API client makes.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from cliply.brand import service as brand
from cliply.clips import service as clips
from cliply.clips.routes import clips_out
from cliply.media.captions import CAPTION_STYLES
from cliply.media.reframe import ASPECTS
from cliply.projects import service as projects
from cliply.web.deps import PageRoute, StudioPage

router = APIRouter(route_class=PageRoute)

ASPECT_LABELS = {
    "9:16": "9:16 vertical (TikTok, Shorts, Reels)",
    "1:1": "1:1 square",
    "4:5": "4:5 portrait (feed)",
    "16:9": "16:9 landscape",
}


@router.get("/clips/{clip_id}/edit", response_class=HTMLResponse)
def edit_clip(clip_id: uuid.UUID, studio: StudioPage) -> HTMLResponse:
    studio.require("clips.read")
    clip = clips.get_clip(studio.db, studio.workspace_id, clip_id)
    project = projects.get_project(studio.db, studio.workspace_id, clip.project_id)
    data = clips_out(studio.db, studio.workspace_id, [clip])[0]
    return studio.render(
        "clips/editor.html",
        clip=data,
        clip_json=data.model_dump(mode="json"),
        project=project,
        can_edit=studio.can("clips.write"),
        can_schedule=studio.can("schedules.write"),
        styles=list(CAPTION_STYLES),
        aspects=[(a, ASPECT_LABELS.get(a, a)) for a in ASPECTS],
        brand_on=brand.brand_digest(studio.db, studio.workspace_id) is not None,
    )
