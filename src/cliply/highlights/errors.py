"""Typed errors raised by highlight detection; each carries a stable `code`."""

from __future__ import annotations


class HighlightError(Exception):
    """Base class: `code` is stable for API/job error mapping, `message` is for people."""

    code = "highlights.error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidHighlightParams(HighlightError):
    """Caller passed limits that cannot be satisfied (e.g. min_s > max_s)."""

    code = "highlights.invalid_params"


class AudioReadError(HighlightError):
    """The WAV given for audio features is missing, unreadable or not 8/16/32-bit PCM."""

    code = "highlights.audio_unreadable"
