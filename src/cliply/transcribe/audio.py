"""Minimal ffmpeg use for transcription: 16 kHz mono WAV extraction, windowed reading and
compressed upload copies. The media package owns everything else about media."""

from __future__ import annotations

import shutil
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from cliply import subprocs
from cliply.transcribe.base import TranscriptionError

SAMPLE_RATE = 16_000
_FRAME_S = 0.1  # granularity of the quiet-point search when cutting windows


def _ffmpeg() -> str:
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise TranscriptionError("ffmpeg is not installed or not on PATH", code="ffmpeg-missing")
    return exe


def _run_ffmpeg(args: list[str], what: str) -> None:
    # Own session, dies with its worker (see cliply.subprocs).
    proc = subprocs.run(
        [_ffmpeg(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-3:]
        raise TranscriptionError(f"{what} failed: {' | '.join(tail)}", code="audio-decode-failed")


def check_input(path: Path) -> None:
    if not path.is_file():
        raise TranscriptionError(f"no such audio file: {path}", code="audio-not-found")


def is_pcm16_mono_16k(path: Path) -> bool:
    """True when the file already is the WAV we would extract (skip re-encoding it)."""
    try:
        with wave.open(str(path), "rb") as w:
            return (
                w.getframerate() == SAMPLE_RATE and w.getnchannels() == 1 and w.getsampwidth() == 2
            )
    except (wave.Error, EOFError, OSError):
        return False


def extract_wav(src: Path, dst: Path) -> Path:
    """Decode the first audio stream of `src` into 16 kHz mono 16-bit WAV at `dst`."""
    check_input(src)
    _run_ffmpeg(
        [
            "-i",
            str(src),
            "-map",
            "0:a:0",
            "-vn",
            "-ac",
            "1",
            "-ar",
            str(SAMPLE_RATE),
            "-c:a",
            "pcm_s16le",
            "-f",
            "wav",
            str(dst),
        ],
        "audio extraction",
    )
    return dst


def encode_compressed(
    src: Path,
    dst: Path,
    *,
    start: float | None = None,
    duration: float | None = None,
    bitrate: str = "32k",
) -> Path:
    """Encode (a slice of) `src` as 16 kHz mono Opus in Ogg: small uploads for cloud engines."""
    check_input(src)
    seek: list[str] = []
    if start is not None:
        seek += ["-ss", f"{start:.3f}"]
    if duration is not None:
        seek += ["-t", f"{duration:.3f}"]
    _run_ffmpeg(
        [
            *seek,
            "-i",
            str(src),
            "-map",
            "0:a:0",
            "-vn",
            "-ac",
            "1",
            "-ar",
            str(SAMPLE_RATE),
            "-c:a",
            "libopus",
            "-b:a",
            bitrate,
            "-application",
            "voip",
            "-f",
            "ogg",
            str(dst),
        ],
        "audio compression",
    )
    return dst


def wav_duration(path: Path) -> float:
    with _open_wav(path) as w:
        return w.getnframes() / float(w.getframerate())


def _open_wav(path: Path) -> wave.Wave_read:
    try:
        return wave.open(str(path), "rb")
    except (wave.Error, EOFError, OSError) as exc:
        raise TranscriptionError(f"unreadable WAV: {exc}", code="audio-decode-failed") from exc


@dataclass(frozen=True)
class AudioWindow:
    offset: float  # seconds from the start of the file
    samples: npt.NDArray[np.float32]  # 16 kHz mono, -1..1

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def _quietest_cut(samples: npt.NDArray[np.float32], search: int) -> int:
    """Index in the last `search` samples at the middle of the longest quiet stretch, so a
    window boundary falls inside a pause rather than inside (or right next to) a word."""
    frame = int(_FRAME_S * SAMPLE_RATE)
    tail_start = max(0, len(samples) - search)
    tail = samples[tail_start:]
    n = len(tail) // frame
    if n < 2:
        return len(samples)
    energy = np.square(tail[: n * frame].reshape(n, frame)).mean(axis=1)
    quiet = energy <= energy.min() * 4 + 1e-7
    best_start, best_len, run_start = 0, 0, -1
    for i in range(n + 1):
        if i < n and quiet[i]:
            if run_start < 0:
                run_start = i
        elif run_start >= 0:
            if i - run_start > best_len:
                best_start, best_len = run_start, i - run_start
            run_start = -1
    return tail_start + int((best_start + best_len / 2) * frame)


def iter_windows(
    wav_path: Path, window_s: float, *, search_s: float | None = None
) -> Iterator[AudioWindow]:
    """Read a 16 kHz mono WAV as consecutive windows of about `window_s` seconds.

    Only one window is in memory at a time. Each boundary is moved back to the quietest
    point of the window's last `search_s` seconds (default: a tenth of the window, at most
    10 s), and the next window starts exactly there, so no audio is lost or repeated.
    """
    if window_s <= 0:
        raise ValueError("window_s must be positive")
    search = int(
        min(10.0, window_s / 10) * SAMPLE_RATE if search_s is None else search_s * SAMPLE_RATE
    )
    window = int(window_s * SAMPLE_RATE)
    with _open_wav(wav_path) as w:
        if w.getframerate() != SAMPLE_RATE or w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise TranscriptionError("expected 16 kHz mono 16-bit WAV", code="audio-decode-failed")
        total = w.getnframes()
        pos = 0
        while pos < total:
            w.setpos(pos)
            raw = w.readframes(window)
            samples = np.frombuffer(raw, dtype=np.int16).astype(np.float32) / 32768.0
            if len(samples) == 0:
                break
            end = len(samples)
            if pos + end < total:
                end = max(1, _quietest_cut(samples, search))
            yield AudioWindow(offset=pos / SAMPLE_RATE, samples=samples[:end])
            pos += end


def cut_points(wav_path: Path, window_s: float) -> list[float]:
    """Start times of the windows `iter_windows` would produce (for splitting uploads)."""
    return [win.offset for win in iter_windows(wav_path, window_s)]
