"""Settings turned into the explicit parameters the pipeline steps take (one place).

Plan limits (source length, clips per project, render height, watermark) come in as plain
parameters from the job handlers, which know the workspace's plan; `cliply process` has no
plan and passes None. The pipeline never looks at billing itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cliply.config import Settings, get_settings
from cliply.highlights.llm import ChatJsonClient
from cliply.integrations.openai_chat import OpenAIChatClient
from cliply.pipeline.options import CaptionFx, ClipOptions, ResolvedOptions, resolve_options
from cliply.pipeline.steps import RenderSpec, SourceLimits
from cliply.transcribe.base import Transcriber
from cliply.transcribe.local import available_cores
from cliply.transcribe.registry import (
    DeepgramEngineConfig,
    LocalEngineConfig,
    OpenAIEngineConfig,
    build_chain,
)

# ffmpeg's default threads grow with the cores, and its frame buffers with them (a 1080x1920
# render: 301 MiB at 3 decoder + 3 x264 threads, ffmpeg's choice on 2 cores; 330 MiB at 4 + 4;
# 857 MiB at 16 + 24, its choice on 16 cores; the same CPU time per clip, benchmarks/README.md).
# A worker runs renders side by side in its slots instead.
DEFAULT_RENDER_THREADS = 4

# `cliply process` has no plan: a generous cap so only absurd inputs are refused.
LOCAL_MAX_SOURCE_S = 12 * 3600.0


def release_models_after_s(settings: Settings | None = None) -> float:
    """Sources at least this long free the models of their stage (RELEASE_MODELS_AFTER_S)."""
    return (settings or get_settings()).release_models_after_s


def render_clips_at_once(settings: Settings | None = None) -> int:
    """RENDER_CLIPS_AT_ONCE, or 1 on one core, else a quarter of the cores within 2..4."""
    configured = (settings or get_settings()).render_clips_at_once
    if configured:
        return configured
    cores = available_cores()
    return 1 if cores < 2 else max(2, min(cores // 4, 4))


def render_threads(settings: Settings | None = None) -> int:
    """RENDER_THREADS, or the machine's cores plus one (ffmpeg's own choice on a small
    machine) up to DEFAULT_RENDER_THREADS."""
    configured = (settings or get_settings()).render_threads
    return configured or min(available_cores() + 1, DEFAULT_RENDER_THREADS)


def work_root(settings: Settings | None = None) -> Path:
    """Scratch space for jobs (WAVs, renders before upload, cached sources)."""
    path = (settings or get_settings()).cliply_data_dir / "work"
    path.mkdir(parents=True, exist_ok=True)
    return path


def source_limits(
    max_source_minutes: float | None, settings: Settings | None = None
) -> SourceLimits:
    """`max_source_minutes`: the plan's longest source; None (no plan) = LOCAL_MAX_SOURCE_S."""
    s = settings or get_settings()
    max_s = max_source_minutes * 60.0 if max_source_minutes is not None else LOCAL_MAX_SOURCE_S
    return SourceLimits(
        max_duration_s=max_s, max_width=s.max_video_width, max_height=s.max_video_height
    )


def transcriber_chain(settings: Settings | None = None) -> list[tuple[str, Transcriber]]:
    """TRANSCRIBE_ENGINES in order; cloud engines without a key are skipped."""
    s = settings or get_settings()
    local = LocalEngineConfig(
        model=s.whisper_model or None,
        multilingual_model=s.whisper_multilingual_model or None,
        device=s.whisper_device,
        compute_type=s.whisper_compute_type,
        chunk_seconds=s.whisper_chunk_s,
        workers=None if s.whisper_workers == "auto" else s.whisper_workers,
        beam_size=s.whisper_beam_size,
        condition_on_previous_text=s.whisper_condition_on_previous_text,
        batched={"on": True, "off": False}.get(s.whisper_batched),
    )
    deepgram = (
        DeepgramEngineConfig(
            api_key=s.deepgram_api_key.get_secret_value(), base_url=s.deepgram_base_url
        )
        if s.deepgram_api_key
        else None
    )
    openai = (
        OpenAIEngineConfig(api_key=s.openai_api_key.get_secret_value(), base_url=s.openai_base_url)
        if s.openai_api_key
        else None
    )
    return build_chain(s.engines() or ["local"], local=local, deepgram=deepgram, openai=openai)


def llm_client(settings: Settings | None = None) -> ChatJsonClient | None:
    s = settings or get_settings()
    if not s.llm_enabled:
        return None
    return OpenAIChatClient(
        base_url=s.llm_base_url,
        model=s.llm_model,
        api_key=s.llm_api_key.get_secret_value() if s.llm_api_key else None,
        timeout_s=s.llm_timeout_s,
        max_retries=s.llm_max_retries,
    )


def clip_options(
    raw: dict[str, object] | ClipOptions | None,
    clips_limit: int | None,
    settings: Settings | None = None,
) -> ResolvedOptions:
    """`clips_limit`: the plan's clips per project; None (no plan) = no cap."""
    s = settings or get_settings()
    return resolve_options(
        raw if isinstance(raw, ClipOptions) else dict(raw or {}),
        default_min_s=s.clip_min_s,
        default_max_s=s.clip_max_s,
        default_top_k=s.clip_top_k,
        max_overlap=s.clip_max_overlap,
        clips_limit=clips_limit,
        default_caption_style=s.caption_style_default,
        min_score=s.clip_min_score,
        embedder=s.highlight_embedder,
        llm_top_n=s.llm_top_n,
    )


def render_spec(
    aspect: str,
    caption_style: str,
    *,
    max_short_side: int | None = None,
    watermark: bool = False,
    settings: Settings | None = None,
    overlay_title: str | None = None,
    word_edits: tuple[tuple[int, str], ...] = (),
    thumb_at: float | None = None,
    layout: str = "auto",
    fx: CaptionFx | None = None,
    keywords: tuple[str, ...] = (),
) -> RenderSpec:
    """The plan's render height cap and watermark; no plan (local run) = full size, no mark.
    `fx`: the caption effects and jump cuts chosen in the options; `keywords`: the clip's."""
    s = settings or get_settings()
    return RenderSpec(
        aspect=aspect,
        caption_style=caption_style,
        max_short_side=max_short_side,
        watermark=watermark,
        preset=s.render_preset,
        crf=s.render_crf,
        overlay_title=overlay_title,
        word_edits=word_edits,
        thumb_at=thumb_at,
        threads=render_threads(s),
        timeout_s=s.render_timeout_s,
        reframe_fallback=s.reframe_fallback,
        reframe_sample_fps=s.reframe_sample_fps,
        layout=layout,
        **(caption_fx(fx, keywords) if fx is not None else {}),
    )


def caption_fx(fx: CaptionFx, keywords: tuple[str, ...]) -> dict[str, Any]:
    """RenderSpec fields of the options' caption effects and jump cuts."""
    return {
        "keywords": keywords,
        "keyword_emphasis": fx.keyword_emphasis,
        "keyword_emoji": fx.emoji,
        "mask_profanity": fx.mask_profanity,
        "bleep": fx.bleep,
        "cut_fillers": fx.remove_fillers,
        "max_silence_s": fx.max_silence_s,
    }
