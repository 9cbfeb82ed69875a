"""Brand kit test files, made at test time (no font or media file is committed): a font
copied from the system's DejaVu/Noto fonts with its family renamed, so only the uploaded copy
can supply it; logos drawn with Pillow; damaged variants of each."""

from __future__ import annotations

import io
from pathlib import Path

from fontTools.ttLib import TTFont
from PIL import Image

FONT_DIR = Path("/usr/share/fonts/truetype")
# Monospaced and bold: its letters are much wider than DejaVu Sans Bold's (the default).
MONO = FONT_DIR / "dejavu" / "DejaVuSansMono-Bold.ttf"
SERIF = FONT_DIR / "noto" / "NotoSerif-Bold.ttf"
FAMILY = "Cliply Test Brand"


def renamed_font(out: Path, *, family: str = FAMILY, source: Path = MONO) -> Path:
    """A copy of `source` whose family (and full/PostScript names) is `family`."""
    font = TTFont(str(source))
    names = font["name"]
    ps = family.replace(" ", "")
    for rec in list(names.names):
        if rec.nameID in (1, 16):
            rec.string = family
        elif rec.nameID == 4:
            rec.string = f"{family} Bold"
        elif rec.nameID == 6:
            rec.string = f"{ps}-Bold"
        elif rec.nameID in (3,):
            rec.string = f"{ps}-Bold-test"
    out.parent.mkdir(parents=True, exist_ok=True)
    font.save(str(out))
    font.close()
    return out


def font_without_latin(out: Path) -> Path:
    """A real font whose cmap maps no basic Latin letters."""
    font = TTFont(str(MONO))
    for table in font["cmap"].tables:
        for cp in [ord(c) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"]:
            table.cmap.pop(cp, None)
    font.save(str(out))
    font.close()
    return out


def logo_png(
    size: tuple[int, int] = (200, 100), color: tuple[int, int, int] = (255, 0, 0)
) -> bytes:
    """An opaque solid-colour PNG (pure red by default: easy to find in a frame)."""
    buf = io.BytesIO()
    Image.new("RGBA", size, (*color, 255)).save(buf, format="PNG")
    return buf.getvalue()


def logo_jpeg(size: tuple[int, int] = (120, 120)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (0, 0, 255)).save(buf, format="JPEG")
    return buf.getvalue()
