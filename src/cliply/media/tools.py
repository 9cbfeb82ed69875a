"""Locating and running the ffmpeg / ffprobe binaries."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from cliply.media.errors import FFMPEG_FAILED, TOOL_MISSING, MediaError


def ffmpeg_bin() -> str:
    return _which("ffmpeg")


def ffprobe_bin() -> str:
    return _which("ffprobe")


def _which(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise MediaError(f"{name} is not installed or not on PATH", code=TOOL_MISSING)
    return found


def run_ffmpeg(args: Sequence[str], *, timeout: float | None = None) -> str:
    """Run ffmpeg with `args` (no binary name); return stderr, raise MediaError on failure."""
    cmd = [ffmpeg_bin(), "-nostdin", "-hide_banner", *args]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise MediaError(f"ffmpeg timed out after {timeout} s", code=FFMPEG_FAILED) from exc
    if done.returncode != 0:
        raise MediaError(stderr_tail(done.stderr), code=FFMPEG_FAILED)
    return done.stderr


def stderr_tail(text: str, lines: int = 8) -> str:
    kept = [ln for ln in text.strip().splitlines() if ln.strip()]
    return "\n".join(kept[-lines:]) or "no output"


def as_path(p: str | Path) -> Path:
    return p if isinstance(p, Path) else Path(p)
