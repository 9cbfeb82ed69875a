"""Settings turned into the explicit parameters the pipeline steps take (one place)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from cliply.billing.plans import Plan
from cliply.config import Settings, get_settings
from cliply.highlights.llm import ChatJsonClient
from cliply.keys import app_secret
from cliply.pipeline.options import ClipOptions, ResolvedOptions, resolve_options
from cliply.pipeline.steps import RenderSpec, SourceLimits
from cliply.storage import Storage, storage_from_url
from cliply.transcribe.base import Transcriber
from cliply.transcribe.registry import (
    DeepgramEngineConfig,
    LocalEngineConfig,
    OpenAIEngineConfig,
    build_chain,
)

FILES_PATH = "/api/v1/files"
# `cliply process` has no plan: a generous cap so only absurd inputs are refused.
LOCAL_MAX_SOURCE_S = 12 * 3600.0


def app_storage(settings: Settings | None = None) -> Storage:
    """The object store from STORAGE_URL (default: files under CLIPLY_DATA_DIR/storage)."""
    s = settings or get_settings()
    url = s.storage_url or str(s.cliply_data_dir / "storage")
    return _storage(
        url,
        app_secret(),
        s.public_base_url.rstrip("/") + FILES_PATH,
        s.s3_access_key_id.get_secret_value() if s.s3_access_key_id else None,
        s.s3_secret_access_key.get_secret_value() if s.s3_secret_access_key else None,
    )


@lru_cache(maxsize=4)
def _storage(url: str, secret: str, public: str, key: str | None, skey: str | None) -> Storage:
    # Cached: an S3 client is costly to build and safe to share between threads.
    return storage_from_url(
        url, url_secret=secret, public_base_url=public, access_key=key, secret_key=skey
    )


def work_root(settings: Settings | None = None) -> Path:
    """Scratch space for jobs (WAVs, renders before upload, cached sources)."""
    path = (settings or get_settings()).cliply_data_dir / "work"
    path.mkdir(parents=True, exist_ok=True)
    return path


def source_limits(plan: Plan | None, settings: Settings | None = None) -> SourceLimits:
    s = settings or get_settings()
    max_s = plan.max_source_minutes * 60.0 if plan is not None else LOCAL_MAX_SOURCE_S
    return SourceLimits(
        max_duration_s=max_s, max_width=s.max_video_width, max_height=s.max_video_height
    )


def transcriber_chain(settings: Settings | None = None) -> list[tuple[str, Transcriber]]:
    """TRANSCRIBE_ENGINES in order; cloud engines without a key are skipped."""
    s = settings or get_settings()
    local = LocalEngineConfig(
        model=s.whisper_model or None,
        device=s.whisper_device,
        compute_type=s.whisper_compute_type,
        chunk_seconds=s.whisper_chunk_s,
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
    from cliply.integrations.openai_chat import OpenAIChatClient

    return OpenAIChatClient(
        base_url=s.llm_base_url,
        model=s.llm_model,
        api_key=s.llm_api_key.get_secret_value() if s.llm_api_key else None,
        timeout_s=s.llm_timeout_s,
        max_retries=s.llm_max_retries,
    )


def clip_options(
    raw: dict[str, object] | ClipOptions | None,
    plan: Plan | None,
    settings: Settings | None = None,
) -> ResolvedOptions:
    s = settings or get_settings()
    return resolve_options(
        raw if isinstance(raw, ClipOptions) else dict(raw or {}),
        default_min_s=s.clip_min_s,
        default_max_s=s.clip_max_s,
        default_top_k=s.clip_top_k,
        max_overlap=s.clip_max_overlap,
        clips_limit=plan.clips_per_project if plan is not None else None,
        default_caption_style=s.caption_style_default,
        min_score=s.clip_min_score,
        embedder=s.highlight_embedder,
        llm_top_n=s.llm_top_n,
    )


def render_spec(
    aspect: str, caption_style: str, plan: Plan | None, settings: Settings | None = None
) -> RenderSpec:
    """The plan's render height cap and watermark; no plan (local run) = full size, no mark."""
    s = settings or get_settings()
    return RenderSpec(
        aspect=aspect,
        caption_style=caption_style,
        max_short_side=plan.max_render_height if plan is not None else None,
        watermark=plan.watermark if plan is not None else False,
        preset=s.render_preset,
        crf=s.render_crf,
        threads=s.render_threads,
        timeout_s=s.render_timeout_s,
        reframe_fallback=s.reframe_fallback,
        reframe_sample_fps=s.reframe_sample_fps,
    )
