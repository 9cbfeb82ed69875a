"""ASS captions: word highlight timing, line grouping, safe-area placement, odd text."""

from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np
import pytest

from cliply.media import CAPTION_STYLES, MediaError, parse_ass, write_ass
from cliply.media.captions import ACTIVE, escape_text
from cliply.transcribe.models import Word
from tests import mediagen as mg

W, H = 540, 960
SENTENCE = (
    "Have you ever wondered why bread rises in the oven? Yeast eats the sugar in the dough, "
    "and breathes out carbon dioxide. Extraordinarily unbelievable transformations happen."
)


def words_from(text: str, *, start: float = 10.0, pace: float = 0.31) -> list[Word]:
    out = []
    t = start
    for token in text.split():
        out.append(Word(text=token, start=round(t, 3), end=round(t + pace * 0.8, 3)))
        t += pace + (0.5 if token.endswith((".", "?")) else 0.0)
    return out


def render_frame(ass: Path, t: float, out: Path, *, bg: str = "gray") -> np.ndarray:
    mg.ffmpeg_lavfi(
        out,
        [f"color=c={bg}:s={W}x{H}:d={t + 0.5}:r=10"],
        *("-vf", f"ass={ass}", "-ss", f"{t:.2f}", "-frames:v", "1"),
    )
    img = cv2.imread(str(out))
    assert img is not None
    return img


def ink_bbox(img: np.ndarray, bg: int = 128) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of pixels that differ from the plain background."""
    diff = np.abs(img.astype(int) - bg).max(axis=2) > 40
    ys, xs = np.nonzero(diff)
    assert xs.size, "nothing was drawn"
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())


def test_registry_has_named_styles() -> None:
    assert {"bold", "minimal", "karaoke"} <= set(CAPTION_STYLES)
    for name, style in CAPTION_STYLES.items():
        assert style.name == name


@pytest.mark.parametrize("style", sorted(CAPTION_STYLES))
def test_every_word_is_highlighted_when_it_is_spoken(tmp_path: Path, style: str) -> None:
    words = words_from(SENTENCE)
    clip_start, clip_end = 9.5, words[-1].end + 1.0
    doc = parse_ass(
        write_ass(
            words,
            tmp_path / "c.ass",
            clip_start=clip_start,
            clip_end=clip_end,
            width=W,
            height=H,
            style=style,
        )
    )
    assert doc.play_res == (W, H)
    assert {"Base", ACTIVE} <= set(doc.styles)
    upper = CAPTION_STYLES[style].uppercase
    events = sorted(doc.events, key=lambda e: e.start)
    assert len(events) == len(words)
    for word, ev in zip(words, events, strict=True):
        expected = word.text.upper() if upper else word.text
        assert ev.active_word == expected
        assert abs(ev.start - (word.start - clip_start)) <= 0.1
        assert ev.end > ev.start
        assert expected in ev.plain
    # No two highlights at once: events of one style never overlap.
    for a, b in itertools.pairwise(events):
        assert a.end <= b.start + 1e-6


def test_lines_break_at_punctuation_and_stay_short(tmp_path: Path) -> None:
    words = words_from(SENTENCE)
    doc = parse_ass(
        write_ass(words, tmp_path / "c.ass", clip_start=9.5, clip_end=40, style="minimal")
    )
    lines = {ev.plain for ev in doc.events}
    style = CAPTION_STYLES["minimal"]
    for line in lines:
        assert len(line.split()) <= style.max_words
    # A sentence end closes its line: "oven?" is always the last word shown with it.
    assert any(line.endswith("oven?") for line in lines)
    assert not any("oven? " in line for line in lines)


def test_only_words_inside_the_clip_are_written(tmp_path: Path) -> None:
    words = words_from(SENTENCE)
    clip_start, clip_end = words[5].start, words[12].start
    doc = parse_ass(
        write_ass(words, tmp_path / "c.ass", clip_start=clip_start, clip_end=clip_end, style="bold")
    )
    shown = [ev.active_word for ev in doc.events]
    assert shown == [w.text.upper() for w in words[5:12]]
    assert all(ev.start >= 0 and ev.end <= clip_end - clip_start + 1e-6 for ev in doc.events)


@pytest.mark.parametrize("style", sorted(CAPTION_STYLES))
def test_captions_sit_in_the_safe_area(tmp_path: Path, style: str) -> None:
    words = words_from("Extraordinarily unbelievable transformations everywhere today", start=0.0)
    ass = write_ass(
        words, tmp_path / "c.ass", clip_start=0.0, clip_end=3.0, width=W, height=H, style=style
    )
    img = render_frame(ass, words[1].start + 0.05, tmp_path / "f.png")
    left, top, right, bottom = ink_bbox(img)
    assert bottom <= 0.78 * H, "captions must stay above the bottom overlay (caption, music)"
    assert right <= 0.88 * W, "captions must stay clear of the right-hand buttons"
    assert left >= 0.03 * W
    assert top >= 0.3 * H


def test_special_characters_emoji_and_cjk_render(tmp_path: Path) -> None:
    texts = [
        "{\\b1}bold?",
        "back\\slash\\N",
        "line\nbreak",
        "日本語の字幕",
        "🎉🔥",
        "ok👍🏽",
        "Привет",
        "مرحبا",
        "x}y{",
    ]
    words = [Word(text=t, start=0.3 * i, end=0.3 * i + 0.25) for i, t in enumerate(texts)]
    ass = write_ass(
        words, tmp_path / "c.ass", clip_start=0.0, clip_end=3.0, width=W, height=H, style="karaoke"
    )
    doc = parse_ass(ass)
    shown = [ev.active_word for ev in doc.events]
    # Braces and backslashes come back literally; newlines become spaces; the emoji-only
    # word is dropped (libass cannot draw colour emoji) and the other keeps its letters.
    assert "{\\b1}bold?" in shown and "back\\slash\\N" in shown and "x}y{" in shown
    assert "line break" in shown and "日本語の字幕" in shown and "ok" in shown
    assert all("\n" not in ev.text for ev in doc.events)
    out = tmp_path / "v.mp4"
    mg.ffmpeg_lavfi(
        out,
        [f"color=c=gray:s={W}x{H}:d=3:r=10"],
        *("-vf", f"ass={ass}", "-c:v", "libx264", "-preset", "ultrafast"),
    )
    assert out.stat().st_size > 0
    img = render_frame(ass, 3 * 0.3 + 0.1, tmp_path / "cjk.png")
    ink_bbox(img)


def test_escape_text_neutralises_override_blocks() -> None:
    escaped = escape_text("{\\pos(0,0)}hi")
    assert "{" not in escaped.replace("\\{", "")
    assert "\\p" not in escaped


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(MediaError) as info:
        write_ass([], tmp_path / "c.ass", clip_start=0, clip_end=1, style="nope")
    assert info.value.code == "bad-argument"
    with pytest.raises(MediaError):
        write_ass([], tmp_path / "c.ass", clip_start=2, clip_end=1)
    empty = parse_ass(write_ass([], tmp_path / "e.ass", clip_start=0, clip_end=1))
    assert empty.events == []
