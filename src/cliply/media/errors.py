"""The one error type the media package raises, with stable codes callers can branch on."""

from __future__ import annotations

from typing import Final

NOT_FOUND: Final = "not_found"
NOT_A_VIDEO: Final = "not_a_video"
NO_VIDEO_STREAM: Final = "no_video_stream"
NO_AUDIO_STREAM: Final = "no_audio_stream"
ZERO_LENGTH: Final = "zero_length"
TRUNCATED: Final = "truncated"
TOO_LONG: Final = "too_long"
BAD_DIMENSIONS: Final = "bad_dimensions"
BAD_ARGUMENT: Final = "bad_argument"
FFMPEG_FAILED: Final = "ffmpeg_failed"
RENDER_FAILED: Final = "render_failed"
TOOL_MISSING: Final = "tool_missing"
INTERRUPTED: Final = "interrupted"


class MediaError(Exception):
    """A media problem with a stable machine-readable `code` and a human `message`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class MediaInterrupted(MediaError):
    """A tool was stopped by a signal (worker shutdown, OOM killer): the input is not at
    fault, so the work is retried, never failed for good."""

    retryable = True

    def __init__(self, message: str) -> None:
        super().__init__(INTERRUPTED, message)
