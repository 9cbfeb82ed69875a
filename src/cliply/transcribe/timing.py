"""Word times moved onto the voice: a word that Whisper starts (or ends) in silence starts at
the first (ends at the last) voiced 10 ms frame of its span.

With VAD chunks that keep pauses inside them (what transcribes best, see DEFAULT_VAD),
Whisper often lets a sentence's first word begin in the pause before it. Captions would then
light the word up early and clip edges would start in silence. Only the inside of each word's
own span is searched, so words never grow into their neighbours.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from cliply.transcribe.models import Word

FRAME_S = 0.01
MIN_WORD_S = 0.05  # what is left of a word at least, however quiet its span reads


def voiced_frames(samples: NDArray[np.float32], rate: int) -> NDArray[np.bool_]:
    """Per 10 ms frame: louder than this stretch's silence by a good margin."""
    n = max(1, int(FRAME_S * rate))
    usable = samples.size - samples.size % n
    if usable == 0:
        return np.zeros(0, dtype=bool)
    rms = np.sqrt(np.mean(np.square(samples[:usable].reshape(-1, n).astype(np.float64)), axis=1))
    db = 20.0 * np.log10(rms + 1e-10)
    floor = float(np.percentile(db, 10))
    level = float(np.percentile(db, 95))
    if level - floor < 12.0:  # no clear speech/silence contrast (music, noise): leave it
        return np.ones(db.size, dtype=bool)
    return np.asarray(db > max(floor + 0.3 * (level - floor), level - 40.0))


def snap_to_voice(
    words: Sequence[Word], samples: NDArray[np.float32], rate: int, offset: float = 0.0
) -> list[Word]:
    """`words` (times on the file's clock; `samples` start at `offset`) with starts moved
    forward and ends moved back out of silence, inside each word's own span."""
    voiced = voiced_frames(samples, rate)
    if not voiced.size or voiced.all():
        return list(words)
    out: list[Word] = []
    for w in words:
        a = int((w.start - offset) / FRAME_S)
        b = int(np.ceil((w.end - offset) / FRAME_S))
        if a < 0 or b > voiced.size or b - a < 2:
            out.append(w)
            continue
        span = np.flatnonzero(voiced[a:b])
        if span.size == 0:
            out.append(w)  # nothing voiced: keep Whisper's times rather than guess
            continue
        start = max(w.start, offset + (a + int(span[0])) * FRAME_S)
        end = min(w.end, offset + (a + int(span[-1]) + 1) * FRAME_S)
        if end - start < MIN_WORD_S:
            out.append(w)
            continue
        out.append(w.model_copy(update={"start": round(start, 3), "end": round(end, 3)}))
    return out
