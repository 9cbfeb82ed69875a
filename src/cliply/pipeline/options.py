"""Per-project clip options (stored in projects.options) and their validation."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cliply.media.captions import CAPTION_STYLES
from cliply.media.reframe import ASPECTS, LAYOUT_CHOICES, LayoutChoice
from cliply.transcribe.languages import UnknownLanguage, normalize_language

MIN_CLIP_S = 3.0
MAX_CLIP_S = 180.0
MAX_PROMPT_CHARS = 300
# Jump cuts: pauses longer than max_silence_s are shortened (to twice the cut pad).
MIN_SILENCE_S = 0.3
MAX_SILENCE_S = 10.0


class CaptionFx(BaseModel):
    """Caption effects and jump cuts: project options (ClipOptions) and part of a clip's look."""

    model_config = ConfigDict(extra="forbid")

    keyword_emphasis: bool = Field(
        True, description="Draw the clip's keywords emphasised (style's colour and size)."
    )
    emoji: bool = Field(
        True,
        description="Show a colour emoji over the captions when a keyword that has one "
        "is spoken (emoji typed into caption edits are always drawn).",
    )
    mask_profanity: bool = Field(False, description='Star swear words in captions ("f***").')
    bleep: bool = Field(False, description="Also bleep the masked words in the sound.")
    remove_fillers: bool = Field(
        False, description="Jump cuts: remove filler words (um, uh, euh, äh, ...)."
    )
    max_silence_s: float | None = Field(
        None,
        ge=MIN_SILENCE_S,
        le=MAX_SILENCE_S,
        description="Jump cuts: shorten pauses between words longer than this (s); "
        "None keeps every pause.",
    )

    @model_validator(mode="after")
    def _bleep_masks(self) -> CaptionFx:
        if self.bleep and not self.mask_profanity:
            raise ValueError("bleep needs mask_profanity")
        return self

    def caption_fx(self) -> CaptionFx:
        return CaptionFx.model_validate({k: getattr(self, k) for k in FX_FIELDS})


FX_FIELDS = (
    "keyword_emphasis",
    "emoji",
    "mask_profanity",
    "bleep",
    "remove_fillers",
    "max_silence_s",
)


def caption_fx_of(raw: dict[str, Any] | None) -> CaptionFx:
    """A stored fx dict (a clip's, or a project's options) as CaptionFx: unknown keys and
    values no longer valid are ignored, so old rows still render."""
    known = {k: v for k, v in (raw or {}).items() if k in FX_FIELDS}
    try:
        return CaptionFx.model_validate(known)
    except ValueError:
        return CaptionFx()


class ClipOptions(CaptionFx):
    """What the user asked for; None means "the server default" (settings / plan)."""

    model_config = ConfigDict(extra="forbid")

    min_s: float | None = Field(
        None, ge=MIN_CLIP_S, le=MAX_CLIP_S, description="Shortest clip (s)."
    )
    max_s: float | None = Field(None, ge=MIN_CLIP_S, le=MAX_CLIP_S, description="Longest clip (s).")
    top_k: int | None = Field(None, ge=1, le=100, description="How many clips to suggest.")
    aspect: str = Field("9:16", description="Output aspect: " + ", ".join(ASPECTS))
    caption_style: str | None = Field(
        None,
        description="Caption style: "
        + ", ".join(CAPTION_STYLES)
        + " (default CAPTION_STYLE_DEFAULT)",
    )
    language: str | None = Field(
        None,
        max_length=16,
        description="Spoken language as a code such as en, es, fr, de, pt, ru, zh, ar, hi; "
        "None or 'auto' = detected from the audio.",
    )
    layout: LayoutChoice = Field(
        "auto",
        description="Reframe layout: auto (chosen per scene: track one face, split two "
        "speakers, screen for slides plus a face, fit without a face) or one of track, "
        "split, screen, fit forced where the scene allows.",
    )
    prompt: str | None = Field(
        None,
        max_length=MAX_PROMPT_CHARS,
        description="What the clips should be about, as a prompt or keywords "
        '("everything about pricing"): candidates are ranked by how well they match it, '
        "and the match is shown as a reason. Empty = no steering.",
    )

    @field_validator("prompt")
    @classmethod
    def _clean_prompt(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if any(ord(c) < 32 and c not in "\t\n" for c in value):
            raise ValueError("prompt must not contain control characters")
        text = " ".join(value.split())
        if text and not any(c.isalnum() for c in text):
            raise ValueError("prompt must contain at least one letter or digit")
        return text or None

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str | None) -> str | None:
        try:
            return normalize_language(value)
        except UnknownLanguage as exc:
            raise ValueError(exc.message) from None

    @model_validator(mode="after")
    def _consistent(self) -> ClipOptions:
        if self.aspect not in ASPECTS:
            raise ValueError(f"aspect must be one of {', '.join(ASPECTS)}")
        if self.caption_style is not None and self.caption_style not in CAPTION_STYLES:
            raise ValueError(f"caption_style must be one of {', '.join(CAPTION_STYLES)}")
        if self.min_s is not None and self.max_s is not None and self.min_s >= self.max_s:
            raise ValueError("min_s must be less than max_s")
        return self


class ResolvedOptions(BaseModel):
    """Options with every default filled in and the plan's limits applied."""

    min_s: float
    max_s: float
    top_k: int
    max_overlap: float
    aspect: str
    caption_style: str
    language: str | None = None  # None: detect
    layout: str = "auto"
    keyword_emphasis: bool = True
    emoji: bool = True
    mask_profanity: bool = False
    bleep: bool = False
    remove_fillers: bool = False
    max_silence_s: float | None = None

    def caption_fx(self) -> CaptionFx:
        return CaptionFx.model_validate({k: getattr(self, k) for k in FX_FIELDS})

    # Server settings for highlight detection (CLIP_MIN_SCORE, HIGHLIGHT_EMBEDDER, LLM_TOP_N).
    min_score: float = 0.0
    embedder: str = "auto"
    llm_top_n: int = 10
    prompt: str | None = None  # topic steering (None: none)


def resolve_options(
    raw: dict[str, Any] | ClipOptions | None,
    *,
    default_min_s: float,
    default_max_s: float,
    default_top_k: int,
    max_overlap: float,
    clips_limit: int | None = None,
    default_caption_style: str = "bold",
    min_score: float = 0.0,
    embedder: str = "auto",
    llm_top_n: int = 10,
) -> ResolvedOptions:
    """Fill defaults; `clips_limit` (the plan's clips_per_project) caps top_k."""
    opts = raw if isinstance(raw, ClipOptions) else ClipOptions.model_validate(raw or {})
    min_s = opts.min_s if opts.min_s is not None else default_min_s
    max_s = opts.max_s if opts.max_s is not None else default_max_s
    if min_s >= max_s:  # one side given, the default of the other conflicts
        if opts.min_s is not None:
            max_s = min(MAX_CLIP_S, max(min_s * 2, min_s + 5))
        else:
            min_s = max(MIN_CLIP_S, max_s / 2)
    top_k = opts.top_k if opts.top_k is not None else default_top_k
    if clips_limit is not None:
        top_k = min(top_k, clips_limit)
    return ResolvedOptions(
        min_s=min_s,
        max_s=max_s,
        top_k=max(1, top_k),
        max_overlap=max_overlap,
        aspect=opts.aspect,
        caption_style=opts.caption_style or default_caption_style,
        language=opts.language,
        layout=opts.layout,
        prompt=opts.prompt,
        keyword_emphasis=opts.keyword_emphasis,
        emoji=opts.emoji,
        mask_profanity=opts.mask_profanity,
        bleep=opts.bleep,
        remove_fillers=opts.remove_fillers,
        max_silence_s=opts.max_silence_s,
        min_score=min_score,
        embedder=embedder,
        llm_top_n=llm_top_n,
    )


def language_of(raw: dict[str, Any] | None) -> str | None:
    """The spoken language a project's stored options force (None: detect). Options stored
    before the field existed, or with a code no longer known, mean "detect"."""
    value = (raw or {}).get("language")
    if not isinstance(value, str):
        return None
    try:
        return normalize_language(value)
    except UnknownLanguage:
        return None


def layout_of(raw: dict[str, Any] | None) -> str:
    """The reframe layout a project's stored options ask for ("auto" when none or unknown)."""
    value = (raw or {}).get("layout")
    return value if isinstance(value, str) and value in LAYOUT_CHOICES else "auto"
