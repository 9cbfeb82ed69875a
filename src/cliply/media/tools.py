"""Locating and running the ffmpeg / ffprobe binaries.

Every tool runs through `cliply.subprocs`: in its own session (a terminal's or a service
manager's group signal stops the worker, which then stops its children itself), killed if its
worker dies. A tool ended by a signal raises MediaInterrupted (retry), never a media error.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cliply import subprocs
from cliply.media.errors import FFMPEG_FAILED, TOOL_MISSING, MediaError, MediaInterrupted


def ffmpeg_bin() -> str:
    return _which("ffmpeg")


def ffprobe_bin() -> str:
    return _which("ffprobe")


def _which(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise MediaError(f"{name} is not installed or not on PATH", code=TOOL_MISSING)
    return found


def popen(cmd: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
    """Start a media tool (see the module docstring)."""
    return subprocs.popen(cmd, **kwargs)


def run(cmd: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[Any]:
    """`subprocess.run` for a media tool (see the module docstring)."""
    return subprocs.run(cmd, **kwargs)


def check_interrupted(cmd: Sequence[str], returncode: int, stderr: str | bytes) -> None:
    """Raise MediaInterrupted if the tool was stopped by a signal rather than failing."""
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    if subprocs.killed_by_signal(returncode, text):
        name = Path(cmd[0]).name if cmd else "tool"
        raise MediaInterrupted(f"{name} was stopped by a signal (exit {returncode})")


def run_ffmpeg(args: Sequence[str], *, timeout: float | None = None) -> str:
    """Run ffmpeg with `args` (no binary name); return stderr, raise MediaError on failure."""
    cmd = [ffmpeg_bin(), "-nostdin", "-hide_banner", *args]
    try:
        done = run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise MediaError(f"ffmpeg timed out after {timeout} s", code=FFMPEG_FAILED) from exc
    if done.returncode != 0:
        check_interrupted(cmd, done.returncode, done.stderr)
        raise MediaError(stderr_tail(done.stderr), code=FFMPEG_FAILED)
    return str(done.stderr)


def stderr_tail(text: str, lines: int = 8) -> str:
    kept = [ln for ln in text.strip().splitlines() if ln.strip()]
    return "\n".join(kept[-lines:]) or "no output"


def as_path(p: str | Path) -> Path:
    return p if isinstance(p, Path) else Path(p)


def escape_filter_value(value: str) -> str:
    """Escape a string for use as a filter option value inside a -filter_complex graph.

    Two levels, as ffmpeg's filtergraph docs describe: first the option value (\\ ' :), then the
    graph description (\\ ' [ ] , ;).
    """
    level1 = "".join("\\" + c if c in "\\':" else c for c in value)
    return "".join("\\" + c if c in "\\'[],;" else c for c in level1)
