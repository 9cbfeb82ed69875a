"""Word-by-word burned-in captions as an ASS (libass) subtitle file.

Words are grouped into short lines (a few words, broken at punctuation, pauses or a width
budget). Each line is written as one Dialogue event per word state: the event for word k starts
exactly when word k starts and shows the whole line with word k in the `Active` style (and, in
"fill" mode, the words already said in the `Spoken` style). Event times have 10 ms resolution, so
each highlight starts within 5 ms of its word.

Placement keeps clear of what TikTok / Shorts / Reels draw over the video: captions sit a third
of the height above the bottom (the caption, handle and music ticker use the bottom ~20 %) and
leave a wider right margin for the like / comment / share column.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from cliply.media.captionfx import emoji_for, emoji_in, is_keyword, keyword_set, mask_words
from cliply.media.errors import BAD_ARGUMENT, MediaError
from cliply.transcribe.formats import MIN_CUE_S
from cliply.transcribe.models import Word, join_word_pieces

# Share of the frame kept clear; see the module docstring.
SAFE_BOTTOM = 0.32
SAFE_LEFT = 0.07
SAFE_RIGHT = 0.15

ACTIVE = "Active"
SPOKEN = "Spoken"
BASE = "Base"
EMPHASIS = "Emphasis"
TITLE = "Title"
# The hook/title overlay: how long it stays up, and how high it sits (below the platforms'
# top bar, which covers roughly the top 8 % of the frame).
TITLE_SECONDS = 3.0
TITLE_TOP = 0.12

# ASCII and CJK (full-width) sentence / clause punctuation.
_BREAK_AFTER = tuple(".,!?;:\u2026\u3002\uff0c\uff01\uff1f\uff1b\uff1a\u3001")
_WORD_JOINER = "\u2060"


# Fonts for scripts the style's own font (DejaVu Sans: Latin, Greek, Cyrillic) cannot draw
# or shape well, from Debian's fonts-noto-core and fonts-noto-cjk (see APT_PACKAGES in the
# Makefile). libass finds them through fontconfig; a caption line is drawn in the font of its
# dominant script, so Arabic and Devanagari are shaped by one font and never show as boxes.
SCRIPT_FONTS: tuple[tuple[int, int, str], ...] = (
    (0x0590, 0x05FF, "Noto Sans Hebrew"),
    (0x0600, 0x06FF, "Noto Sans Arabic"),
    (0x0750, 0x077F, "Noto Sans Arabic"),
    (0x08A0, 0x08FF, "Noto Sans Arabic"),
    (0xFB50, 0xFDFF, "Noto Sans Arabic"),
    (0xFE70, 0xFEFF, "Noto Sans Arabic"),
    (0x0900, 0x097F, "Noto Sans Devanagari"),
    (0x0980, 0x09FF, "Noto Sans Bengali"),
    (0x0A00, 0x0A7F, "Noto Sans Gurmukhi"),
    (0x0A80, 0x0AFF, "Noto Sans Gujarati"),
    (0x0B80, 0x0BFF, "Noto Sans Tamil"),
    (0x0C00, 0x0C7F, "Noto Sans Telugu"),
    (0x0C80, 0x0CFF, "Noto Sans Kannada"),
    (0x0D00, 0x0D7F, "Noto Sans Malayalam"),
    (0x0D80, 0x0DFF, "Noto Sans Sinhala"),
    (0x0E00, 0x0E7F, "Noto Sans Thai"),
    (0x0E80, 0x0EFF, "Noto Sans Lao"),
    (0x1000, 0x109F, "Noto Sans Myanmar"),
    (0x10A0, 0x10FF, "Noto Sans Georgian"),
    (0x1200, 0x139F, "Noto Sans Ethiopic"),
    (0x1780, 0x17FF, "Noto Sans Khmer"),
    (0x0530, 0x058F, "Noto Sans Armenian"),
    (0x3040, 0x30FF, "Noto Sans CJK JP"),  # kana: Japanese glyph forms
    (0x1100, 0x11FF, "Noto Sans CJK KR"),
    (0x3130, 0x318F, "Noto Sans CJK KR"),
    (0xAC00, 0xD7AF, "Noto Sans CJK KR"),  # hangul: Korean
    (0x3000, 0x303F, "Noto Sans CJK SC"),
    (0x3400, 0x4DBF, "Noto Sans CJK SC"),
    (0x4E00, 0x9FFF, "Noto Sans CJK SC"),
    (0xF900, 0xFAFF, "Noto Sans CJK SC"),
    (0xFF00, 0xFFEF, "Noto Sans CJK SC"),
)
_HAN = "Noto Sans CJK SC"
_RTL_FONTS = frozenset({"Noto Sans Hebrew", "Noto Sans Arabic"})


def _script_font(ch: str) -> str | None:
    cp = ord(ch)
    for lo, hi, font in SCRIPT_FONTS:
        if lo <= cp <= hi:
            return font
    return None


def font_for_text(text: str, default: str) -> str:
    """The font for captions of `text`: the font of the script most of its letters are in,
    or `default` when that is Latin, Greek or Cyrillic. Han characters in text that also has
    kana or hangul take the Japanese or Korean font (same glyphs, local forms)."""
    counts: dict[str, int] = {}
    for ch in text:
        font = _script_font(ch)
        if font is not None:
            counts[font] = counts.get(font, 0) + 1
        elif ch.isalpha():
            counts[default] = counts.get(default, 0) + 1
    if not counts:
        return default
    for local in ("Noto Sans CJK JP", "Noto Sans CJK KR"):
        if local in counts and _HAN in counts:
            counts[local] += counts.pop(_HAN)
    return max(counts, key=lambda f: counts[f])


@dataclass(frozen=True)
class CaptionStyle:
    name: str
    font: str = "DejaVu Sans"
    size: float = 0.042
    """Font size as a share of the frame height."""
    bold: bool = True
    uppercase: bool = False
    primary: str = "FFFFFF"
    """RGB hex of the words not being spoken."""
    active: str = "FFE600"
    spoken: str | None = None
    """RGB hex for words already said ("fill" mode); None keeps them `primary`."""
    outline_color: str = "000000"
    outline: float = 0.0045
    """Outline width as a share of the frame height."""
    shadow: float = 0.0
    box: bool = False
    """Opaque box behind the text (ASS BorderStyle 3) instead of an outline."""
    box_color: str = "000000"
    box_alpha: int = 0x60
    max_chars: int = 18
    max_words: int = 4
    mode: Literal["word", "fill"] = "word"
    align: int = 2
    """ASS alignment (numpad): 2 bottom-centre, 5 middle, 8 top (a brand kit's position)."""
    margin_v: float = SAFE_BOTTOM
    """Vertical margin as a share of the frame height (from the bottom, or the top for 8)."""
    emphasis: str = "00E5FF"
    """RGB hex of the clip's keywords (keyword emphasis)."""
    emphasis_scale: int = 115
    """Keyword size in percent of the other words."""


CAPTION_STYLES: dict[str, CaptionStyle] = {
    "bold": CaptionStyle(
        name="bold", size=0.045, uppercase=True, max_chars=16, max_words=3, emphasis="00E5FF"
    ),
    "minimal": CaptionStyle(
        name="minimal",
        size=0.032,
        bold=False,
        primary="C8C8C8",
        active="FFFFFF",
        outline=0.0015,
        shadow=0.002,
        max_chars=28,
        max_words=6,
        emphasis="FFFFFF",
        emphasis_scale=110,
    ),
    "karaoke": CaptionStyle(
        name="karaoke",
        size=0.04,
        primary="FFFFFF",
        active="38E54D",
        spoken="38E54D",
        max_chars=22,
        max_words=5,
        mode="fill",
        emphasis="FF5CA8",
        emphasis_scale=112,
    ),
    "boxed": CaptionStyle(
        name="boxed",
        size=0.036,
        primary="FFFFFF",
        active="FFD400",
        box=True,
        outline=0.006,
        max_chars=22,
        max_words=4,
        emphasis="FF8A00",
        emphasis_scale=110,
    ),
}
"""Named caption presets; keys are what users pick."""


def get_style(style: str | CaptionStyle) -> CaptionStyle:
    if isinstance(style, CaptionStyle):
        return style
    try:
        return CAPTION_STYLES[style]
    except KeyError:
        raise MediaError(
            f"unknown caption style {style!r}; choose one of {sorted(CAPTION_STYLES)}",
            code=BAD_ARGUMENT,
        ) from None


@dataclass(frozen=True)
class TimedWord:
    text: str
    start: float
    end: float


def clip_words(words: Sequence[Word], clip_start: float, clip_end: float) -> list[TimedWord]:
    """Words that overlap the clip, on the clip's timeline, cleaned and strictly ordered."""
    duration = clip_end - clip_start
    out: list[TimedWord] = []
    for w in join_word_pieces(sorted(words, key=lambda w: w.start)):
        text = _clean(w.text)
        if not text or w.end <= clip_start or w.start >= clip_end:
            continue
        start = min(max(w.start - clip_start, 0.0), duration)
        end = min(max(w.end - clip_start, start), duration)
        if out and start < out[-1].start + 0.02:
            # Overlapping timestamps would make a zero-length highlight; nudge forward.
            start = out[-1].start + 0.02
            end = max(end, start)
        if start >= duration:
            break
        out.append(TimedWord(text, start, end))
    return out


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    # libass cannot draw colour (bitmap) emoji fonts: they would show as empty boxes, so
    # pictographs outside the BMP and their joiners / variation selectors are dropped.
    text = "".join(c for c in text if not _is_pictograph(c))
    return " ".join(text.replace("\r", " ").replace("\n", " ").replace("\t", " ").split())


def _is_pictograph(ch: str) -> bool:
    cp = ord(ch)
    if cp in (0x200D, 0xFE0E, 0xFE0F, 0x20E3) or 0x1F3FB <= cp <= 0x1F3FF:
        return True
    return cp >= 0x1F000 and unicodedata.category(ch) in ("So", "Sk", "Cn")


def _is_cjk(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _units(text: str) -> int:
    """Width budget units: wide (CJK) characters count double."""
    return sum(2 if _is_cjk(c) else 1 for c in text)


def _joiner(left: str, right: str) -> str:
    return "" if left and right and _is_cjk(left[-1]) and _is_cjk(right[0]) else " "


def group_lines(
    words: Sequence[TimedWord], *, max_chars: int, max_words: int, max_gap: float = 0.8
) -> list[list[TimedWord]]:
    """Split words into caption lines: at punctuation, long pauses, or the width budget."""
    lines: list[list[TimedWord]] = []
    cur: list[TimedWord] = []
    width = 0
    for w in words:
        if cur:
            grown = width + _units(_joiner(cur[-1].text, w.text) + w.text)
            if grown > max_chars or len(cur) >= max_words or w.start - cur[-1].end > max_gap:
                lines.append(cur)
                cur, width = [], 0
        width += _units((_joiner(cur[-1].text, w.text) if cur else "") + w.text)
        cur.append(w)
        if w.text.endswith(_BREAK_AFTER):
            lines.append(cur)
            cur, width = [], 0
    if cur:
        lines.append(cur)
    return lines


def min_duration_lines(
    lines: Sequence[list[TimedWord]], duration: float, min_s: float = MIN_CUE_S
) -> list[list[TimedWord]]:
    """Merge a caption line with the next (the last with the previous) when it could not
    stay up `min_s` before the next line or the clip's end."""
    out = [list(line) for line in lines]
    i = 0
    while i < len(out) and len(out) > 1:
        limit = out[i + 1][0].start if i + 1 < len(out) else duration
        if limit - out[i][0].start >= min_s:
            i += 1
        elif i + 1 < len(out):
            out[i] += out.pop(i + 1)
        else:
            out[i - 1] += out.pop(i)
            break
    return out


def escape_text(text: str) -> str:
    """Make user text literal in ASS: no override blocks, no \\N-style escapes."""
    text = _clean(text)
    # A word joiner after each backslash stops libass reading "\N", "\h", "\{" as escapes;
    # braces get the same libass escape so they never open an override block.
    text = text.replace("\\", "\\" + _WORD_JOINER)
    return text.replace("{", "\\{").replace("}", "\\}")


def _ass_color(rgb: str, alpha: int = 0) -> str:
    rgb = rgb.lstrip("#")
    r, g, b = rgb[0:2], rgb[2:4], rgb[4:6]
    return f"&H{alpha:02X}{b}{g}{r}".upper()


def _ass_time(seconds: float) -> str:
    cs = max(0, round(seconds * 100))
    h, rem = divmod(cs, 360000)
    m, rem = divmod(rem, 6000)
    s, c = divmod(rem, 100)
    return f"{h}:{m:02d}:{s:02d}.{c:02d}"


def _style_line(
    name: str,
    st: CaptionStyle,
    color: str,
    width: int,
    height: int,
    encoding: str = "1",
    scale: int = 100,
) -> str:
    size = round(st.size * height)
    outline = max(1.0, round(st.outline * height, 1))
    shadow = round(st.shadow * height, 1)
    back = _ass_color(st.box_color, st.box_alpha) if st.box else _ass_color("000000", 0x80)
    outline_col = _ass_color(st.box_color, st.box_alpha) if st.box else _ass_color(st.outline_color)
    fields = [
        name,
        st.font,
        str(size),
        _ass_color(color),
        _ass_color(color),
        outline_col,
        back,
        "-1" if st.bold else "0",
        "0",
        "0",
        "0",
        str(scale),
        str(scale),
        "0",
        "0",
        "3" if st.box else "1",
        f"{outline:g}",
        f"{shadow:g}",
        str(st.align),
        str(round(SAFE_LEFT * width)),
        str(round(SAFE_RIGHT * width)),
        str(round(st.margin_v * height)),
        encoding,
    ]
    return "Style: " + ",".join(fields)


def _title_style_line(st: CaptionStyle, width: int, height: int, encoding: str = "1") -> str:
    """The hook title: the caption style's colours in a boxed, top-centred line, wrapped."""
    size = round(st.size * height * 0.9)
    fields = [
        TITLE,
        st.font,
        str(size),
        _ass_color(st.primary),
        _ass_color(st.primary),
        _ass_color("000000", 0x40),
        _ass_color("000000", 0x40),
        "-1",
        "0",
        "0",
        "0",
        "100",
        "100",
        "0",
        "0",
        "3",
        f"{max(2.0, round(0.008 * height, 1)):g}",
        "0",
        "8",
        str(round(SAFE_LEFT * width)),
        str(round(SAFE_RIGHT * width)),
        str(round(TITLE_TOP * height)),
        encoding,
    ]
    return "Style: " + ",".join(fields)


def _margin_at(margins: Sequence[tuple[float, float, int]], t: float) -> int:
    """The bottom margin for a line starting at clip time `t` (0: the style's)."""
    for a, b, margin in margins:
        if a <= t < b:
            return max(1, margin)
    return 0


def write_ass(
    words: Sequence[Word],
    out_path: str | Path,
    *,
    clip_start: float,
    clip_end: float,
    width: int = 1080,
    height: int = 1920,
    style: str | CaptionStyle = "bold",
    title: str | None = None,
    title_s: float = TITLE_SECONDS,
    margins: Sequence[tuple[float, float, int]] = (),
    keywords: Sequence[str] = (),
    mask_profanity: bool = False,
) -> Path:
    """Write the captions of [clip_start, clip_end) (source seconds) to `out_path`.

    Event times are relative to the clip start, ready to burn into the rendered clip.
    `title`, when given, is drawn near the top for the first `title_s` seconds (the hook).
    `margins`: (start, end, bottom margin px) ranges on the clip's clock; a caption line that
    starts in one sits that far above the bottom instead of the style's margin (so it keeps
    clear of the face; see reframe.caption_margins).
    Words in `keywords` (the clip's keywords or hashtags) are drawn in the style's emphasis
    colour and scale; `mask_profanity` stars listed swear words ("f***").
    """
    if clip_end <= clip_start:
        raise MediaError(f"empty clip window {clip_start}..{clip_end}", code=BAD_ARGUMENT)
    st = get_style(style)
    if mask_profanity:
        words = mask_words(words)
    emphasised = keyword_set(keywords)
    timed = clip_words(words, clip_start, clip_end)
    font = font_for_text(" ".join(w.text for w in timed) + " " + (title or ""), st.font)
    if font != st.font:
        st = replace(st, font=font)
    # libass lays a line out left to right unless Encoding is -1 (base direction from the
    # text), and the per-word style switches would then put Arabic/Hebrew words in reverse.
    encoding = "-1" if font in _RTL_FONTS else "1"
    if st.uppercase:
        timed = [TimedWord(w.text.upper(), w.start, w.end) for w in timed]
    duration = clip_end - clip_start
    lines = min_duration_lines(
        group_lines(timed, max_chars=st.max_chars, max_words=st.max_words), duration
    )

    events: list[str] = []
    for li, line in enumerate(lines):
        next_start = lines[li + 1][0].start if li + 1 < len(lines) else duration
        hold_end = line[-1].end + 0.4
        # Short pauses keep the line up until the next one, so captions do not flicker.
        line_end = next_start if next_start - line[-1].end < 0.6 else min(hold_end, next_start)
        line_end = min(max(line_end, line[-1].end, line[0].start + MIN_CUE_S), next_start, duration)
        texts = [escape_text(w.text) for w in line]
        for k, w in enumerate(line):
            start = w.start
            end = line[k + 1].start if k + 1 < len(line) else line_end
            if round(end * 100) <= round(start * 100):
                end = start + 0.01
            parts: list[str] = []
            for j, text in enumerate(texts):
                key = is_keyword(line[j].text, emphasised)
                if j == k and key:  # the active colour, at the keyword's size
                    scaled = f"\\fscx{st.emphasis_scale}\\fscy{st.emphasis_scale}"
                    piece = f"{{\\r{ACTIVE}{scaled}}}{text}{{\\r}}"
                elif key:
                    piece = f"{{\\r{EMPHASIS}}}{text}{{\\r}}"
                elif j == k:
                    piece = f"{{\\r{ACTIVE}}}{text}{{\\r}}"
                elif j < k and st.mode == "fill":
                    piece = f"{{\\r{SPOKEN}}}{text}{{\\r}}"
                else:
                    piece = text
                if j > 0:
                    piece = _joiner(line[j - 1].text, line[j].text) + piece
                parts.append(piece)
            events.append(
                f"Dialogue: 0,{_ass_time(start)},{_ass_time(end)},{BASE},,0,0,"
                f"{_margin_at(margins, line[0].start)},,{''.join(parts)}"
            )

    title_text = escape_text(title) if title else ""
    if title_text:
        events.insert(
            0,
            f"Dialogue: 1,{_ass_time(0.0)},{_ass_time(min(title_s, duration))},{TITLE},,0,0,0,,"
            + title_text,
        )

    header = [
        "[Script Info]",
        "; Written by Cliply",
        "ScriptType: v4.00+",
        f"PlayResX: {width}",
        f"PlayResY: {height}",
        "WrapStyle: 0",
        "ScaledBorderAndShadow: yes",
        "YCbCr Matrix: TV.709",
        "",
        "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour,"
        " BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle,"
        " BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding",
        _style_line(BASE, st, st.primary, width, height, encoding),
        _style_line(ACTIVE, st, st.active, width, height, encoding),
        _style_line(SPOKEN, st, st.spoken or st.primary, width, height, encoding),
        _style_line(EMPHASIS, st, st.emphasis, width, height, encoding, st.emphasis_scale),
        _title_style_line(st, width, height, encoding),
        "",
        "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ]
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=".ass", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write("\ufeff" + "\n".join(header + events) + "\n")
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


# --- emoji over the caption line ---------------------------------------------------------------

EMOJI_SCALE = 1.4
"""Emoji image size relative to the caption font size."""
MAX_EMOJI_PER_LINE = 3


@dataclass(frozen=True)
class EmojiCue:
    """An emoji shown with a caption line: from when its word is spoken to the line's end,
    in slot `slot` of the line's `slots` (so earlier emoji do not move when one appears)."""

    emoji: str
    start: float
    end: float
    slot: int
    slots: int
    line_text: str


def _line_spans(lines: Sequence[list[TimedWord]], duration: float) -> list[float]:
    """When each caption line leaves the screen (as `write_ass` times it)."""
    ends: list[float] = []
    for li, line in enumerate(lines):
        next_start = lines[li + 1][0].start if li + 1 < len(lines) else duration
        hold_end = line[-1].end + 0.4
        line_end = next_start if next_start - line[-1].end < 0.6 else min(hold_end, next_start)
        ends.append(
            min(max(line_end, line[-1].end, line[0].start + MIN_CUE_S), next_start, duration)
        )
    return ends


def emoji_cues(
    words: Sequence[Word],
    *,
    clip_start: float,
    clip_end: float,
    style: str | CaptionStyle = "bold",
    keywords: Sequence[str] = (),
) -> list[EmojiCue]:
    """The emoji to draw over the captions: those typed into the words (caption edits) and,
    for each spoken keyword that has one, the keyword's emoji (pass no `keywords` to draw
    only the typed ones). Times are clip seconds, like `write_ass`'s events."""
    if clip_end <= clip_start:
        return []
    st = get_style(style)
    duration = clip_end - clip_start
    lines = min_duration_lines(
        group_lines(
            clip_words(words, clip_start, clip_end), max_chars=st.max_chars, max_words=st.max_words
        ),
        duration,
    )
    if not lines:
        return []
    ends = _line_spans(lines, duration)
    emphasised = keyword_set(keywords)
    found: dict[int, list[tuple[float, str]]] = {}
    for w in sorted(words, key=lambda w: w.start):
        if w.end <= clip_start or w.start >= clip_end:
            continue
        seqs = emoji_in(w.text)
        if not seqs and is_keyword(w.text, emphasised):
            mapped = emoji_for(w.text)
            seqs = [mapped] if mapped else []
        if not seqs:
            continue
        t = min(max(w.start - clip_start, 0.0), duration)
        li = max((i for i, line in enumerate(lines) if line[0].start <= t + 1e-6), default=0)
        if t >= ends[li] and li + 1 < len(lines):
            li += 1
        picked = found.setdefault(li, [])
        for seq in seqs:
            if len(picked) < MAX_EMOJI_PER_LINE and seq not in (e for _, e in picked):
                picked.append((max(t, lines[li][0].start), seq))
    cues: list[EmojiCue] = []
    for li, picked in sorted(found.items()):
        text = " ".join(w.text for w in lines[li])
        for slot, (t, seq) in enumerate(picked):
            if ends[li] - t >= 0.05:
                cues.append(EmojiCue(seq, round(t, 3), round(ends[li], 3), slot, len(picked), text))
    return cues


def emoji_box(
    cue: EmojiCue,
    ass: AssDocument,
    *,
    style: str | CaptionStyle = "bold",
    margin_v: float | None = None,
) -> tuple[int, int, int]:
    """(x, y, size) in output pixels of a cue's emoji: a row centred over the caption area,
    just above the caption block (below it for top-aligned captions), using the Base style
    of the written ASS, so it follows the captions wherever their placement puts them;
    `margin_v`: the line's own bottom margin when its event overrides the style's."""
    st = get_style(style)
    width, height = ass.play_res
    base = ass.styles.get(BASE, {})
    size_px = float(base.get("Fontsize", st.size * height))
    left = float(base.get("MarginL", SAFE_LEFT * width))
    right = float(base.get("MarginR", SAFE_RIGHT * width))
    if not margin_v:
        margin_v = float(base.get("MarginV", SAFE_BOTTOM * height))
    align = int(base.get("Alignment", "2"))
    # Rough text width (DejaVu Sans Bold averages ~0.6 em, capitals ~0.7 em) → wrapped lines.
    em = 0.7 if st.uppercase else 0.6
    usable = max(1.0, width - left - right)
    n_lines = max(1, math.ceil(len(cue.line_text) * em * size_px / usable))
    block = n_lines * 1.25 * size_px
    size = max(16, round(size_px * EMOJI_SCALE))
    gap = round(0.25 * size_px)
    if align >= 7:  # top-aligned: the emoji row goes under the text
        y = margin_v + block + gap
    elif align >= 4:
        y = height / 2 - block / 2 - gap - size
    else:
        y = height - margin_v - block - gap - size
    row = cue.slots * size + (cue.slots - 1) * gap
    centre = left + usable / 2
    x = centre - row / 2 + cue.slot * (size + gap)
    x = min(max(0.0, x), width - size)
    y = min(max(0.0, y), height - size)
    return round(x), round(y), size


# --- reading ASS back (tests, previews) -------------------------------------------------------


@dataclass(frozen=True)
class AssEvent:
    start: float
    end: float
    style: str
    text: str

    @property
    def plain(self) -> str:
        """Displayed text: override blocks removed, escapes undone."""
        return _unescape(re.sub(r"(?<!\\)\{[^}]*\}", "", self.text))

    @property
    def active_word(self) -> str | None:
        m = re.search(r"\{\\r" + ACTIVE + r"(?:\\[^}]*)?\}(.*?)(?<!\\)\{", self.text)
        return _unescape(m.group(1)) if m else None


@dataclass(frozen=True)
class AssDocument:
    play_res: tuple[int, int]
    styles: dict[str, dict[str, str]]
    events: list[AssEvent]


def _unescape(text: str) -> str:
    return text.replace("\\{", "{").replace("\\}", "}").replace("\\" + _WORD_JOINER, "\\")


def _parse_time(value: str) -> float:
    h, m, s = value.strip().split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def parse_ass(path: str | Path) -> AssDocument:
    """Parse the subset of ASS that `write_ass` produces (any v4+ file's styles and events)."""
    section = ""
    style_fields: list[str] = []
    event_fields: list[str] = []
    styles: dict[str, dict[str, str]] = {}
    events: list[AssEvent] = []
    res = {"PlayResX": 0, "PlayResY": 0}
    for raw in Path(path).read_text(encoding="utf-8-sig").splitlines():
        line = raw.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line.lower()
            continue
        key, _, value = line.partition(":")
        value = value.strip()
        if section == "[script info]" and key in res:
            res[key] = int(value)
        elif section == "[v4+ styles]" and key == "Format":
            style_fields = [f.strip() for f in value.split(",")]
        elif section == "[v4+ styles]" and key == "Style":
            vals = [v.strip() for v in value.split(",", len(style_fields) - 1)]
            styles[vals[0]] = dict(zip(style_fields, vals, strict=False))
        elif section == "[events]" and key == "Format":
            event_fields = [f.strip() for f in value.split(",")]
        elif section == "[events]" and key == "Dialogue":
            vals = value.split(",", len(event_fields) - 1)
            row = dict(zip(event_fields, vals, strict=False))
            events.append(
                AssEvent(
                    start=_parse_time(row["Start"]),
                    end=_parse_time(row["End"]),
                    style=row["Style"].strip(),
                    text=row["Text"],
                )
            )
    return AssDocument(play_res=(res["PlayResX"], res["PlayResY"]), styles=styles, events=events)
