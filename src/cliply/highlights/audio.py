"""Audio features from a PCM WAV, computed with numpy in fixed frames, read in chunks.

Per frame: RMS level (dBFS) and spectral flatness (geometric / arithmetic mean of the power
spectrum; near 0 for voiced speech, around 0.5 for noise). Laughter and applause are loud and
noise-like for longer than a fricative lasts, which is how bursts are found.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cliply.highlights.errors import AudioReadError

_EPS = 1e-12
_DTYPES: dict[int, np.dtype[Any]] = {1: np.dtype("u1"), 2: np.dtype("<i2"), 4: np.dtype("<i4")}


@dataclass(frozen=True)
class WindowAudio:
    mean_db: float  # mean level of the window's active (non-silent) frames
    db_std: float  # spread of those levels: lively delivery varies
    burst_seconds: float
    burst_count: int


@dataclass(frozen=True)
class AudioAnalysis:
    frame_s: float
    db: NDArray[np.float64]  # per frame, dBFS
    flatness: NDArray[np.float64]  # per frame, 0..1
    active: NDArray[np.bool_]  # frame above the silence floor
    active_mean_db: float
    active_std_db: float
    bursts: list[tuple[float, float]]  # (start, end) seconds of laughter/applause-like sound

    @property
    def duration(self) -> float:
        return self.db.size * self.frame_s

    def window(self, start: float, end: float, *, burst_tail_s: float = 1.0) -> WindowAudio:
        """Stats for [start, end]; bursts count up to `burst_tail_s` after the end, since
        the audience reacts just after the punchline."""
        a = max(0, int(start / self.frame_s))
        b = min(self.db.size, max(a + 1, int(np.ceil(end / self.frame_s))))
        levels = self.db[a:b][self.active[a:b]]
        mean_db = float(levels.mean()) if levels.size else float(self.db.min(initial=-120.0))
        db_std = float(levels.std()) if levels.size > 1 else 0.0
        tail_end = end + burst_tail_s
        seconds = 0.0
        count = 0
        for bs, be in self.bursts:
            overlap = min(be, tail_end) - max(bs, start)
            if overlap > 0:
                seconds += overlap
                count += 1
        return WindowAudio(mean_db, db_std, seconds, count)


def analyse_wav(
    path: Path | str,
    *,
    frame_s: float = 0.05,
    chunk_s: float = 30.0,
    flatness_threshold: float = 0.3,
    min_burst_s: float = 0.4,
    silence_below_median_db: float = 25.0,
) -> AudioAnalysis:
    """Read a PCM WAV (any rate, channels mixed to mono) and compute frame features."""
    try:
        with wave.open(str(path), "rb") as wav:
            rate = wav.getframerate()
            width = wav.getsampwidth()
            channels = wav.getnchannels()
            if width not in _DTYPES:
                raise AudioReadError(f"{path}: {8 * width}-bit WAV is not supported")
            frame_len = max(1, round(rate * frame_s))
            chunk_frames = frame_len * max(1, int(chunk_s / frame_s))
            db_parts: list[NDArray[np.float64]] = []
            flat_parts: list[NDArray[np.float64]] = []
            carry = np.zeros(0)
            while True:
                raw = wav.readframes(chunk_frames)
                if not raw:
                    break
                samples = np.concatenate([carry, _to_mono_float(raw, width, channels)])
                usable = samples.size - samples.size % frame_len
                frames = samples[:usable].reshape(-1, frame_len)
                carry = samples[usable:]
                if frames.size:
                    db, flat = _frame_features(frames, rate)
                    db_parts.append(db)
                    flat_parts.append(flat)
    except (wave.Error, EOFError, OSError) as exc:
        raise AudioReadError(f"cannot read WAV {path}: {exc}") from exc
    if not db_parts:
        raise AudioReadError(f"{path}: WAV holds less than one {frame_s} s frame of audio")
    db = np.concatenate(db_parts)
    flatness = np.concatenate(flat_parts)
    active = db > float(np.median(db)) - silence_below_median_db
    active &= db > -70.0
    if not active.any():
        active = np.ones_like(active)
    levels = db[active]
    mean_db = float(levels.mean())
    std_db = float(levels.std())
    loud = db >= mean_db - 6.0
    bursts = _runs(
        (flatness >= flatness_threshold) & loud & active, frame_s, min_burst_s, max_gap_frames=2
    )
    return AudioAnalysis(frame_s, db, flatness, active, mean_db, max(std_db, 1e-3), bursts)


def _to_mono_float(raw: bytes, width: int, channels: int) -> NDArray[np.float64]:
    data = np.frombuffer(raw[: len(raw) - len(raw) % (width * channels)], dtype=_DTYPES[width])
    x: NDArray[np.float64] = data.astype(np.float64)
    if width == 1:
        x = (x - 128.0) / 128.0
    else:
        x /= float(2 ** (8 * width - 1))
    if channels > 1:
        x = np.asarray(x.reshape(-1, channels).mean(axis=1), dtype=np.float64)
    return x


def _frame_features(
    frames: NDArray[np.float64], rate: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    rms = np.sqrt(np.mean(frames**2, axis=1))
    db = 20.0 * np.log10(rms + 1e-10)
    power = np.abs(np.fft.rfft(frames * np.hanning(frames.shape[1]), axis=1)) ** 2
    freqs = np.fft.rfftfreq(frames.shape[1], d=1.0 / rate)
    # Speech band only: mains hum and the top octave say little about noise-likeness.
    band = power[:, (freqs >= 200.0) & (freqs <= 7000.0)] + _EPS
    flatness = np.exp(np.mean(np.log(band), axis=1)) / np.mean(band, axis=1)
    return db, flatness


def _runs(
    mask: NDArray[np.bool_], frame_s: float, min_s: float, max_gap_frames: int
) -> list[tuple[float, float]]:
    """Runs of True frames (bridging short gaps) lasting at least min_s, in seconds."""
    runs: list[tuple[int, int]] = []
    for i in np.flatnonzero(mask):
        idx = int(i)
        if runs and idx - runs[-1][1] <= max_gap_frames + 1:
            runs[-1] = (runs[-1][0], idx)
        else:
            runs.append((idx, idx))
    return [(a * frame_s, (b + 1) * frame_s) for a, b in runs if (b + 1 - a) * frame_s >= min_s]
