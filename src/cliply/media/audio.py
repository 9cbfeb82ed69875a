"""Audio extraction, bounded-memory streaming, and per-window loudness / burst features.

Features (used by highlight scoring), computed over 50 ms frames of 16 kHz mono audio:

- `rms_db`: energy of the whole window, 10*log10(mean square), in dBFS.
- `loudness_var`: variance of the per-frame level (dB) over the window's voiced frames; lively
  delivery varies more than a monotone.
- bursts: laughter and applause are noise-like (flat spectrum) and loud, while speech is
  harmonic (peaky spectrum). Per frame we take the spectral flatness (geometric / arithmetic mean
  of the power spectrum, 0..1), then average it over `smooth_s` weighting each frame by its
  energy, so short quiet fricatives and breath noise do not count. A frame is "bursty" when that
  smoothed flatness exceeds `flatness_threshold` and the smoothed level is at least
  `burst_margin_db` above the file's median voiced level. Runs of bursty frames lasting at least
  `min_burst_s` are bursts; `burst_ratio` is the share of the window they cover.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import numpy.typing as npt

from cliply.media.errors import BAD_ARGUMENT, FFMPEG_FAILED, MediaError
from cliply.media.tools import check_interrupted, ffmpeg_bin, popen, run_ffmpeg, stderr_tail

SAMPLE_RATE = 16_000
FRAME_S = 0.05
_SILENCE_DB = -60.0
_EPS = 1e-12


def extract_audio(
    source: str | Path,
    out_wav: str | Path,
    *,
    sample_rate: int = SAMPLE_RATE,
    start: float | None = None,
    end: float | None = None,
) -> Path:
    """Decode the first audio stream of `source` once into a mono 16-bit WAV at `sample_rate`.

    Written to a temporary name and renamed, so a crash never leaves a half file at `out_wav`.
    """
    out = Path(out_wav)
    out.parent.mkdir(parents=True, exist_ok=True)
    args: list[str] = ["-y", "-v", "error"]
    if start is not None:
        args += ["-ss", f"{start:.3f}"]
    args += ["-i", str(source)]
    if end is not None:
        args += ["-t", f"{end - (start or 0.0):.3f}"]
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=".wav", dir=out.parent)
    os.close(fd)
    try:
        run_ffmpeg(
            [
                *args,
                "-map",
                "0:a:0",
                "-vn",
                "-ac",
                "1",
                "-ar",
                str(sample_rate),
                "-c:a",
                "pcm_s16le",
                "-f",
                "wav",
                tmp_name,
            ]
        )
        os.replace(tmp_name, out)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return out


def iter_audio_chunks(
    source: str | Path,
    *,
    chunk_seconds: float = 30.0,
    sample_rate: int = SAMPLE_RATE,
    start: float | None = None,
) -> Iterator[npt.NDArray[np.float32]]:
    """Yield mono float32 chunks (-1..1) of `chunk_seconds` (the last may be shorter).

    ffmpeg decodes to its stdout and only one chunk is held at a time, so hours of audio never
    sit in memory. Closing the generator early stops ffmpeg.
    """
    if chunk_seconds <= 0:
        raise MediaError("chunk_seconds must be positive", code=BAD_ARGUMENT)
    cmd = [ffmpeg_bin(), "-nostdin", "-v", "error"]
    if start is not None:
        cmd += ["-ss", f"{start:.3f}"]
    cmd += ["-i", str(source), "-map", "0:a:0", "-vn", "-ac", "1", "-ar", str(sample_rate)]
    cmd += ["-f", "f32le", "pipe:1"]
    chunk_bytes = round(chunk_seconds * sample_rate) * 4
    # stderr goes to a file so a chatty ffmpeg can never block on a full pipe.
    with tempfile.TemporaryFile() as err:
        proc = popen(cmd, stdout=subprocess.PIPE, stderr=err)
        assert proc.stdout is not None
        finished = False
        try:
            while True:
                buf = _read_exact(proc.stdout, chunk_bytes)
                if not buf:
                    break
                usable = len(buf) - len(buf) % 4
                yield np.frombuffer(buf[:usable], dtype="<f4").astype(np.float32)
            finished = True
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.stdout.close()
            code = proc.wait()
        if finished and code != 0:
            err.seek(0)
            text = err.read().decode("utf-8", "replace")
            check_interrupted(cmd, code, text)
            raise MediaError(stderr_tail(text), code=FFMPEG_FAILED)


def _read_exact(stream: IO[bytes], n: int) -> bytes:
    parts: list[bytes] = []
    remaining = n
    while remaining > 0:
        data = stream.read(remaining)
        if not data:
            break
        parts.append(data)
        remaining -= len(data)
    return b"".join(parts)


@dataclass(frozen=True)
class AudioFeatures:
    start: float
    end: float
    rms_db: float
    loudness_var: float
    burst_ratio: float
    burst_count: int


@dataclass(frozen=True)
class FrameFeatures:
    """Per-frame level (dB) and spectral flatness for a whole file, at `frame_s` spacing."""

    frame_s: float
    level_db: npt.NDArray[np.float64]
    flatness: npt.NDArray[np.float64]
    power: npt.NDArray[np.float64]


def frame_features(
    source: str | Path, *, frame_s: float = FRAME_S, sample_rate: int = SAMPLE_RATE
) -> FrameFeatures:
    """Stream `source` once and reduce it to a few numbers per frame (20 frames/s)."""
    n = round(frame_s * sample_rate)
    window = np.hanning(n)
    levels: list[npt.NDArray[np.float64]] = []
    flats: list[npt.NDArray[np.float64]] = []
    powers: list[npt.NDArray[np.float64]] = []
    carry = np.zeros(0, dtype=np.float32)
    # 60 s chunks are a multiple of the frame length, so frames never straddle chunks
    # except for the remainder carried over.
    for chunk in iter_audio_chunks(source, chunk_seconds=60.0, sample_rate=sample_rate):
        data = np.concatenate([carry, chunk]) if carry.size else chunk
        whole = data.size // n * n
        carry = data[whole:]
        if whole:
            _frames_into(data[:whole].reshape(-1, n), window, levels, flats, powers)
    if carry.size:
        padded = np.zeros(n, dtype=np.float32)
        padded[: carry.size] = carry
        _frames_into(padded.reshape(1, n), window, levels, flats, powers)
    empty = np.zeros(0, dtype=np.float64)
    return FrameFeatures(
        frame_s=frame_s,
        level_db=np.concatenate(levels) if levels else empty,
        flatness=np.concatenate(flats) if flats else empty,
        power=np.concatenate(powers) if powers else empty,
    )


def _frames_into(
    frames: npt.NDArray[np.float32],
    window: npt.NDArray[np.float64],
    levels: list[npt.NDArray[np.float64]],
    flats: list[npt.NDArray[np.float64]],
    powers: list[npt.NDArray[np.float64]],
) -> None:
    x = frames.astype(np.float64)
    power = np.mean(x * x, axis=1)
    spec = np.abs(np.fft.rfft(x * window, axis=1)) ** 2 + _EPS
    # Skip the DC bin; flatness = exp(mean(log P)) / mean(P).
    spec = spec[:, 1:]
    flat = np.exp(np.mean(np.log(spec), axis=1)) / np.mean(spec, axis=1)
    powers.append(power)
    levels.append(10.0 * np.log10(power + _EPS))
    flats.append(flat)


def audio_features(
    wav_path: str | Path,
    windows: Sequence[tuple[float, float]],
    *,
    flatness_threshold: float = 0.12,
    burst_margin_db: float = 0.0,
    min_burst_s: float = 0.5,
    smooth_s: float = 0.5,
    frames: FrameFeatures | None = None,
) -> list[AudioFeatures]:
    """Loudness and burst features for each (start, end) window in seconds of `wav_path`.

    Pass `frames` (from `frame_features`) to score many window sets without re-reading audio.
    """
    ff = frames if frames is not None else frame_features(wav_path)
    level = ff.level_db
    voiced = level > _SILENCE_DB
    reference = float(np.median(level[voiced])) if voiced.any() else _SILENCE_DB
    k = np.ones(max(1, round(smooth_s / ff.frame_s)))
    smooth_power = np.convolve(ff.power, k, "same")
    smooth_flat = np.convolve(ff.flatness * ff.power, k, "same") / (smooth_power + _EPS)
    smooth_level = 10.0 * np.log10(smooth_power / k.size + _EPS)
    bursty = (
        (smooth_flat > flatness_threshold) & (smooth_level > reference + burst_margin_db) & voiced
    )
    min_run = max(1, round(min_burst_s / ff.frame_s))
    runs = _runs(bursty, min_run)
    in_burst = np.zeros(level.size, dtype=bool)
    for a, b in runs:
        in_burst[a:b] = True

    out: list[AudioFeatures] = []
    for start, end in windows:
        if end <= start:
            raise MediaError(f"window ({start}, {end}) is empty", code=BAD_ARGUMENT)
        a = max(0, int(np.floor(start / ff.frame_s)))
        b = min(level.size, int(np.ceil(end / ff.frame_s)))
        if b <= a:
            out.append(AudioFeatures(start, end, _SILENCE_DB, 0.0, 0.0, 0))
            continue
        power = float(np.mean(ff.power[a:b]))
        seg_voiced = voiced[a:b]
        seg_levels = level[a:b][seg_voiced]
        var = float(np.var(seg_levels)) if seg_levels.size > 1 else 0.0
        count = sum(1 for ra, rb in runs if ra < b and rb > a)
        out.append(
            AudioFeatures(
                start=start,
                end=end,
                rms_db=max(_SILENCE_DB * 2, 10.0 * float(np.log10(power + _EPS))),
                loudness_var=var,
                burst_ratio=float(np.mean(in_burst[a:b])),
                burst_count=count,
            )
        )
    return out


def _runs(mask: npt.NDArray[np.bool_], min_len: int) -> list[tuple[int, int]]:
    """[start, end) index ranges where `mask` is true for at least `min_len` frames."""
    if mask.size == 0:
        return []
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    starts, ends = edges[0::2], edges[1::2]
    return [(int(s), int(e)) for s, e in zip(starts, ends, strict=True) if e - s >= min_len]


def waveform_peaks(
    source: str | Path, *, start: float, end: float, per_second: int = 50, sample_rate: int = 8000
) -> list[float]:
    """Peak level (0..1) of each 1/`per_second` s of [start, end): what a timeline's waveform
    draws. Decodes only that window, at a low rate (peaks need no fidelity)."""
    if end <= start or per_second < 1:
        raise MediaError("waveform needs a non-empty window", code=BAD_ARGUMENT)
    bucket = max(1, sample_rate // per_second)
    want = round((end - start) * per_second)
    peaks: list[float] = []
    rest = np.zeros(0, dtype=np.float32)
    for chunk in iter_audio_chunks(
        source, chunk_seconds=30.0, sample_rate=sample_rate, start=start
    ):
        data = np.concatenate([rest, chunk])
        whole = len(data) // bucket * bucket
        if whole:
            peaks += np.abs(data[:whole]).reshape(-1, bucket).max(axis=1).tolist()
        rest = data[whole:]
        if len(peaks) >= want:
            break
    if len(rest) and len(peaks) < want:
        peaks.append(float(np.abs(rest).max()))
    top = max(peaks, default=0.0) or 1.0
    return [round(min(1.0, p / top), 3) for p in peaks[:want]]
