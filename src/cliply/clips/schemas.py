"""API shapes for clips: listing, manual clips, edits, download links."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, model_validator

from cliply.media.captions import CAPTION_STYLES
from cliply.media.reframe import ASPECTS
from cliply.pipeline.options import MAX_SILENCE_S, MIN_SILENCE_S
from cliply.schemas import Int32, Omittable, Strict


def _check_choices(aspect: str | None, caption_style: str | None) -> None:
    if aspect is not None and aspect not in ASPECTS:
        raise ValueError(f"aspect must be one of {', '.join(ASPECTS)}")
    if caption_style is not None and caption_style not in CAPTION_STYLES:
        raise ValueError(f"caption_style must be one of {', '.join(CAPTION_STYLES)}")


class ClipIn(Strict):
    """A clip added by hand from a time range (snapped to word boundaries)."""

    start: float = Field(ge=0, description="Start in source seconds.")
    end: float = Field(gt=0, description="End in source seconds.")
    title: str = Field("", max_length=300)
    caption_style: str | None = None
    aspect: str | None = None

    @model_validator(mode="after")
    def _valid(self) -> ClipIn:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        _check_choices(self.aspect, self.caption_style)
        return self


CaptionEdits = dict[int, Annotated[str, Field(max_length=100)] | None]


class CaptionFxIn(Strict):
    """Caption effects and jump cuts to change; fields left out keep the clip's value."""

    keyword_emphasis: Omittable[bool] = Field(
        None, description="Draw the clip's keywords (hashtags) emphasised."
    )
    emoji: Omittable[bool] = Field(
        None, description="Colour emoji over the captions when a keyword with one is spoken."
    )
    mask_profanity: Omittable[bool] = Field(None, description='Star swear words ("f***").')
    bleep: Omittable[bool] = Field(None, description="Bleep masked words (needs masking).")
    remove_fillers: Omittable[bool] = Field(
        None, description="Jump cuts: remove filler words (um, uh, ...)."
    )
    max_silence_s: float | None = Field(
        None,
        ge=MIN_SILENCE_S,
        le=MAX_SILENCE_S,
        description="Jump cuts: shorten pauses longer than this (s); null keeps every pause.",
    )


class ClipLookIn(Strict):
    """How the clip should look: what the editor previews and, once saved, what renders.

    Every field left out keeps the clip's current value. Trim by seconds (`start`/`end`,
    snapped to words) or by words (`start_word`/`end_word`, indices in the transcript's word
    list, both included); either may reach past the original cut, anywhere in the source.
    """

    start: Omittable[float] = Field(None, ge=0, description="Start in source seconds.")
    end: Omittable[float] = Field(None, gt=0, description="End in source seconds.")
    start_word: Int32 | None = Field(None, ge=0, description="First word (transcript index).")
    end_word: Int32 | None = Field(None, ge=0, description="Last word (transcript index).")
    title: Omittable[str] = Field(None, max_length=300)
    caption_style: Omittable[str] = None
    aspect: Omittable[str] = None
    title_overlay: Omittable[bool] = Field(
        None, description="Show the title over the first seconds (the hook)."
    )
    caption_edits: CaptionEdits | None = Field(
        None,
        max_length=2000,
        description='Caption fixes by word index: {"42": "Kubernetes"}; "" hides the word, '
        "null drops the fix. Merged into the clip's fixes.",
    )
    caption_fx: CaptionFxIn | None = Field(
        None, description="Keyword emphasis, emoji, profanity masking and jump cuts."
    )

    @model_validator(mode="after")
    def _valid_look(self) -> ClipLookIn:
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("end must be after start")
        if (self.start_word is None) != (self.end_word is None):
            raise ValueError("give both start_word and end_word")
        if self.start_word is not None and (self.start is not None or self.end is not None):
            raise ValueError("trim by seconds or by words, not both")
        if (
            self.start_word is not None
            and self.end_word is not None
            and self.end_word < self.start_word
        ):
            raise ValueError("end_word must not be before start_word")
        _check_choices(self.aspect, self.caption_style)
        return self


class ClipPatch(ClipLookIn):
    description: Omittable[str] = Field(None, max_length=5000)
    hashtags: Omittable[list[str]] = Field(None, max_length=30)


class PreviewIn(ClipLookIn):
    styles: list[str] | None = Field(
        None, max_length=len(CAPTION_STYLES), description="Caption styles to draw (default all)."
    )

    @model_validator(mode="after")
    def _valid_styles(self) -> PreviewIn:
        for name in self.styles or []:
            _check_choices(None, name)
        return self


class PreviewItem(BaseModel):
    caption_style: str
    url: str
    look: str = Field(description="Digest of the look drawn; a render of this look matches.")


class PreviewOut(BaseModel):
    start: float
    end: float
    frame_at: float = Field(description="Clip time of the frame shown.")
    look: str = Field(description="Digest of the look with the clip's caption style.")
    items: list[PreviewItem]


class RenderJobOut(BaseModel):
    id: uuid.UUID
    status: str
    progress: float
    message: str | None
    error: str | None


class WordOut(BaseModel):
    index: int
    text: str
    original: str
    start: float
    end: float
    in_clip: bool


class ClipWordsOut(BaseModel):
    duration: float | None = Field(description="Source duration (s): how far a trim may reach.")
    words: list[WordOut]


class ClipOut(BaseModel):
    id: uuid.UUID
    project_id: uuid.UUID
    origin: str
    rank: int | None
    start: float
    end: float
    duration: float
    title: str
    description: str
    hashtags: list[str]
    text: str
    score: float | None
    reasons: list[dict[str, Any]]
    caption_style: str
    aspect: str
    title_overlay: bool
    caption_edits: dict[str, str]
    caption_fx: dict[str, Any] = Field(
        description="Keyword emphasis, emoji, profanity masking and jump cuts in effect."
    )
    seconds_removed: float | None = Field(
        None, description="Seconds the jump cuts took out of the last render."
    )
    status: str
    error: str | None
    render_version: int
    render_job: RenderJobOut | None = Field(
        None, description="The latest render of this version: state and progress."
    )
    width: int | None
    height: int | None
    layout: str | None
    layouts: list[dict[str, Any]] | None = Field(
        None,
        description="Reframe layout per segment of the render (track, split, screen, fit, "
        "center): [{start, end, layout}] in source seconds; `layout` is the one covering "
        "most of the clip.",
    )
    download_url: str | None = Field(None, description="API path that redirects to the video.")
    thumbnail_url: str | None = None
    created_at: datetime
    updated_at: datetime


class MediaLink(BaseModel):
    url: str
    expires_in: int


class WaveformOut(BaseModel):
    start: float
    end: float
    per_second: int
    peaks: list[float] = Field(description="Peak level 0..1 of each 1/per_second s.")
