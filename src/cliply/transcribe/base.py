"""The one interface every speech-to-text engine implements, and its error type."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

from cliply.errors import CliplyError
from cliply.transcribe.models import Transcript

ProgressCallback = Callable[[float], None]
"""Called with the finished fraction of the work, 0.0 to 1.0, never decreasing within one run."""


class TranscriptionError(CliplyError):
    """A transcription failed. `retryable` says whether the same call may succeed later
    (rate limits, outages)."""

    status, code, title = 422, "transcription-failed", "Transcription failed"


@runtime_checkable
class Transcriber(Protocol):
    """Turns an audio or video file into a word-timed transcript."""

    name: str

    def transcribe(
        self,
        audio_path: Path,
        *,
        language: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> Transcript: ...


def report(progress: ProgressCallback | None, fraction: float) -> None:
    """Send a clamped progress value if anyone listens."""
    if progress is not None:
        progress(min(1.0, max(0.0, fraction)))
