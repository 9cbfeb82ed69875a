"""Burned captions in every script Cliply transcribes: real glyphs (never tofu boxes), the
script's own font, and right-to-left lines laid out right to left."""

from __future__ import annotations

import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from cliply.media import CAPTION_STYLES, parse_ass, write_ass
from cliply.media.captions import font_for_text
from cliply.transcribe.models import Word
from tests import mediagen as mg

W, H = 540, 960
SAMPLES = {
    "latin": ("¿Por qué el corazón late más rápido?", "DejaVu Sans"),
    "cyrillic": ("Почему сердце бьётся быстрее?", "DejaVu Sans"),
    "chinese": ("为什么 心跳 会 加快？", "Noto Sans CJK SC"),  # noqa: RUF001
    "japanese": ("なぜ 心臓 は 速く 打つ の", "Noto Sans CJK JP"),
    "arabic": ("لماذا ينبض القلب بسرعة أكبر؟", "Noto Sans Arabic"),
    "hebrew": ("למה הלב פועם מהר יותר?", "Noto Sans Hebrew"),
    "devanagari": ("दिल तेज़ी से क्यों धड़कता है?", "Noto Sans Devanagari"),
}
# Private-use code points: no installed font has them, so they render as .notdef boxes.
TOFU = "\ue000"


def _words(text: str) -> list[Word]:
    return [Word(text=t, start=0.4 * i, end=0.4 * i + 0.3) for i, t in enumerate(text.split())]


def _render(
    text: str, folder: Path, name: str, *, active: int | None = None, style: str = "minimal"
) -> np.ndarray:
    """The caption of `text` while word `active` (default the first) is spoken."""
    words = _words(text)
    ass = write_ass(
        words,
        folder / f"{name}.ass",
        clip_start=0.0,
        clip_end=0.4 * len(words) + 1.0,
        width=W,
        height=H,
        style=style,
    )
    t = words[active or 0].start + 0.05
    out = folder / f"{name}.png"
    mg.ffmpeg_lavfi(
        out,
        [f"color=c=gray:s={W}x{H}:d={t + 0.5}:r=10"],
        *("-vf", f"ass={ass}", "-ss", f"{t:.2f}", "-frames:v", "1"),
    )
    img = cv2.imread(str(out))
    assert img is not None
    return img


def _ink(img: np.ndarray) -> np.ndarray:
    return np.asarray(np.abs(img.astype(int) - 128).max(axis=2) > 60)


def _tofu_like(img: np.ndarray, folder: Path, n_chars: int, name: str) -> float:
    """Overlap (IoU) of the caption's ink with the ink of as many missing-glyph boxes."""
    boxes = _ink(_render(" ".join([TOFU * max(1, n_chars // 3)] * 3), folder, f"{name}-tofu"))
    ink = _ink(img)
    return float((ink & boxes).sum() / max(1, (ink | boxes).sum()))


def test_tofu_detector_flags_missing_glyphs(tmp_path: Path) -> None:
    """The check below can fail: a caption of missing glyphs is all hollow boxes that
    look alike, one ink blob per box."""
    img = _render(" ".join([TOFU * 4] * 3), tmp_path, "boxes")
    assert _ink(img).sum() > 200  # boxes are drawn ...
    assert _tofu_like(img, tmp_path, 12, "boxes") > 0.9  # ... and are what tofu looks like


@pytest.mark.parametrize("script", sorted(SAMPLES))
def test_caption_draws_real_glyphs_in_the_scripts_font(script: str, tmp_path: Path) -> None:
    text, font = SAMPLES[script]
    assert font_for_text(text, "DejaVu Sans") == font
    doc = parse_ass(
        write_ass(_words(text), tmp_path / "c.ass", clip_start=0, clip_end=5, width=W, height=H)
    )
    assert {s["Fontname"] for s in doc.styles.values()} == {font}
    # The font is installed itself (fontconfig would otherwise substitute another family).
    matched = subprocess.run(
        ["fc-match", "-f", "%{family}", font], capture_output=True, text=True, check=True
    ).stdout
    assert font in matched.split(","), f"{font} is not installed (fc-match gave {matched})"
    img = _render(text, tmp_path, script)
    ink = _ink(img)
    assert ink.sum() > 500, "nothing drawn"
    rows = np.flatnonzero(ink.any(axis=1))
    # Glyphs at the caption size; missing ones come out as small boxes or not at all.
    assert rows[-1] - rows[0] >= 0.5 * CAPTION_STYLES["minimal"].size * H, "glyphs too small"
    letters = sum(1 for c in text if c.isalpha())
    assert _tofu_like(img, tmp_path, letters, script) < 0.5, "the caption looks like tofu boxes"


@pytest.mark.parametrize("script", ["arabic", "hebrew"])
def test_right_to_left_lines_run_right_to_left(script: str, tmp_path: Path) -> None:
    """The highlighted word moves leftwards as the line is spoken; Encoding -1 makes libass
    take the base direction from the text (with 1 the words came out left to right)."""
    text = " ".join(SAMPLES[script][0].split()[:3])  # one caption line of the "bold" style
    centres = []
    for k in range(len(text.split())):
        img = _render(text, tmp_path, f"{script}{k}", active=k, style="bold")
        b, g, r = (img[..., i].astype(int) for i in range(3))
        yellow = (r > 200) & (g > 180) & (b < 100)
        xs = np.nonzero(yellow.any(axis=0))[0]
        assert xs.size, f"word {k} is not highlighted"
        centres.append(float(xs.mean()))
    assert centres == sorted(centres, reverse=True), centres


def test_left_to_right_scripts_keep_encoding_1(tmp_path: Path) -> None:
    doc = parse_ass(write_ass(_words("hello there"), tmp_path / "c.ass", clip_start=0, clip_end=2))
    assert {s["Encoding"] for s in doc.styles.values()} == {"1"}
