"""The brand's caption choices as ASS styles (unit: no ffmpeg)."""

from __future__ import annotations

from pathlib import Path

from cliply.media.brand import CaptionBrand, branded_style
from cliply.media.captions import CAPTION_STYLES, SAFE_BOTTOM, parse_ass, write_ass
from cliply.transcribe.models import Word

WORDS = [Word(text="hello", start=0.1, end=0.5), Word(text="world", start=0.6, end=1.0)]


def _styles(
    tmp_path: Path, brand: CaptionBrand | None, style: str = "bold"
) -> dict[str, dict[str, str]]:
    out = write_ass(
        WORDS,
        tmp_path / "c.ass",
        clip_start=0.0,
        clip_end=2.0,
        width=1080,
        height=1920,
        style=branded_style(style, brand),
        title="Hook",
    )
    return parse_ass(out).styles


def test_no_brand_keeps_the_style(tmp_path: Path) -> None:
    assert branded_style("bold", None) == CAPTION_STYLES["bold"]
    base = _styles(tmp_path, None)["Base"]
    assert (base["Fontname"], base["Alignment"], base["MarginV"]) == (
        "DejaVu Sans",
        "2",
        str(round(SAFE_BOTTOM * 1920)),
    )


def test_font_colours_size_and_positions(tmp_path: Path) -> None:
    brand = CaptionBrand(
        font_family="Acme Sans",
        primary="#112233",
        active="#aabbcc",
        outline="#445566",
        size=0.05,
        position="top",
    )
    styles = _styles(tmp_path, brand)
    base, active, title = styles["Base"], styles["Active"], styles["Title"]
    assert base["Fontname"] == active["Fontname"] == title["Fontname"] == "Acme Sans"
    assert base["PrimaryColour"] == "&H00332211" and active["PrimaryColour"] == "&H00CCBBAA"
    assert base["OutlineColour"] == "&H00665544"
    assert base["Fontsize"] == str(round(0.05 * 1920))
    assert (base["Alignment"], base["MarginV"]) == ("8", str(round(0.2 * 1920)))
    middle = _styles(tmp_path, CaptionBrand(position="middle"))["Base"]
    assert middle["Alignment"] == "5"
    at = _styles(tmp_path, CaptionBrand(position="top", position_y=0.75))["Base"]
    assert (at["Alignment"], at["MarginV"]) == ("2", str(round(0.25 * 1920)))
    # "Fill" styles colour the words already said in the active colour too.
    karaoke = _styles(tmp_path, CaptionBrand(active="#FF0000"), style="karaoke")
    assert karaoke["Spoken"]["PrimaryColour"] == "&H000000FF"
