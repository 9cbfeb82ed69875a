"""Caption effects: keyword emphasis, colour emoji overlays, profanity masking and jump cuts.

- Keywords (the clip's hashtags) are drawn in the caption style's emphasis colour and scale
  (see `captions.write_ass`).
- libass cannot draw colour (bitmap) emoji, so emoji are drawn as images: glyph PNGs rendered
  with Pillow from Debian's Noto Color Emoji (fonts-noto-color-emoji) at render time, cached in
  the work dir, and laid over the video with ffmpeg `overlay` + `enable='between(t,a,b)'` above
  (or below) the caption line. A keyword's emoji comes from the `emoji` package's CLDR names
  ("fire" → 🔥) or a small table of common words; emoji typed into caption edits are drawn too.
- Profanity masking uses better-profanity's word list (MIT, shipped in the wheel, read offline)
  and keeps the first letter: "fuck" → "f***".
- Jump cuts remove filler words and long pauses between words (keeping a short pad on each
  side, so no word is cut) in the render's single ffmpeg pass: `select`/`aselect` after the
  reframe crop, with timestamps shifted by the time removed before each frame.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import subprocess
import tempfile
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import emoji as emoji_lib
import numpy as np

from cliply.media.tools import ffmpeg_bin
from cliply.transcribe.models import Word

# --- words -------------------------------------------------------------------------------------

_EDGE_PUNCT = re.compile(r"^[\W_]+|[\W_]+$", re.UNICODE)


def bare(text: str) -> str:
    """A word without surrounding punctuation, case-folded: what lists are matched against."""
    return _EDGE_PUNCT.sub("", unicodedata.normalize("NFC", text)).casefold()


def _stems(word: str) -> tuple[str, ...]:
    """The word and its simple English plural/possessive stems ("rockets" → "rocket")."""
    out = [word]
    for suffix in ("'s", "\u2019s", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            out.append(word[: -len(suffix)])
    return tuple(out)


def keyword_set(keywords: Iterable[str]) -> frozenset[str]:
    """Keywords (or hashtags, "#" dropped) as bare words."""
    return frozenset(k for k in (bare(k.lstrip("#")) for k in keywords) if k)


def is_keyword(text: str, keywords: frozenset[str]) -> bool:
    return bool(keywords) and any(s in keywords for s in _stems(bare(text)))


# --- profanity ---------------------------------------------------------------------------------


# better-profanity's list also holds ordinary, clinical, identity and descriptive words
# ("god", "gay", "kill", "organ", "stroke", "vodka", ...); captions mask swear words and slurs
# only, so these stay readable.
_NOT_SWEAR = """
    arian aryan areole bondage breasts busty cowgirl cowgirls crotch dopey doofus drunk dummy
    erotic erotism extacy extasy facial fat fondle foobar gai gay gays god gonad gonads gringo
    guido hemp heroin herp herpes herpy hitler hiv homey homo hooch hookah hooter hooters hump
    humped humping inbred incest jerk jerked junkie junky kill kinky kkk klan knob leper lesbians
    labia lech loin loins lube lust lusting lusty mams massa maxi menses meth molest murder naked
    napalm nazi nazism nimrod ninny nipple nipples nude nudes omg opiate opium oral orally organ
    ovary ovum ovums paddy pasty pawn pcp pee penial penile penis peyote phalli phallic pinko
    playboy pms pot potty prig prude pubic pubis punky queer queers racy rectal rectum rectus
    reefer reich revue rum ruski sadism sadist sandbar scantily seaman seamen seduce semen sex
    sexual slave sleaze sleazy slope snatch sniper snuff sodom souse soused sperm steamy stoned
    strip stroke stupid tampon teat teste testes testis testicle testical thrust thug tinkle
    toke toots tramp trashy tush ugly undies unwed urinal urine uterus uzi vagina valium viagra
    virgin vixen vodka vomit voyeur vulgar vulva wad weed weirdo whiz willies womb woody lmao
    lmfao
"""
NOT_SWEAR_WORDS = frozenset(_NOT_SWEAR.split())


@functools.cache
def profane_words() -> frozenset[str]:
    """better-profanity's list (single words; its multi-word entries cannot match one word),
    less NOT_SWEAR_WORDS."""
    text = (
        resources.files("better_profanity")
        .joinpath("profanity_wordlist.txt")
        .read_text(encoding="utf-8")
    )
    words = (line.strip().casefold() for line in text.splitlines())
    return frozenset(w for w in words if w and w not in NOT_SWEAR_WORDS)


def is_profane(text: str) -> bool:
    word = bare(text)
    return bool(word) and word in profane_words()


def mask_word(text: str) -> str:
    """ "fuck," → "f***,": the first letter kept, the rest of the word starred, punctuation
    around it kept. Words not on the list come back unchanged."""
    if not is_profane(text):
        return text
    m = re.search(r"[^\W_]", text)
    if m is None:
        return text
    lead = text[: m.end()]
    body = bare(text)
    tail = text[m.end() + len(body) - 1 :]
    return lead + "*" * (len(body) - 1) + tail


def mask_words(words: Sequence[Word]) -> list[Word]:
    return [
        w.model_copy(update={"text": mask_word(w.text)}) if is_profane(w.text) else w for w in words
    ]


# --- emoji -------------------------------------------------------------------------------------

EMOJI_FONT_PATHS = (
    "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf",
    "/usr/share/fonts/noto/NotoColorEmoji.ttf",
)
# CBDT bitmap fonts only load at their strike size (109 px for Noto Color Emoji).
EMOJI_STRIKE = 109
# Newest Emoji version the Debian font draws (fonts-noto-color-emoji 2.042: Emoji 15.0).
EMOJI_MAX_VERSION = 15.0

# Common caption words whose CLDR name is not the word itself.
WORD_EMOJI: dict[str, str] = {
    "money": "💰",
    "cash": "💵",
    "dollar": "💵",
    "price": "💲",
    "pricing": "💲",
    "love": "❤️",
    "heart": "❤️",
    "idea": "💡",
    "happy": "😄",
    "laugh": "😂",
    "funny": "😂",
    "sad": "😢",
    "time": "⏰",
    "win": "🏆",
    "winner": "🏆",
    "success": "🏆",
    "goal": "🎯",
    "target": "🎯",
    "growth": "📈",
    "grow": "📈",
    "business": "💼",
    "work": "💼",
    "job": "💼",
    "phone": "📱",
    "music": "🎵",
    "song": "🎵",
    "food": "🍔",
    "learn": "📚",
    "study": "📚",
    "think": "🤔",
    "question": "❓",
    "warning": "⚠️",
    "danger": "⚠️",
    "secret": "🤫",
    "power": "⚡",
    "energy": "⚡",
    "fast": "⚡",
    "strong": "💪",
    "health": "💪",
    "fitness": "💪",
    "world": "🌍",
    "earth": "🌍",
    "home": "🏠",
    "house": "🏠",
    "data": "📊",
    "code": "💻",
    "computer": "💻",
    "software": "💻",
    "friend": "🤝",
    "team": "👥",
    "family": "👪",
    "start": "🚀",
    "launch": "🚀",
    "mistake": "❌",
    "wrong": "❌",
    "fire": "🔥",
    "hot": "🔥",
    "cold": "🥶",
    "country": "🌍",
    "free": "🆓",
}


@functools.cache
def _name_index() -> dict[str, str]:
    """Single-word CLDR names and aliases of the emoji package → emoji ("rocket" → 🚀)."""
    index: dict[str, str] = {}
    for char, data in emoji_lib.EMOJI_DATA.items():
        if data.get("status") != emoji_lib.STATUS["fully_qualified"]:
            continue
        if float(data.get("E", 99)) > EMOJI_MAX_VERSION:
            continue
        names = [data.get("en", ""), *data.get("alias", [])]
        for name in names:
            token = name.strip(":").casefold()
            if token and token.isalpha():
                index.setdefault(token, char)
    return index


def emoji_for(text: str) -> str | None:
    """The emoji of a word, if it has one: our table first, then the emoji package's names."""
    index = _name_index()
    for stem in _stems(bare(text)):
        if stem in WORD_EMOJI:
            return WORD_EMOJI[stem]
        if stem in index:
            return index[stem]
    return None


def emoji_in(text: str) -> list[str]:
    """The emoji typed in `text` (whole sequences: skin tones, ZWJ families, flags)."""
    return [str(m["emoji"]) for m in emoji_lib.emoji_list(text)]


def emoji_font() -> Path | None:
    for path in EMOJI_FONT_PATHS:
        if os.path.isfile(path):
            return Path(path)
    try:
        found = subprocess.run(
            ["fc-match", "-f", "%{file}", "Noto Color Emoji"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None
    return Path(found) if found and "emoji" in found.lower() and os.path.isfile(found) else None


def emoji_png(seq: str, cache_dir: Path, size: int) -> Path | None:
    """A `size`-pixel square RGBA PNG of the emoji, from the colour emoji font (cached by
    emoji and size). None when the font is missing or has no glyph for it."""
    font_path = emoji_font()
    if font_path is None:
        return None
    key = hashlib.sha256(f"{seq}|{size}".encode()).hexdigest()[:16]
    out = cache_dir / f"emoji-{key}.png"
    if out.is_file():
        return out
    # Pillow is only needed here (render time); imported lazily so captions stay light.
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(font_path), EMOJI_STRIKE)
    canvas = Image.new("RGBA", (EMOJI_STRIKE * 3, EMOJI_STRIKE * 2), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).text((4, 4), seq, font=font, embedded_color=True)
    box = canvas.getbbox()
    if box is None:  # no glyph: the font draws nothing for it
        return None
    glyph = canvas.crop(box)
    scale = size / max(glyph.size)
    glyph = glyph.resize(
        (max(1, round(glyph.width * scale)), max(1, round(glyph.height * scale))),
        Image.Resampling.LANCZOS,
    )
    square = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    square.paste(glyph, ((size - glyph.width) // 2, (size - glyph.height) // 2))
    cache_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".emoji.", suffix=".png", dir=cache_dir)
    os.close(fd)
    try:
        square.save(tmp, format="PNG")
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


@dataclass(frozen=True)
class EmojiOverlay:
    """One emoji image drawn at (x, y) (top-left, output pixels) from `start` to `end`."""

    png: Path
    x: int
    y: int
    start: float
    end: float


def _escape(value: str) -> str:
    level1 = "".join("\\" + c if c in "\\':" else c for c in value)
    return "".join("\\" + c if c in "\\'[],;" else c for c in level1)


def overlay_filters(overlays: Sequence[EmojiOverlay], in_label: str, out_label: str) -> str:
    """Filtergraph fragment [in_label] → [out_label] drawing the emoji. Each image is read by a
    `movie` source inside the graph, so it takes no ffmpeg input index."""
    if not overlays:
        return f"[{in_label}]null[{out_label}]"
    parts: list[str] = []
    cur = in_label
    for i, ov in enumerate(overlays):
        src, nxt = f"emo{i}", (out_label if i == len(overlays) - 1 else f"emv{i}")
        parts.append(f"movie=filename={_escape(str(ov.png))},format=rgba[{src}]")
        parts.append(
            f"[{cur}][{src}]overlay=x={ov.x}:y={ov.y}:format=auto:eof_action=repeat"
            f":enable='between(t,{ov.start:.3f},{ov.end:.3f})'[{nxt}]"
        )
        cur = nxt
    return ";".join(parts)


# --- jump cuts ---------------------------------------------------------------------------------

# Hesitation sounds that are never words, in the languages with highlight word lists.
_FILLERS_BY_LANGUAGE: dict[str, tuple[str, ...]] = {
    "en": ("um", "umm", "ummm", "uh", "uhh", "uhm", "erm", "er", "hmm", "hmmm", "mm", "mmm"),
    "es/pt": ("eh", "ehm", "emm", "ehh", "hum", "ahn"),
    "fr": ("euh", "euhh"),
    "de": ("äh", "ähm", "öh", "öhm", "ähh"),
}
FILLERS: frozenset[str] = frozenset(w for words in _FILLERS_BY_LANGUAGE.values() for w in words)

CUT_PAD_S = 0.12
"""Kept on each side of a cut, after the previous word and before the next one."""
MIN_CUT_S = 0.08
"""Shorter gaps are not worth a cut (a jump of a frame or two)."""


def is_filler(text: str) -> bool:
    return bare(text) in FILLERS


@dataclass(frozen=True)
class CutPlan:
    """Stretches of the clip (clip seconds, from 0) removed by jump cuts, in order."""

    removed: tuple[tuple[float, float], ...] = ()

    @property
    def seconds_removed(self) -> float:
        return round(sum(b - a for a, b in self.removed), 3)

    def __bool__(self) -> bool:
        return bool(self.removed)

    def map_time(self, t: float) -> float:
        """Clip time → time in the cut clip (a time inside a cut maps to the cut's point)."""
        shift = 0.0
        for a, b in self.removed:
            if t >= b:
                shift += b - a
            elif t > a:
                return a - shift
            else:
                break
        return t - shift

    def keeps(self, t0: float, t1: float) -> bool:
        """True when [t0, t1] lies outside every cut."""
        return all(t1 <= a or t0 >= b for a, b in self.removed)

    def select_expr(self) -> str:
        """`select`/`aselect` expression: frames outside every cut."""
        inside = "+".join(f"between(t,{a:.3f},{b:.3f})" for a, b in self.removed)
        return f"not({inside})"

    def setpts_expr(self) -> str:
        """`setpts` expression: each frame moved back by the time cut before it."""
        shift = "+".join(f"gte(T,{b:.3f})*{b - a:.3f}" for a, b in self.removed)
        return f"PTS-({shift})/TB"

    def video_filters(self) -> list[str]:
        return [f"select='{self.select_expr()}'", f"setpts='{self.setpts_expr()}'"]

    def audio_filters(self) -> list[str]:
        # 10 ms audio frames, so aselect cuts within 10 ms of the video's cut points.
        return [
            "aresample=48000",
            "asetnsamples=n=480:p=0",
            f"aselect='{self.select_expr()}'",
            "asetpts=N/SR/TB",
        ]


VOICE_HOP_S = 0.01
VOICE_RATE = 16000
VOICED_DB = -30.0
"""A 10 ms frame is voiced when within this many dB of the clip's loud (95th pct) frames."""


@dataclass(frozen=True)
class VoiceActivity:
    """Which 10 ms frames of a stretch of sound are voiced, from the audio itself: word
    timestamps from speech recognition can be off by a syllable, so cuts are checked here."""

    start: float
    """Source time of the first frame."""
    voiced: tuple[bool, ...]

    def _at(self, t: float) -> bool:
        i = int((t - self.start) / VOICE_HOP_S)
        return 0 <= i < len(self.voiced) and self.voiced[i]

    def voice_end(self, t: float) -> float:
        """`t`, or the end of the voiced run going on at `t`."""
        while self._at(t):
            t += VOICE_HOP_S
        return t

    def voice_start(self, t: float) -> float:
        """`t`, or the start of the voiced run going on just before `t`."""
        while self._at(t - VOICE_HOP_S):
            t -= VOICE_HOP_S
        return t

    def longest_quiet(self, t0: float, t1: float) -> tuple[float, float] | None:
        best: tuple[float, float] | None = None
        run: float | None = None
        t = t0
        while t < t1:
            if self._at(t):
                run = None
            else:
                run = t if run is None else run
                if best is None or t + VOICE_HOP_S - run > best[1] - best[0]:
                    best = (run, min(t + VOICE_HOP_S, t1))
            t += VOICE_HOP_S
        return best


def voice_activity(source: str | Path, start: float, end: float) -> VoiceActivity | None:
    """Voiced 10 ms frames of [start, end) of the source's first audio stream (None when it
    cannot be read)."""
    cmd = [
        ffmpeg_bin(),
        "-nostdin",
        "-v",
        "error",
        "-ss",
        f"{start:.3f}",
        "-t",
        f"{end - start:.3f}",
    ]
    cmd += ["-i", str(source), "-map", "0:a:0", "-ac", "1", "-ar", str(VOICE_RATE)]
    cmd += ["-f", "s16le", "-"]
    try:
        raw = subprocess.run(cmd, capture_output=True, check=True, timeout=300).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    hop = int(VOICE_RATE * VOICE_HOP_S)
    pcm = np.frombuffer(raw[: len(raw) // (2 * hop) * 2 * hop], dtype=np.int16)
    if pcm.size == 0:
        return None
    rms = np.sqrt((pcm.astype(np.float64).reshape(-1, hop) ** 2).mean(axis=1))
    loud = float(np.percentile(rms, 95))
    if loud < 30:  # about -60 dBFS: no speech to protect
        return VoiceActivity(start, tuple(False for _ in rms))
    floor = loud * 10 ** (VOICED_DB / 20)
    return VoiceActivity(start, tuple(bool(v > floor) for v in rms))


def plan_cuts(
    words: Sequence[Word],
    *,
    clip_start: float,
    clip_end: float,
    fillers: bool,
    max_silence_s: float | None,
    pad_s: float = CUT_PAD_S,
    voice: VoiceActivity | None = None,
) -> CutPlan:
    """Cuts between the clip's spoken words: around filler words (when `fillers`) and in
    pauses longer than `max_silence_s` (None: keep pauses). Every cut ends `pad_s` away from
    the kept words on both sides, so no word is ever cut; the clip's head and tail stay.
    With `voice` (the clip's sound), a pause is cut only where the sound is quiet and a filler
    cut stops short of voice that runs on from the kept words, `pad_s` away from it."""
    if not fillers and max_silence_s is None:
        return CutPlan()
    inside = sorted(
        (w for w in words if w.text.strip() and w.start >= clip_start and w.end <= clip_end),
        key=lambda w: w.start,
    )
    removed: list[tuple[float, float]] = []
    prev_end: float | None = None
    skipped_filler = False
    for w in inside:
        if fillers and is_filler(w.text):
            skipped_filler = prev_end is not None
            continue
        if prev_end is not None:
            gap = w.start - prev_end
            wanted = skipped_filler or (max_silence_s is not None and gap > max_silence_s)
            a, b = prev_end + pad_s, w.start - pad_s
            if wanted and voice is not None:
                if skipped_filler:  # the filler is voiced: keep clear of the words' voice
                    a = max(a, voice.voice_end(prev_end) + pad_s)
                    b = min(b, voice.voice_start(w.start) - pad_s)
                else:
                    quiet = voice.longest_quiet(prev_end, w.start)
                    a, b = (quiet[0] + pad_s, quiet[1] - pad_s) if quiet else (a, a)
            if wanted and b - a >= MIN_CUT_S:
                removed.append((round(a - clip_start, 3), round(b - clip_start, 3)))
        prev_end = max(prev_end or w.end, w.end)
        skipped_filler = False
    return CutPlan(tuple(removed))


def cut_words(
    words: Sequence[Word], plan: CutPlan, *, clip_start: float, clip_end: float
) -> list[Word]:
    """The clip's words on the cut timeline (seconds from the cut clip's start): words inside
    a cut (the fillers) are dropped, the others moved back by the time cut before them."""
    if not plan:
        return [
            w.model_copy(
                update={
                    "start": max(0.0, w.start - clip_start),
                    "end": max(0.0, w.end - clip_start),
                }
            )
            for w in words
            if w.end > clip_start and w.start < clip_end
        ]
    out: list[Word] = []
    for w in words:
        if w.end <= clip_start or w.start >= clip_end:
            continue
        s, e = w.start - clip_start, w.end - clip_start
        if not plan.keeps(max(s, 0.0), e):
            continue
        start, end = max(0.0, plan.map_time(s)), max(0.0, plan.map_time(e))
        out.append(w.model_copy(update={"start": start, "end": end}))
    return out
