"""Studio experiment pages: the list, the form that starts one from a clip (variants, where
and when they post), and an experiment's page with its variants side by side, what each
changes, live P(best) / posterior mean / 90 % interval, and stop and promote buttons.

Reads go through the experiments service (the same `to_out` as the API); the form and the
buttons are JS modules over the JSON API (POST /api/v1/experiments, /stop, /promote), and
the experiment page refreshes its numbers from GET /api/v1/experiments/{id}.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from cliply.accounts import service as accounts
from cliply.billing import service as billing
from cliply.billing.gate import check_feature
from cliply.clips import service as clips
from cliply.errors import CliplyError
from cliply.experiments import service
from cliply.media.captions import CAPTION_STYLES
from cliply.storage import app_storage
from cliply.web.deps import PageRoute, StudioPage
from cliply.web.pages.publishing import PLATFORM_NAMES

router = APIRouter(route_class=PageRoute)

CHANGE_LABELS = {
    "hook": "Hook",
    "title": "Title",
    "caption": "Caption",
    "hashtags": "Hashtags",
    "caption_style": "Caption style",
    "title_overlay": "Title overlay",
    "thumbnail_at": "Thumbnail frame",
    "post_at": "Posting time",
}
STOP_REASONS = {
    "threshold": "a variant reached the winning probability",
    "deadline": "the deadline passed",
    "manual": "stopped by hand",
}


def describe(name: str, value: Any) -> str:
    """One change, in words (the page's 'what changed' list)."""
    if name == "hook" and isinstance(value, dict):
        return f"starts at sentence {int(value.get('sentence', 0)) + 1}: “{value.get('text', '')}”"
    if name == "hashtags" and isinstance(value, list):
        return " ".join(str(t) for t in value)
    if name == "title_overlay":
        return "on" if value else "off"
    if name == "thumbnail_at":
        return f"{float(value):.1f} s into the clip"
    return str(value)


@router.get("/experiments", response_class=HTMLResponse)
def experiments_list(studio: StudioPage, show: str = "all") -> HTMLResponse:
    studio.require("clips.read")
    check_feature(studio.db, studio.workspace_id, "experiments")
    status = show if show in ("draft", "running", "ended") else None
    rows, _ = service.list_(studio.db, studio.workspace_id, status=status, limit=100)
    items = [service.to_out(studio.db, e, live=False) for e in rows]
    titles = clips.titles(studio.db, studio.workspace_id, [e.clip_id for e in items])
    return studio.render(
        "experiments/list.html",
        items=items,
        titles=titles,
        show=show if status else "all",
        can_write=studio.can("experiments.write"),
    )


@router.get("/clips/{clip_id}/experiment", response_class=HTMLResponse)
def experiment_new(clip_id: uuid.UUID, studio: StudioPage) -> HTMLResponse:
    studio.require("experiments.write")
    check_feature(studio.db, studio.workspace_id, "experiments")
    clip = clips.get_clip(studio.db, studio.workspace_id, clip_id)
    try:
        words, _, _ = clips.words_of(studio.db, studio.workspace_id, clip.id, app_storage())
        sentences = [text for _, text in service.hook_starts(words, clip)]
    except CliplyError:
        sentences = []  # no transcript: the hook cannot change
    plan = billing.resolve_workspace_plan(studio.db, studio.workspace_id)
    rows = accounts.list_accounts(studio.db, studio.workspace_id)
    return studio.render(
        "experiments/new.html",
        clip=clip,
        sentences=sentences,
        accounts=[a for a in rows if accounts.usable_reason(a) is None],
        names=PLATFORM_NAMES,
        styles=list(CAPTION_STYLES),
        max_variants=max(2, min(5, plan.experiment_variants)),
    )


@router.get("/experiments/{experiment_id}", response_class=HTMLResponse)
def experiment_page(experiment_id: uuid.UUID, studio: StudioPage) -> HTMLResponse:
    studio.require("clips.read")
    check_feature(studio.db, studio.workspace_id, "experiments")
    exp = service.get(studio.db, studio.workspace_id, experiment_id)
    out = service.to_out(studio.db, exp)
    rows = accounts.list_accounts(studio.db, studio.workspace_id)
    names = {a.id: f"{PLATFORM_NAMES.get(a.platform, a.platform)} · {a.display_name}" for a in rows}
    return studio.render(
        "experiments/show.html",
        exp=out,
        clip_title=clips.titles(studio.db, studio.workspace_id, [out.clip_id]).get(out.clip_id),
        labels=CHANGE_LABELS,
        describe=describe,
        reasons=STOP_REASONS,
        account_names=names,
        usable=[a for a in rows if accounts.usable_reason(a) is None],
        can_write=studio.can("experiments.write"),
    )
