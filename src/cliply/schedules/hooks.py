"""Callbacks other domains hand to the schedules domain (installed by `cliply.app`).

`caption_hooks` run when a schedule is created, after its row exists: each gets the new
schedule's facts and returns text to append to its caption or description (products add
their tracked links there), or None. `pause_hooks` may name a reason to create it paused
(products: a linked product is out of stock; resumed when it is back). Schedules cannot import those domains (they depend on
schedules), so the assembly wires them in here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class NewSchedule:
    workspace_id: uuid.UUID
    schedule_id: uuid.UUID
    clip_id: uuid.UUID
    platform: str


CaptionHook = Callable[[Session, NewSchedule], str | None]
# A reason to create the schedule paused (e.g. "product-out-of-stock"), or None.
PauseHook = Callable[[Session, NewSchedule], str | None]

caption_hooks: list[CaptionHook] = []
pause_hooks: list[PauseHook] = []


def add_caption_hook(hook: CaptionHook) -> None:
    """Install `hook` once (idempotent, like `cliply.app.install_hooks`)."""
    if hook not in caption_hooks:
        caption_hooks.append(hook)


def add_pause_hook(hook: PauseHook) -> None:
    if hook not in pause_hooks:
        pause_hooks.append(hook)


def pause_reason(db: Session, new: NewSchedule) -> str | None:
    return next((r for hook in list(pause_hooks) if (r := hook(db, new))), None)


def caption_additions(db: Session, new: NewSchedule) -> list[str]:
    return [text for hook in list(caption_hooks) if (text := hook(db, new))]
