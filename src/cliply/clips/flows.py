"""Steps that span clips and projects, led by clips: the project's stage follows its clips.

A clip belongs to a project, so clips sits above projects in the import graph: this module
calls both services; projects never imports clips.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from cliply.clips import service
from cliply.clips.models import Clip
from cliply.highlights.models import Highlight
from cliply.projects import service as projects


def clips_from_highlights(
    db: Session,
    workspace_id: uuid.UUID,
    project_id: uuid.UUID,
    highlights: Sequence[Highlight],
    *,
    caption_style: str,
    aspect: str,
    caption_fx: dict[str, Any] | None = None,
) -> tuple[list[Clip], list[str]]:
    """HIGHLIGHT_DETECT's fan-out: replace the auto clips, queue one render each, and move the
    project on (`rendering`, or `ready` when nothing is left to render). Returns the clips and
    the storage keys of replaced renders to delete after the commit."""
    projects.get_project(db, workspace_id, project_id, lock=True)
    clips, stale = service.replace_auto_clips(
        db,
        workspace_id,
        project_id,
        highlights,
        caption_style=caption_style,
        aspect=aspect,
        caption_fx=caption_fx,
    )
    _, pending = service.render_counts(db, project_id)
    if pending == 0:
        projects.set_stage(db, project_id, "ready", 1.0)
    else:
        projects.set_stage(db, project_id, "rendering")
    return clips, stale


def settle_project(db: Session, workspace_id: uuid.UUID, project_id: uuid.UUID) -> None:
    """After a render ended: the project's progress follows its clips; with none left to
    render, a project in `rendering` becomes ready."""
    project = projects.find_project(db, workspace_id, project_id, lock=True)
    if project is None or project.status != "rendering":
        return
    total, pending = service.render_counts(db, project_id)
    if pending == 0:
        projects.set_stage(db, project_id, "ready", 1.0)
    else:
        projects.set_progress(db, project_id, "rendering", (total - pending) / max(1, total))
