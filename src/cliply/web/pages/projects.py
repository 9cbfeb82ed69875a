"""Studio pages: the project list, new project (upload / URL), project page, clip gallery."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse

from cliply.clips import service as clips_service
from cliply.config import get_settings
from cliply.errors import NotFound
from cliply.media.captions import CAPTION_STYLES
from cliply.media.reframe import ASPECTS
from cliply.projects import service as projects_service
from cliply.storage import app_storage
from cliply.web.deps import PageRoute, StudioPage

router = APIRouter(route_class=PageRoute)

# The stages a project goes through, in order, as the project page shows them.
# The languages offered by name in the upload form (any Whisper code works in the API).
LANGUAGE_CHOICES = [
    ("en", "English"),
    ("es", "Spanish (español)"),
    ("fr", "French (français)"),
    ("de", "German (Deutsch)"),
    ("pt", "Portuguese (português)"),
    ("it", "Italian (italiano)"),
    ("nl", "Dutch (Nederlands)"),
    ("pl", "Polish (polski)"),
    ("tr", "Turkish (Türkçe)"),
    ("ru", "Russian (русский)"),
    ("uk", "Ukrainian (українська)"),
    ("ar", "Arabic (العربية)"),
    ("he", "Hebrew (עברית)"),
    ("hi", "Hindi (हिन्दी)"),
    ("zh", "Chinese (中文)"),
    ("ja", "Japanese (日本語)"),
    ("ko", "Korean (한국어)"),
]

STAGES = [
    ("uploading", "Upload"),
    ("downloading", "Download"),
    ("probing", "Check video"),
    ("transcribing", "Transcribe"),
    ("detecting", "Find highlights"),
    ("rendering", "Render clips"),
    ("ready", "Ready"),
]


@router.get("/projects", response_class=HTMLResponse)
def projects(studio: StudioPage) -> HTMLResponse:
    studio.require("projects.read")
    rows, _ = projects_service.list_projects(studio.db, studio.workspace_id, limit=200)
    return studio.render("projects/list.html", projects=rows)


@router.get("/projects/new", response_class=HTMLResponse)
def new_project(studio: StudioPage) -> HTMLResponse:
    studio.require("projects.write")
    s = get_settings()
    return studio.render(
        "projects/new.html",
        caption_styles=list(CAPTION_STYLES),
        aspects=list(ASPECTS),
        languages=LANGUAGE_CHOICES,
        defaults={"min_s": s.clip_min_s, "max_s": s.clip_max_s, "top_k": s.clip_top_k},
        chunk_size=s.web_upload_chunk_bytes,
        max_upload=s.max_upload_bytes,
    )


@router.get("/projects/{project_id}", response_class=HTMLResponse)
def project_page(project_id: uuid.UUID, studio: StudioPage) -> HTMLResponse:
    studio.require("projects.read")
    project = projects_service.get_project(studio.db, studio.workspace_id, project_id)
    has_transcript = (
        projects_service.transcript_row(studio.db, studio.workspace_id, project_id) is not None
    )
    clips = clips_service.list_clips(studio.db, studio.workspace_id, project_id)
    return studio.render(
        "projects/show.html",
        project=project,
        stages=STAGES,
        has_transcript=has_transcript,
        clip_count=len(clips),
    )


@router.get("/projects/{project_id}/source")
def project_source(project_id: uuid.UUID, studio: StudioPage) -> RedirectResponse:
    """The source video (for the project page's player and the clip editor): a redirect to
    a short-lived signed storage URL."""
    studio.require("projects.read")
    project = projects_service.get_project(studio.db, studio.workspace_id, project_id)
    if not project.source_key:
        raise NotFound("This project has no video yet.", code="source-not-ready")
    url = app_storage().url(project.source_key, get_settings().download_url_ttl_s)
    return RedirectResponse(url, status_code=307)
