"""Validation of the files a brand kit takes: a font (fontTools), a logo (Pillow), intro and
outro clips (ffprobe). Every check reads the file itself, never its name or declared type."""

from __future__ import annotations

import hashlib
import string
import warnings
from dataclasses import dataclass
from pathlib import Path

from fontTools.ttLib import TTFont, TTLibError
from PIL import Image, UnidentifiedImageError

from cliply.errors import PayloadTooLarge, ValidationFailed
from cliply.media import MediaError, probe, validate

MAX_FONT_BYTES = 10 * 1024 * 1024
MAX_LOGO_BYTES = 5 * 1024 * 1024
MAX_LOGO_SIDE = 4096
MIN_LOGO_SIDE = 16
MAX_CLIP_BYTES = 200 * 1024 * 1024
MAX_INTRO_S = 15.0
MAX_INTRO_SIDE = 3840
MAX_BYTES = {
    "font": MAX_FONT_BYTES,
    "logo": MAX_LOGO_BYTES,
    "intro": MAX_CLIP_BYTES,
    "outro": MAX_CLIP_BYTES,
}

# What captions need at the least: the letters and digits of basic Latin.
LATIN = string.ascii_letters + string.digits
# sfnt versions: TrueType outlines (1.0 or Apple's 'true') and CFF outlines ('OTTO').
_SFNT_MAGIC = (b"\x00\x01\x00\x00", b"true", b"OTTO")
_FAMILY_OK = frozenset(string.ascii_letters + string.digits + " -_.&'()+")


class InvalidFont(ValidationFailed):
    code, title = "invalid-font", "Not a usable font"


class InvalidLogo(ValidationFailed):
    code, title = "invalid-logo", "Not a usable logo image"


class InvalidBrandClip(ValidationFailed):
    code, title = "invalid-brand-clip", "Not a usable intro/outro video"


@dataclass(frozen=True)
class FontFacts:
    family: str
    ext: str  # ttf | otf
    glyphs: int


@dataclass(frozen=True)
class LogoFacts:
    width: int
    height: int
    ext: str  # png | jpg


@dataclass(frozen=True)
class ClipFacts:
    duration: float
    width: int
    height: int
    ext: str


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _check_size(path: Path, kind: str) -> int:
    size = path.stat().st_size
    limit = MAX_BYTES[kind]
    if size > limit:
        raise PayloadTooLarge(
            f"The {kind} file is {size} bytes; the limit is {limit} bytes.",
            code="brand-file-too-large",
            limit=limit,
        )
    if size == 0:
        cls = {"font": InvalidFont, "logo": InvalidLogo}.get(kind, InvalidBrandClip)
        raise cls(f"The {kind} file is empty.")
    return size


def check_font(path: Path) -> FontFacts:
    """A TrueType/OpenType font that parses completely, names its family and has glyphs for
    basic Latin letters and digits; anything else is InvalidFont (code invalid-font)."""
    _check_size(path, "font")
    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic not in _SFNT_MAGIC:
        raise InvalidFont("The file is not a TrueType or OpenType font (TTF or OTF).")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            font = TTFont(str(path), lazy=False, fontNumber=-1)
            try:
                for tag in ("head", "name", "cmap", "maxp", "hhea", "hmtx"):
                    font[tag]
                outlines = "CFF " if "CFF " in font else "glyf"
                font[outlines]
                family = font["name"].getBestFamilyName()
                cmap = font.getBestCmap() or {}
                glyph_order = set(font.getGlyphOrder())
                missing = [c for c in LATIN if cmap.get(ord(c)) not in glyph_order]
                glyph_set = font.getGlyphSet()
                for c in LATIN:  # every needed outline must decode (truncated data fails here)
                    name = cmap.get(ord(c))
                    if name is not None and name in glyph_order:
                        glyph_set[name].draw(_NullPen())
                glyphs = len(glyph_order)
            finally:
                font.close()
    except InvalidFont:
        raise
    except (TTLibError, KeyError, ValueError, IndexError, AssertionError, EOFError) as exc:
        raise InvalidFont(
            f"The font file is damaged or incomplete ({type(exc).__name__})."
        ) from None
    except Exception as exc:  # fontTools raises many kinds on crafted input: none is a font
        raise InvalidFont(f"The font file could not be read ({type(exc).__name__}).") from None
    if not family or not family.strip():
        raise InvalidFont("The font has no family name.")
    family = family.strip()
    if len(family) > 100 or not set(family) <= _FAMILY_OK:
        raise InvalidFont(
            "The font's family name must be up to 100 letters, digits, spaces or - _ . & ' ( ) +."
        )
    if missing:
        raise InvalidFont(
            "The font has no glyphs for basic Latin letters and digits "
            f"(missing: {''.join(missing[:12])}).",
            code="font-missing-glyphs",
        )
    return FontFacts(family=family, ext="otf" if magic == b"OTTO" else "ttf", glyphs=glyphs)


class _NullPen:
    """A fontTools pen that draws nothing: drawing a glyph decodes its outline."""

    def moveTo(self, pt: object) -> None:
        return None

    def lineTo(self, pt: object) -> None:
        return None

    def curveTo(self, *pts: object) -> None:
        return None

    def qCurveTo(self, *pts: object) -> None:
        return None

    def closePath(self) -> None:
        return None

    def endPath(self) -> None:
        return None

    def addComponent(self, name: str, transform: object) -> None:
        return None


def check_logo(path: Path) -> LogoFacts:
    """A PNG or JPEG that decodes completely, 16..4096 px a side."""
    _check_size(path, "logo")
    try:
        with Image.open(path) as im:
            fmt = im.format
            width, height = im.size
            if fmt not in ("PNG", "JPEG"):
                raise InvalidLogo("The logo must be a PNG or JPEG image.")
            if not (
                MIN_LOGO_SIDE <= width <= MAX_LOGO_SIDE and MIN_LOGO_SIDE <= height <= MAX_LOGO_SIDE
            ):
                raise InvalidLogo(
                    f"The logo is {width}x{height}; it must be {MIN_LOGO_SIDE} to "
                    f"{MAX_LOGO_SIDE} px a side."
                )
            im.load()  # decodes every pixel: a truncated file fails here
    except InvalidLogo:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise InvalidLogo("The logo is not a readable PNG or JPEG image.") from None
    return LogoFacts(width=width, height=height, ext="png" if fmt == "PNG" else "jpg")


def check_clip(path: Path, kind: str) -> ClipFacts:
    """A playable video (sound optional), 0.5..15 s, up to 4K."""
    _check_size(path, kind)
    try:
        info = probe(path)
        validate(
            info,
            max_duration_s=MAX_INTRO_S,
            max_width=MAX_INTRO_SIDE,
            max_height=MAX_INTRO_SIDE,
            require_audio=False,
        )
    except MediaError as exc:
        raise InvalidBrandClip(
            f"The {kind} is not usable: {exc.message}", reason=exc.code
        ) from None
    return ClipFacts(
        duration=round(info.duration, 3),
        width=info.display_width,
        height=info.display_height,
        ext="mp4",
    )
