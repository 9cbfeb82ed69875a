"""API shapes of the brand kit."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator

from cliply.brand.models import BrandKit
from cliply.media.brand import CAPTION_POSITIONS, CORNERS
from cliply.media.captions import CAPTION_STYLES
from cliply.media.reframe import ASPECTS
from cliply.schemas import Omittable, Strict

_HEX = re.compile(r"^#[0-9A-Fa-f]{6}$")

Color = Annotated[
    str,
    Field(
        max_length=7,
        description="An RGB colour as #RRGGBB.",
        examples=["#FFE600"],
    ),
]
Position = Literal["top", "middle", "bottom"]
Corner = Literal["top-left", "top-right", "bottom-left", "bottom-right"]
assert set(Position.__args__) == set(CAPTION_POSITIONS)  # type: ignore[attr-defined]
assert set(Corner.__args__) == set(CORNERS)  # type: ignore[attr-defined]


class BrandIn(Strict):
    """A change to the brand kit: fields left out keep their value; null resets one to
    Cliply's default (the caption style's own look)."""

    caption_color: Color | None = None
    caption_active_color: Color | None = Field(
        None, max_length=7, description="Colour of the word being spoken."
    )
    caption_outline_color: Color | None = None
    caption_position: Position | None = Field(
        None, description="Where captions sit: top, middle or bottom (the style's own place)."
    )
    caption_position_y: float | None = Field(
        None,
        ge=0.1,
        le=0.95,
        description="Overrides caption_position: the caption's bottom edge at this share of "
        "the height from the top.",
    )
    caption_size: float | None = Field(
        None, ge=0.02, le=0.12, description="Caption font size as a share of the frame height."
    )
    logo_corner: Omittable[Corner] = None
    logo_opacity: Omittable[float] = Field(None, ge=0.0, le=1.0)
    logo_scale: Omittable[float] = Field(
        None, ge=0.05, le=0.5, description="The logo fits a square of this share of the width."
    )
    default_caption_style: str | None = Field(
        None, description="Caption style of new clips: " + ", ".join(CAPTION_STYLES)
    )
    default_aspect: str | None = Field(
        None, description="Aspect of new clips: " + ", ".join(ASPECTS)
    )

    @field_validator("caption_color", "caption_active_color", "caption_outline_color")
    @classmethod
    def _hex(cls, value: str | None) -> str | None:
        if value is not None and not _HEX.match(value):
            raise ValueError("must be a colour as #RRGGBB")
        return value.upper() if value is not None else None

    @field_validator("default_caption_style")
    @classmethod
    def _style(cls, value: str | None) -> str | None:
        if value is not None and value not in CAPTION_STYLES:
            raise ValueError(f"must be one of {', '.join(CAPTION_STYLES)}")
        return value

    @field_validator("default_aspect")
    @classmethod
    def _aspect(cls, value: str | None) -> str | None:
        if value is not None and value not in ASPECTS:
            raise ValueError(f"must be one of {', '.join(ASPECTS)}")
        return value


class BrandFileOut(BaseModel):
    filename: str | None
    url: str
    """GET this for the file (the API's own route)."""


class BrandOut(BaseModel):
    caption_color: str | None
    caption_active_color: str | None
    caption_outline_color: str | None
    caption_position: Position | None
    caption_position_y: float | None
    caption_size: float | None
    font: BrandFileOut | None
    font_family: str | None
    logo: BrandFileOut | None
    logo_width: int | None
    logo_height: int | None
    logo_corner: Corner
    logo_opacity: float
    logo_scale: float
    intro: BrandFileOut | None
    intro_duration_s: float | None
    outro: BrandFileOut | None
    outro_duration_s: float | None
    default_caption_style: str | None
    default_aspect: str | None
    watermark: bool
    """Whether renders carry the Cliply watermark (the plan decides; the kit cannot)."""
    updated_at: datetime | None


def _file(kit: BrandKit | None, kind: str) -> BrandFileOut | None:
    if kit is None or getattr(kit, f"{kind}_key") is None:
        return None
    return BrandFileOut(filename=getattr(kit, f"{kind}_filename"), url=f"/api/v1/brand/{kind}")


def brand_out(kit: BrandKit | None, watermark: bool) -> BrandOut:
    return BrandOut(
        caption_color=kit.caption_color if kit else None,
        caption_active_color=kit.caption_active_color if kit else None,
        caption_outline_color=kit.caption_outline_color if kit else None,
        caption_position=kit.caption_position if kit else None,
        caption_position_y=kit.caption_position_y if kit else None,
        caption_size=kit.caption_size if kit else None,
        font=_file(kit, "font"),
        font_family=kit.font_family if kit and kit.font_key else None,
        logo=_file(kit, "logo"),
        logo_width=kit.logo_width if kit else None,
        logo_height=kit.logo_height if kit else None,
        logo_corner=kit.logo_corner if kit else "top-right",
        logo_opacity=kit.logo_opacity if kit else 1.0,
        logo_scale=kit.logo_scale if kit else 0.18,
        intro=_file(kit, "intro"),
        intro_duration_s=kit.intro_duration_s if kit else None,
        outro=_file(kit, "outro"),
        outro_duration_s=kit.outro_duration_s if kit else None,
        default_caption_style=kit.default_caption_style if kit else None,
        default_aspect=kit.default_aspect if kit else None,
        watermark=watermark,
        updated_at=kit.updated_at if kit else None,
    )
