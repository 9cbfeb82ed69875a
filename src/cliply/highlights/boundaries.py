"""Candidate clip boundaries from the audio: speaker/channel changes and long pauses.

A clip that runs from one speaker's monologue into a different recording (a phone call, an
automated prompt, another guest) is a bad clip even when the words flow. Sentence gaps are
the only places a clip may start or end, so each gap is judged here:

- **audio change**: mel-cepstral statistics (MFCC, numpy only) of the speech just before the
  gap are compared with those just after it by the Bayesian information criterion (BIC, as in
  Chen & Gopalakrishnan's speaker-change detection). One full-covariance Gaussian for both
  sides against one per side; a positive ΔBIC means two sources explain the frames better,
  even after paying for the extra parameters. Different speakers, microphones or telephone
  bands all show up, a single speaker reading on does not;
- **long pause**: silence between sentences well above the recording's usual pause.

The scorer penalises a window that crosses a change (see `boundary_penalty` in ranking), and
says so in a reason.
"""

from __future__ import annotations

import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cliply.highlights.errors import AudioReadError
from cliply.highlights.sentences import Sentence

FRAME_S = 0.02  # analysis frame (and hop): 20 ms, so chunks need no overlap
N_MELS = 24
N_CEPS = 12  # c1..c12; c0 (level) is left out so a louder sentence is not a new speaker
SIDE_S = 6.0  # speech taken on each side of a gap
MIN_SIDE_S = 1.2  # less than this on a side: the gap is not judged acoustically
BIC_LAMBDA = 1.0  # penalty weight of the parameter count (the textbook value)
LONG_PAUSE_S = 1.5  # a pause at least this long is a boundary by itself...
LONG_PAUSE_FACTOR = 3.0  # ...when it is also this many times the recording's median pause

_DTYPES: dict[int, np.dtype[Any]] = {1: np.dtype("u1"), 2: np.dtype("<i2"), 4: np.dtype("<i4")}


@dataclass(frozen=True)
class Boundary:
    """What lies between sentence `gap` and sentence `gap + 1`."""

    gap: int
    time: float  # middle of the pause
    pause_s: float
    delta_bic: float | None  # None: too little speech on a side to judge
    change: bool  # the audio (or the transcript's speaker labels) says another voice follows
    long_pause: bool
    labels: tuple[str, str] | None = None  # the transcript's speakers either side, if they differ

    def describe(self) -> str:
        parts = []
        if self.labels:
            parts.append(f"speaker change {self.labels[0]} → {self.labels[1]} at {self.time:.1f} s")
        elif self.change:
            parts.append(f"speaker/audio change at {self.time:.1f} s (ΔBIC {self.delta_bic:+.0f})")
        if self.long_pause:
            parts.append(f"{self.pause_s:.1f} s pause at {self.time:.1f} s")
        return " and ".join(parts)


@dataclass(frozen=True)
class BoundaryMap:
    """Boundaries at the sentence gaps of one transcript."""

    by_gap: dict[int, Boundary]
    audio_used: bool
    median_pause_s: float

    def crossed(self, first: int, last: int) -> list[Boundary]:
        """The boundaries inside a window of sentences first..last."""
        return [self.by_gap[g] for g in range(first, last) if g in self.by_gap]

    @property
    def changes(self) -> list[Boundary]:
        return sorted((b for b in self.by_gap.values() if b.change), key=lambda b: b.gap)


# --- features ------------------------------------------------------------------------------


def _mel_filterbank(rate: int, n_fft: int, n_mels: int) -> NDArray[np.float64]:
    def hz_to_mel(f: NDArray[np.float64] | float) -> Any:
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    top = min(7600.0, rate / 2.0)
    mels = np.linspace(hz_to_mel(80.0), hz_to_mel(top), n_mels + 2)
    hz = 700.0 * (10 ** (mels / 2595.0) - 1.0)
    bins = np.fft.rfftfreq(n_fft, d=1.0 / rate)
    bank = np.zeros((n_mels, bins.size))
    for m in range(n_mels):
        lo, mid, hi = hz[m], hz[m + 1], hz[m + 2]
        rise = (bins - lo) / max(mid - lo, 1e-9)
        fall = (hi - bins) / max(hi - mid, 1e-9)
        bank[m] = np.clip(np.minimum(rise, fall), 0.0, None)
    return bank


def _dct_matrix(n_in: int, n_out: int) -> NDArray[np.float64]:
    k = np.arange(n_out)[:, None]
    n = np.arange(n_in)[None, :]
    return np.asarray(np.cos(np.pi * k * (2 * n + 1) / (2 * n_in)), dtype=np.float64)


@dataclass(frozen=True)
class Cepstra:
    frame_s: float
    mfcc: NDArray[np.float32]  # (frames, N_CEPS)
    db: NDArray[np.float32]  # frame level, dBFS


def cepstra(path: Path | str, *, chunk_s: float = 30.0) -> Cepstra:
    """MFCC c1..c12 and level of every 20 ms frame of a PCM WAV, read in chunks."""
    try:
        with wave.open(str(path), "rb") as wav:
            rate, width, channels = wav.getframerate(), wav.getsampwidth(), wav.getnchannels()
            if width not in _DTYPES:
                raise AudioReadError(f"{path}: {8 * width}-bit WAV is not supported")
            frame_len = max(1, round(rate * FRAME_S))
            n_fft = 1 << max(1, (frame_len - 1).bit_length())
            bank = _mel_filterbank(rate, n_fft, N_MELS)
            dct = _dct_matrix(N_MELS, N_CEPS + 1)[1:]
            window = np.hanning(frame_len)
            chunk = frame_len * max(1, int(chunk_s / FRAME_S))
            ceps_parts: list[NDArray[np.float32]] = []
            db_parts: list[NDArray[np.float32]] = []
            while True:
                raw = wav.readframes(chunk)
                if not raw:
                    break
                x = _mono(raw, width, channels)
                usable = x.size - x.size % frame_len
                if not usable:
                    break
                frames = x[:usable].reshape(-1, frame_len)
                rms = np.sqrt(np.mean(frames**2, axis=1))
                power = np.abs(np.fft.rfft(frames * window, n=n_fft, axis=1)) ** 2
                logmel = np.log(power @ bank.T + 1e-10)
                ceps_parts.append((logmel @ dct.T).astype(np.float32))
                db_parts.append((20.0 * np.log10(rms + 1e-10)).astype(np.float32))
    except (wave.Error, EOFError, OSError) as exc:
        raise AudioReadError(f"cannot read WAV {path}: {exc}") from exc
    if not ceps_parts:
        return Cepstra(FRAME_S, np.zeros((0, N_CEPS), np.float32), np.zeros(0, np.float32))
    return Cepstra(FRAME_S, np.concatenate(ceps_parts), np.concatenate(db_parts))


def _mono(raw: bytes, width: int, channels: int) -> NDArray[np.float64]:
    data = np.frombuffer(raw[: len(raw) - len(raw) % (width * channels)], dtype=_DTYPES[width])
    x: NDArray[np.float64] = data.astype(np.float64)
    x = (x - 128.0) / 128.0 if width == 1 else x / float(2 ** (8 * width - 1))
    if channels > 1:
        x = np.asarray(x.reshape(-1, channels).mean(axis=1), dtype=np.float64)
    return x


# --- ΔBIC ----------------------------------------------------------------------------------


def _logdet(x: NDArray[np.float64]) -> float:
    cov = np.cov(x, rowvar=False) + 1e-6 * np.eye(x.shape[1])
    sign, value = np.linalg.slogdet(cov)
    return float(value) if sign > 0 else float("-inf")


def delta_bic(left: NDArray[np.float64], right: NDArray[np.float64]) -> float:
    """ΔBIC of 'two Gaussians' over 'one Gaussian' for the frames; > 0 favours a change."""
    n1, n2 = left.shape[0], right.shape[0]
    n, d = n1 + n2, left.shape[1]
    both = np.vstack([left, right])
    glr = 0.5 * (n * _logdet(both) - n1 * _logdet(left) - n2 * _logdet(right))
    penalty = 0.5 * BIC_LAMBDA * (d + d * (d + 1) / 2) * np.log(n)
    return float(glr - penalty)


def _speech_frames(
    ceps: Cepstra, spans: Sequence[tuple[float, float]], floor_db: float
) -> NDArray[np.float64]:
    rows: list[NDArray[np.float32]] = []
    for a, b in spans:
        i, j = int(a / ceps.frame_s), min(ceps.db.size, int(np.ceil(b / ceps.frame_s)))
        if j > i:
            keep = ceps.db[i:j] > floor_db
            rows.append(ceps.mfcc[i:j][keep])
    if not rows:
        return np.zeros((0, N_CEPS))
    return np.concatenate(rows).astype(np.float64)


def _side(
    sentences: Sequence[Sentence], indices: range, budget_s: float, stops: set[int]
) -> list[tuple[float, float]]:
    """Sentence spans walked from the gap outwards until `budget_s` of speech is taken, not
    past an accepted change (`stops`: gaps; walking left stops before crossing gap k-1|k)."""
    spans: list[tuple[float, float]] = []
    took = 0.0
    for k in indices:
        if spans and (k if indices.step < 0 else k - 1) in stops:
            break
        s = sentences[k]
        need = budget_s - took
        if need <= 0:
            break
        if s.duration <= need:
            spans.append((s.start, s.end))
        elif indices.step > 0:
            spans.append((s.start, s.start + need))
        else:
            spans.append((s.end - need, s.end))
        took += min(s.duration, need)
    return spans


def _change_points(
    sentences: Sequence[Sentence], ceps: Cepstra, side_s: float
) -> dict[int, float | None]:
    """ΔBIC of every gap, found greedily: the strongest change is accepted first, then the
    gaps near it are judged again with windows that stop at it (a window that straddles a
    real change would make a same-speaker gap next to it look like one too)."""
    n = len(sentences)
    floor_db = -60.0
    if ceps.db.size:
        # Frames near the noise floor carry no voice: 30 dB under the recording's loud frames.
        floor_db = max(-60.0, float(np.percentile(ceps.db, 95)) - 30.0)
    min_frames = int(MIN_SIDE_S / FRAME_S)
    accepted: set[int] = set()

    def judge(g: int) -> float | None:
        left = _speech_frames(ceps, _side(sentences, range(g, -1, -1), side_s, accepted), floor_db)
        right = _speech_frames(ceps, _side(sentences, range(g + 1, n), side_s, accepted), floor_db)
        if min(left.shape[0], right.shape[0]) < min_frames:
            return None
        return delta_bic(left, right)

    values: dict[int, float | None] = {g: judge(g) for g in range(n - 1)}
    while True:
        open_gaps = [g for g, v in values.items() if g not in accepted and v is not None]
        if not open_gaps:
            break
        best = max(open_gaps, key=lambda g: values[g] or 0.0)
        if (values[best] or 0.0) <= 0.0:
            break
        accepted.add(best)
        near = sentences[best].end
        for g in range(n - 1):
            if g not in accepted and abs(sentences[g].end - near) <= 2 * side_s + 30.0:
                values[g] = judge(g)
    return values


def find_boundaries(
    sentences: Sequence[Sentence],
    wav_path: Path | str | None,
    *,
    side_s: float = SIDE_S,
    long_pause_s: float = LONG_PAUSE_S,
    speakers: Sequence[str | None] | None = None,
) -> BoundaryMap:
    """Judge every sentence gap: audio change (when audio is given), a change of the
    transcript's speaker label (engines that diarize set one per word) and long pause."""
    n = len(sentences)
    pauses = [max(0.0, sentences[g + 1].start - sentences[g].end) for g in range(n - 1)]
    median_pause = float(np.median(pauses)) if pauses else 0.0
    pause_cut = max(long_pause_s, LONG_PAUSE_FACTOR * median_pause)
    ceps = cepstra(wav_path) if wav_path is not None else None
    bics = _change_points(sentences, ceps, side_s) if ceps is not None and n > 1 else {}
    out: dict[int, Boundary] = {}
    for g in range(n - 1):
        dbic = bics.get(g)
        labels = None
        if speakers and speakers[g] and speakers[g + 1] and speakers[g] != speakers[g + 1]:
            labels = (str(speakers[g]), str(speakers[g + 1]))
        change = (dbic is not None and dbic > 0.0) or labels is not None
        long_pause = pauses[g] >= pause_cut
        if change or long_pause:
            time = (sentences[g].end + sentences[g + 1].start) / 2.0
            out[g] = Boundary(
                g, round(time, 2), round(pauses[g], 2), dbic, change, long_pause, labels
            )
    return BoundaryMap(out, ceps is not None, median_pause)


def gap_delta_bics(
    sentences: Sequence[Sentence], wav_path: Path | str, *, side_s: float = SIDE_S
) -> list[float | None]:
    """ΔBIC at every sentence gap (None where a side is too short): for benchmarks."""
    values = _change_points(sentences, cepstra(wav_path), side_s)
    return [values.get(g) for g in range(len(sentences) - 1)]
