"""Engines by name, and transcription that falls back from one engine to the next."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from cliply.errors import CliplyError
from cliply.transcribe.base import ProgressCallback, Transcriber, TranscriptionError
from cliply.transcribe.deepgram import DeepgramTranscriber
from cliply.transcribe.local import DEFAULT_CHUNK_SECONDS, LocalTranscriber
from cliply.transcribe.models import Transcript
from cliply.transcribe.openai import OpenAITranscriber

log = logging.getLogger(__name__)

ENGINE_NAMES = ("local", "deepgram", "openai")


@dataclass(frozen=True)
class LocalEngineConfig:
    model: str | None = None  # None: packaged tiny.en + multilingual base; else one model
    multilingual_model: str | None = None  # None: the multilingual base from PyPI
    model_cache_dir: Path | None = None  # where the packaged multilingual model is joined
    device: str = "cpu"
    compute_type: str = "int8"
    cpu_threads: int = 0
    download_root: str | None = None
    chunk_seconds: float = DEFAULT_CHUNK_SECONDS
    workers: int | None = None  # windows decoded at once; None: auto (worker_plan)
    beam_size: int = 5
    batched: bool | None = None  # None: batched on a GPU for long sources
    condition_on_previous_text: bool = False


@dataclass(frozen=True)
class DeepgramEngineConfig:
    api_key: str
    base_url: str = "https://api.deepgram.com"
    model: str = "nova-2"
    diarize: bool = False
    timeout_s: float = 900.0
    max_retries: int = 3


@dataclass(frozen=True)
class OpenAIEngineConfig:
    api_key: str
    base_url: str = "https://api.openai.com"
    model: str = "whisper-1"
    max_upload_bytes: int = 25 * 1024 * 1024
    timeout_s: float = 600.0
    max_retries: int = 3


def build_transcriber(
    name: str,
    *,
    local: LocalEngineConfig | None = None,
    deepgram: DeepgramEngineConfig | None = None,
    openai: OpenAIEngineConfig | None = None,
) -> Transcriber:
    """The engine called `name`, configured from the matching explicit config."""
    if name == "local":
        c = local or LocalEngineConfig()
        return LocalTranscriber(
            model=c.model,
            multilingual_model=c.multilingual_model,
            model_cache_dir=c.model_cache_dir,
            device=c.device,
            compute_type=c.compute_type,
            cpu_threads=c.cpu_threads,
            download_root=c.download_root,
            chunk_seconds=c.chunk_seconds,
            workers=c.workers,
            beam_size=c.beam_size,
            batched=c.batched,
            condition_on_previous_text=c.condition_on_previous_text,
        )
    if name == "deepgram":
        if deepgram is None or not deepgram.api_key:
            raise TranscriptionError("Deepgram needs an API key", code="engine-not-configured")
        return DeepgramTranscriber(
            api_key=deepgram.api_key,
            base_url=deepgram.base_url,
            model=deepgram.model,
            diarize=deepgram.diarize,
            timeout_s=deepgram.timeout_s,
            max_retries=deepgram.max_retries,
        )
    if name == "openai":
        if openai is None or not openai.api_key:
            raise TranscriptionError("OpenAI needs an API key", code="engine-not-configured")
        return OpenAITranscriber(
            api_key=openai.api_key,
            base_url=openai.base_url,
            model=openai.model,
            max_upload_bytes=openai.max_upload_bytes,
            timeout_s=openai.timeout_s,
            max_retries=openai.max_retries,
        )
    raise TranscriptionError(
        f"unknown transcription engine {name!r}; known: {', '.join(ENGINE_NAMES)}",
        code="unknown-engine",
    )


def build_chain(
    names: Sequence[str],
    *,
    local: LocalEngineConfig | None = None,
    deepgram: DeepgramEngineConfig | None = None,
    openai: OpenAIEngineConfig | None = None,
) -> list[tuple[str, Transcriber]]:
    """Engines in the given order, skipping cloud engines that have no key configured."""
    chain: list[tuple[str, Transcriber]] = []
    for name in names:
        try:
            chain.append(
                (name, build_transcriber(name, local=local, deepgram=deepgram, openai=openai))
            )
        except TranscriptionError as exc:
            if exc.code != "engine-not-configured":
                raise
            log.info("skipping transcription engine %s: %s", name, exc.message)
    if not chain:
        raise TranscriptionError("no usable transcription engine", code="engine-not-configured")
    return chain


@dataclass(frozen=True)
class EngineAttempt:
    engine: str
    ok: bool
    code: str | None = None
    message: str | None = None
    retryable: bool = False


class FallbackResult(NamedTuple):
    transcript: Transcript
    engine: str
    attempts: list[EngineAttempt]


class AllEnginesFailed(TranscriptionError):
    def __init__(self, attempts: list[EngineAttempt]) -> None:
        summary = "; ".join(f"{a.engine}: {a.code} ({a.message})" for a in attempts)
        super().__init__(
            f"every transcription engine failed: {summary}",
            code="all-engines-failed",
            retryable=any(a.retryable for a in attempts),
        )
        self.attempts = attempts


def transcribe_with_fallback(
    engines: Sequence[tuple[str, Transcriber]],
    audio_path: Path,
    *,
    language: str | None = None,
    progress: ProgressCallback | None = None,
) -> FallbackResult:
    """Try each engine in order until one succeeds.

    Returns (transcript, engine name, attempts); attempts lists every engine tried, failed
    ones with their error code and message. Raises AllEnginesFailed when none succeeds
    (retryable when any failure was). Progress restarts from 0 for each engine tried.
    """
    attempts: list[EngineAttempt] = []
    for name, engine in engines:
        try:
            transcript = engine.transcribe(audio_path, language=language, progress=progress)
        except CliplyError as exc:
            if exc.code == "audio-not-found":
                raise  # no engine can do better with a file that is not there
            log.warning("transcription engine %s failed: %s %s", name, exc.code, exc.message)
            attempts.append(EngineAttempt(name, False, exc.code, exc.message, exc.retryable))
            continue
        except Exception as exc:  # an engine bug must not stop the next engine
            log.exception("transcription engine %s crashed", name)
            attempts.append(EngineAttempt(name, False, "engine-crashed", repr(exc), True))
            continue
        attempts.append(EngineAttempt(name, True))
        if not transcript.engine:
            transcript = transcript.model_copy(update={"engine": name})
        return FallbackResult(transcript, name, attempts)
    raise AllEnginesFailed(attempts)
