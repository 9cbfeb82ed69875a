"""Typed errors raised by highlight detection; each carries a stable `code`."""

from __future__ import annotations

from cliply.errors import CliplyError


class HighlightError(CliplyError):
    """Base class of highlight detection errors."""

    status, code, title = 422, "highlight-error", "Highlights cannot be found"


class InvalidHighlightParams(HighlightError):
    """Caller passed limits that cannot be satisfied (e.g. min_s > max_s)."""

    code = "invalid-highlight-params"


class AudioReadError(HighlightError):
    """The WAV given for audio features is missing, unreadable or not 8/16/32-bit PCM."""

    code = "audio-unreadable"


class LlmReplyInvalid(HighlightError):
    """The LLM's reply is not the ranking asked for (the heuristic order is kept)."""

    code = "llm-reply-invalid"
