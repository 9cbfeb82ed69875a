"""Clip edges at the acoustic onset and offset of speech.

Whisper's first-word time is often 0.1 to 0.3 s after the voice starts (the first syllable's
consonant is quiet), and its last-word end can fall before the voice stops. A clip cut there
loses the first syllable or the tail of the last word. Here the edges are moved to where the
audio says speech begins and ends, found from a 10 ms energy envelope around the first and
last word, with a short lead-in and lead-out, and never inside a neighbouring word.
"""

from __future__ import annotations

import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from cliply.transcribe.models import Word

FRAME_S = 0.01
LEAD_IN_S = 0.12  # silence kept before the onset: the cut does not feel abrupt
LEAD_OUT_S = 0.25  # and after the offset: the word's decay and a breath
SEARCH_S = 0.6  # how far from Whisper's time the real onset/offset may lie
CONTEXT_S = 2.0  # audio read on each side to judge this spot's speech and silence levels
GAP_S = 0.02  # kept between a clip edge and a neighbouring word


@dataclass(frozen=True)
class Edges:
    start: float  # clip start (onset - lead-in, bounded)
    end: float  # clip end (offset + lead-out, bounded)
    onset: float | None  # acoustic speech onset found near the first word (None: not found)
    offset: float | None  # acoustic speech offset found near the last word


def _read(path: Path, start: float, end: float) -> tuple[NDArray[np.float64], int, float]:
    """Mono samples of [start, end) (clamped to the file), the rate, and the actual start."""
    with wave.open(str(path), "rb") as w:
        rate, width, channels, total = (
            w.getframerate(),
            w.getsampwidth(),
            w.getnchannels(),
            w.getnframes(),
        )
        a = max(0, int(start * rate))
        b = min(total, max(a, int(end * rate)))
        w.setpos(a)
        raw = w.readframes(b - a)
    if width != 2:
        return np.zeros(0), rate, a / rate
    x = np.frombuffer(raw[: len(raw) - len(raw) % (2 * channels)], dtype="<i2").astype(np.float64)
    if channels > 1:
        x = x.reshape(-1, channels).mean(axis=1)
    return x / 32768.0, rate, a / rate


def _envelope(x: NDArray[np.float64], rate: int) -> NDArray[np.float64]:
    n = max(1, int(FRAME_S * rate))
    frames = x[: x.size - x.size % n].reshape(-1, n)
    return np.asarray(20.0 * np.log10(np.sqrt(np.mean(frames**2, axis=1)) + 1e-10))


def _threshold(db: NDArray[np.float64]) -> float:
    """Speech/silence split for this stretch: well above its floor, well below its speech."""
    floor = float(np.percentile(db, 10))
    level = float(np.percentile(db, 95))
    return max(floor + 0.3 * (level - floor), level - 40.0, -75.0)


def find_onset(wav: Path, t: float, not_before: float) -> float | None:
    """The acoustic onset of the speech that Whisper says starts at `t`: the start of the
    voiced run that holds (or, if `t` is in silence, follows) `t`, looked for no earlier
    than `not_before` and within SEARCH_S of `t`."""
    lo = max(not_before, t - SEARCH_S)
    x, rate, x0 = _read(wav, t - CONTEXT_S, t + CONTEXT_S)
    db = _envelope(x, rate)
    if db.size < 10:
        return None
    loud = db > _threshold(db)
    i = int((t - x0) / FRAME_S)
    i = min(max(i, 0), db.size - 1)
    if not loud[i]:  # Whisper's time is in silence: the onset is the next voiced frame
        ahead = np.flatnonzero(loud[i : i + int(SEARCH_S / FRAME_S)])
        if ahead.size == 0:
            return None
        i += int(ahead[0])
    first = int(max(0, (lo - x0) / FRAME_S))
    # Walk back over voiced frames, bridging gaps under 60 ms (stop closures inside a word).
    j = i
    while j - 1 >= first:
        if loud[j - 1] or (j - 7 >= first and loud[j - 7 : j - 1].any()):
            j -= 1
        else:
            break
    return round(x0 + j * FRAME_S, 3)


def find_offset(wav: Path, t: float, not_after: float) -> float | None:
    """The acoustic offset of the speech Whisper says ends at `t` (mirror of find_onset)."""
    hi = min(not_after, t + SEARCH_S)
    x, rate, x0 = _read(wav, t - CONTEXT_S, t + CONTEXT_S)
    db = _envelope(x, rate)
    if db.size < 10:
        return None
    loud = db > _threshold(db)
    i = min(max(int((t - x0) / FRAME_S) - 1, 0), db.size - 1)
    if not loud[i]:  # the voice stopped before Whisper's end: look back for it
        back = np.flatnonzero(loud[max(0, i - int(SEARCH_S / FRAME_S)) : i + 1])
        if back.size == 0:
            return None
        i = max(0, i - int(SEARCH_S / FRAME_S)) + int(back[-1])
    last = min(db.size - 1, int((hi - x0) / FRAME_S) - 1)
    j = i
    while j + 1 <= last:
        if loud[j + 1] or (j + 7 <= last and loud[j + 2 : j + 8].any()):
            j += 1
        else:
            break
    return round(x0 + (j + 1) * FRAME_S, 3)


def speech_edges(
    wav: Path, words: Sequence[Word], start: float, end: float, duration: float | None = None
) -> Edges:
    """Clip edges for a clip whose words run from `start` to `end`: lead-in before the
    acoustic onset, lead-out after the offset, never reaching into the word before or after
    (and never inside the clip's own first or last word)."""
    ordered = sorted(words, key=lambda w: w.start)
    before = [w.end for w in ordered if w.end <= start + 1e-3]
    after = [w.start for w in ordered if w.start >= end - 1e-3]
    prev_end = max(before) if before else 0.0
    next_start = min(after) if after else (duration if duration is not None else end + 10.0)
    onset = find_onset(wav, start, prev_end + GAP_S)
    offset = find_offset(wav, end, next_start - GAP_S)
    s = start if onset is None else onset
    e = end if offset is None else offset
    new_start = max(s - LEAD_IN_S, prev_end + GAP_S if before else 0.0, 0.0)
    new_end = min(e + LEAD_OUT_S, next_start - GAP_S if after else e + LEAD_OUT_S)
    if duration is not None:
        new_end = min(new_end, duration)
    # However the envelope reads, the clip keeps its own first and last word.
    inside = [w for w in ordered if w.start >= start - 1e-3 and w.end <= end + 1e-3]
    if inside:
        new_start = min(new_start, max(start, inside[0].end - 0.05))
        new_end = max(new_end, min(end, inside[-1].start + 0.05))
    return Edges(round(new_start, 3), round(new_end, 3), onset, offset)
