"""ffprobe-based inspection and validation of input videos.

`probe` turns ffprobe's JSON into a `ProbeResult`; `validate` applies the product's limits and
checks that the end of the file really decodes, so a file cut short (an interrupted upload or
download) is refused before any expensive work starts.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cliply.media.errors import (
    BAD_DIMENSIONS,
    NO_AUDIO_STREAM,
    NO_VIDEO_STREAM,
    NOT_A_VIDEO,
    NOT_FOUND,
    TOO_LONG,
    TRUNCATED,
    ZERO_LENGTH,
    MediaError,
)
from cliply.media.tools import check_interrupted, ffmpeg_bin, ffprobe_bin, run, stderr_tail

ABSOLUTE_MAX_SIDE = 8192
ABSOLUTE_MIN_SIDE = 16
PROBE_TIMEOUT_S = 60.0

# Demuxers that accept almost anything or only still images: a hit means "not a video".
_NON_VIDEO_FORMATS = {"tty", "image2", "lrc", "srt", "ass", "webvtt", "subviewer", "jacosub"}
_IMAGE_CODECS = {"png", "mjpeg", "bmp", "gif", "webp", "tiff", "jpegls", "jpeg2000", "pam"}


@dataclass(frozen=True)
class ProbeResult:
    path: Path
    format_name: str
    duration: float
    width: int
    height: int
    rotation: int
    """Clockwise degrees players turn the picture (0, 90, 180, 270); ffmpeg applies it."""
    fps: float
    video_codec: str | None
    has_audio: bool
    audio_codec: str | None
    sample_rate: int | None
    size_bytes: int
    video_duration: float | None = None

    @property
    def has_video(self) -> bool:
        return self.video_codec is not None

    @property
    def display_width(self) -> int:
        """Width after rotation: what ffmpeg filters see (autorotate is on)."""
        return self.height if self.rotation in (90, 270) else self.width

    @property
    def display_height(self) -> int:
        return self.width if self.rotation in (90, 270) else self.height


def probe(path: str | Path) -> ProbeResult:
    """Inspect `path` with ffprobe. Raises MediaError (not_found, zero_length, not_a_video,
    truncated) when the file is not something ffprobe can read as media."""
    p = Path(path)
    if not p.is_file():
        raise MediaError(f"no such file: {p}", code=NOT_FOUND)
    size = p.stat().st_size
    if size == 0:
        raise MediaError(f"{p.name} is empty (0 bytes)", code=ZERO_LENGTH)
    cmd = [
        ffprobe_bin(),
        "-v",
        "error",
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
        str(p),
    ]
    try:
        done = run(cmd, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise MediaError(f"{p.name}: ffprobe timed out", code=NOT_A_VIDEO) from exc
    if done.returncode != 0:
        check_interrupted(cmd, done.returncode, done.stderr)
        if "moov atom not found" in done.stderr and _looks_like_mp4(p):
            # An MP4 whose index (written last) never arrived: the classic cut-off upload.
            raise MediaError(f"{p.name} is incomplete (MP4 index missing)", code=TRUNCATED)
        raise MediaError(f"{p.name} is not a readable media file", code=NOT_A_VIDEO)
    try:
        data: dict[str, Any] = json.loads(done.stdout or "{}")
    except json.JSONDecodeError as exc:
        raise MediaError(f"{p.name}: unreadable ffprobe output", code=NOT_A_VIDEO) from exc
    return _from_json(p, size, data)


def _looks_like_mp4(p: Path) -> bool:
    """An ISO-BMFF file starts with a box whose type is one of these (e.g. "....ftyp")."""
    with p.open("rb") as fh:
        head = fh.read(8)
    return head[4:8] in (b"ftyp", b"mdat", b"moov", b"free", b"wide", b"skip")


def _from_json(p: Path, size: int, data: dict[str, Any]) -> ProbeResult:
    fmt: dict[str, Any] = data.get("format") or {}
    streams: list[dict[str, Any]] = data.get("streams") or []
    format_name = str(fmt.get("format_name", ""))
    if not streams or format_name in _NON_VIDEO_FORMATS or format_name.endswith("_pipe"):
        raise MediaError(f"{p.name} is not a video (format {format_name!r})", code=NOT_A_VIDEO)
    video = next((s for s in streams if _is_real_video(s)), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    duration = _float(fmt.get("duration"))
    if duration is None:
        durations = [_float(s.get("duration")) for s in streams]
        duration = max((d for d in durations if d is not None), default=0.0)
    return ProbeResult(
        path=p,
        format_name=format_name,
        duration=duration,
        width=int(video.get("width") or 0) if video else 0,
        height=int(video.get("height") or 0) if video else 0,
        rotation=_rotation(video) if video else 0,
        fps=_rate(video) if video else 0.0,
        video_codec=str(video.get("codec_name")) if video else None,
        has_audio=audio is not None,
        audio_codec=str(audio.get("codec_name")) if audio else None,
        sample_rate=int(audio["sample_rate"]) if audio and audio.get("sample_rate") else None,
        size_bytes=size,
        video_duration=_float(video.get("duration")) if video else None,
    )


def _is_real_video(stream: dict[str, Any]) -> bool:
    if stream.get("codec_type") != "video":
        return False
    # Cover art in audio files is a one-frame "video" stream flagged attached_pic.
    disposition: dict[str, Any] = stream.get("disposition") or {}
    return not disposition.get("attached_pic")


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _rate(stream: dict[str, Any]) -> float:
    for key in ("avg_frame_rate", "r_frame_rate"):
        raw = str(stream.get(key) or "0/0")
        num, _, den = raw.partition("/")
        try:
            value = float(num) / float(den or "1")
        except (ValueError, ZeroDivisionError):
            continue
        if value > 0:
            return value
    return 0.0


def _rotation(stream: dict[str, Any]) -> int:
    """Clockwise display rotation, from the display matrix side data or the legacy tag."""
    degrees: float | None = None
    for side in stream.get("side_data_list") or []:
        if "rotation" in side:
            # The display matrix angle is counter-clockwise; players rotate the other way.
            degrees = -float(side["rotation"])
            break
    if degrees is None:
        tag = (stream.get("tags") or {}).get("rotate")
        degrees = _float(tag)
    if degrees is None:
        return 0
    return round(degrees / 90.0) * 90 % 360


def validate(
    result: ProbeResult,
    *,
    max_duration_s: float,
    max_width: int,
    max_height: int,
    min_duration_s: float = 0.5,
    require_audio: bool = True,
    check_tail: bool = True,
) -> None:
    """Raise MediaError unless `result` is a playable video with audio within the limits.

    Limits compare against the displayed orientation, so a phone video (rotated 1920x1080)
    is measured as 1080x1920. `check_tail` decodes the last second to catch truncated files.
    """
    name = result.path.name
    if not result.has_video:
        raise MediaError(f"{name} has no video stream", code=NO_VIDEO_STREAM)
    if require_audio and not result.has_audio:
        raise MediaError(f"{name} has no audio stream", code=NO_AUDIO_STREAM)
    if result.duration <= 0 or result.duration < min_duration_s:
        raise MediaError(
            f"{name} lasts {result.duration:.2f} s (minimum {min_duration_s} s)", code=ZERO_LENGTH
        )
    if result.duration > max_duration_s:
        raise MediaError(
            f"{name} lasts {result.duration:.0f} s (maximum {max_duration_s:.0f} s)", code=TOO_LONG
        )
    w, h = result.display_width, result.display_height
    if (
        min(w, h) < ABSOLUTE_MIN_SIDE
        or max(w, h) > ABSOLUTE_MAX_SIDE
        or w > max(max_width, max_height)
        or h > max(max_width, max_height)
        or w * h > max_width * max_height
    ):
        raise MediaError(
            f"{name} is {w}x{h}; allowed up to {max_width}x{max_height}"
            f" and at least {ABSOLUTE_MIN_SIDE} px a side",
            code=BAD_DIMENSIONS,
        )
    if check_tail:
        _check_tail_decodes(result)


def _check_tail_decodes(result: ProbeResult) -> None:
    """Decode the last second of video; a file whose data stops early yields no frames."""
    end = result.video_duration or result.duration
    seek = max(0.0, end - 1.0)
    cmd = [
        ffmpeg_bin(),
        "-nostdin",
        "-v",
        "error",
        "-ss",
        f"{seek:.3f}",
        "-i",
        str(result.path),
        "-t",
        "1.5",
        "-map",
        "0:v:0",
        "-vf",
        "scale=8:8",
        "-pix_fmt",
        "gray",
        "-f",
        "rawvideo",
        "pipe:1",
    ]
    try:
        done = run(cmd, capture_output=True, timeout=PROBE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise MediaError(f"{result.path.name}: decoding the end timed out", code=TRUNCATED) from exc
    if done.returncode != 0:
        check_interrupted(cmd, done.returncode, done.stderr)
    if done.returncode != 0 or len(done.stdout) < 64:
        detail = stderr_tail(done.stderr.decode("utf-8", "replace"), 2)
        raise MediaError(
            f"{result.path.name} ends before its declared {end:.1f} s"
            f" (no picture decodes near the end: {detail})",
            code=TRUNCATED,
        )
