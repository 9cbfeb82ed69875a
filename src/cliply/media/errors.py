"""The one error type the media package raises, with stable codes callers can branch on."""

from __future__ import annotations

from typing import Final

from cliply.errors import CliplyError

NOT_FOUND: Final = "media-not-found"
NOT_A_VIDEO: Final = "not-a-video"
NO_VIDEO_STREAM: Final = "no-video-stream"
NO_AUDIO_STREAM: Final = "no-audio-stream"
ZERO_LENGTH: Final = "zero-length"
TRUNCATED: Final = "truncated"
TOO_LONG: Final = "too-long"
BAD_DIMENSIONS: Final = "bad-dimensions"
BAD_ARGUMENT: Final = "bad-argument"
FFMPEG_FAILED: Final = "ffmpeg-failed"
RENDER_FAILED: Final = "render-failed"
RENDER_TIMEOUT: Final = "render-timeout"
TOOL_MISSING: Final = "tool-missing"
INTERRUPTED: Final = "interrupted"


class MediaError(CliplyError):
    """A media problem: the input is not what we can process, or a tool failed on it.
    Retrying the same input gives the same result, so media errors are not retryable."""

    status, code, title = 422, "media-error", "Media cannot be processed"


class MediaInterrupted(MediaError):
    """A tool was stopped by a signal (worker shutdown, OOM killer): the input is not at
    fault, so the work is retried, never failed for good."""

    status, code, retryable = 503, INTERRUPTED, True
