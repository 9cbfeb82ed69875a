"""A workspace's brand on a clip, over local files: caption look (font, colours, position,
size), a logo overlay in a corner, and intro/outro clips joined around the render.

Pure media code: the brand domain stores the kit and hands local copies of its files here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from cliply.media.captions import CaptionStyle, get_style
from cliply.media.errors import BAD_ARGUMENT, MediaError
from cliply.media.tools import escape_filter_value

Corner = Literal["top-left", "top-right", "bottom-left", "bottom-right"]
CORNERS: tuple[Corner, ...] = ("top-left", "top-right", "bottom-left", "bottom-right")
CaptionPosition = Literal["top", "middle", "bottom"]
CAPTION_POSITIONS: tuple[CaptionPosition, ...] = ("top", "middle", "bottom")

# Margin between the logo and the frame's edges, as a share of the frame width.
LOGO_MARGIN = 0.04
# "top": below the platforms' top bar and the hook title (which sits at 12 % of the height).
TOP_CAPTION_MARGIN = 0.2


@dataclass(frozen=True)
class LogoOverlay:
    path: Path
    corner: Corner = "top-right"
    opacity: float = 1.0
    scale: float = 0.18
    """The logo fits a square of this share of the frame width (aspect kept)."""


@dataclass(frozen=True)
class CaptionBrand:
    """Brand choices over a caption style; None keeps the style's own value."""

    font_family: str | None = None
    primary: str | None = None
    active: str | None = None
    outline: str | None = None
    position: CaptionPosition | None = None
    position_y: float | None = None
    """The caption's bottom edge at this share of the height (overrides `position`)."""
    size: float | None = None
    """Font size as a share of the frame height."""


def branded_style(style: str | CaptionStyle, brand: CaptionBrand | None) -> CaptionStyle:
    """The caption style with the brand's font, colours, position and size applied."""
    st = get_style(style)
    if brand is None:
        return st
    changes: dict[str, object] = {}
    if brand.font_family:
        changes["font"] = brand.font_family
    if brand.primary:
        changes["primary"] = brand.primary.lstrip("#").upper()
    if brand.active:
        active = brand.active.lstrip("#").upper()
        changes["active"] = active
        if st.spoken is not None:  # "fill" styles colour the words said in the active colour
            changes["spoken"] = active
    if brand.outline:
        changes["outline_color"] = brand.outline.lstrip("#").upper()
    if brand.size is not None:
        changes["size"] = brand.size
    if brand.position_y is not None:
        changes["align"], changes["margin_v"] = 2, max(0.0, 1.0 - brand.position_y)
    elif brand.position == "top":
        changes["align"], changes["margin_v"] = 8, TOP_CAPTION_MARGIN
    elif brand.position == "middle":
        changes["align"], changes["margin_v"] = 5, 0.0
    return replace(st, **changes)  # type: ignore[arg-type]


def logo_graph(logo: LogoOverlay, *, width: int, height: int, in_label: str, out_label: str) -> str:
    """Filtergraph text drawing the logo over [in_label] into [out_label]. The logo is read by
    the graph itself (`movie`), so the render and the still preview need no extra input; a
    still image overlaid with the default eof_action stays on every frame."""
    if not 0.0 <= logo.opacity <= 1.0 or not 0.0 < logo.scale <= 1.0:
        raise MediaError("logo opacity must be 0..1 and scale 0..1", code=BAD_ARGUMENT)
    if logo.corner not in CORNERS:
        raise MediaError(f"unknown logo corner {logo.corner!r}", code=BAD_ARGUMENT)
    box = max(2, round(width * logo.scale))
    m = round(width * LOGO_MARGIN)
    x = f"{m}" if logo.corner.endswith("left") else f"main_w-overlay_w-{m}"
    y = f"{m}" if logo.corner.startswith("top") else f"main_h-overlay_h-{m}"
    src = escape_filter_value(str(logo.path))
    return (
        f"movie=filename={src},format=rgba,"
        f"scale=w={box}:h={box}:force_original_aspect_ratio=decrease,"
        f"colorchannelmixer=aa={logo.opacity:.3f}[{out_label}lg];"
        f"[{in_label}][{out_label}lg]overlay=x={x}:y={y}:format=auto[{out_label}]"
    )
