"""The pipeline's steps as plain functions over local files: no database, no storage, no jobs.

Job handlers (projects.tasks, clips.tasks) and `cliply process` (pipeline.local) both call
these, so probing, transcription, highlight detection and rendering exist once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cliply.highlights import TFIDF_NAME, HighlightResult, choose_embedder, detect_highlights
from cliply.highlights.llm import ChatJsonClient
from cliply.media import extract_audio, make_thumbnail, plan_crop, probe, render_clip, validate
from cliply.media.captions import write_ass
from cliply.media.probe import ProbeResult
from cliply.media.reframe import aspect_size
from cliply.pipeline.options import ResolvedOptions
from cliply.transcribe.base import Transcriber
from cliply.transcribe.formats import render as render_transcript
from cliply.transcribe.models import Transcript, Word
from cliply.transcribe.registry import FallbackResult, transcribe_with_fallback

Progress = Callable[[float], None]
TRANSCRIPT_FORMATS = ("json", "srt", "vtt")
TFIDF_LABEL = "lexical TF-IDF fallback"
WATERMARK_TEXT = "Made with Cliply"


def _noop(_: float) -> None:
    return None


# --- probe ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceLimits:
    max_duration_s: float
    max_width: int
    max_height: int


def inspect_source(path: Path, limits: SourceLimits) -> ProbeResult:
    """ffprobe the file and apply the limits; raises media.MediaError with a stable code
    (not_a_video, no_audio_stream, zero_length, truncated, too_long, bad_dimensions, ...)."""
    info = probe(path)
    validate(
        info,
        max_duration_s=limits.max_duration_s,
        max_width=limits.max_width,
        max_height=limits.max_height,
    )
    return info


def media_info(info: ProbeResult) -> dict[str, Any]:
    """The probe result as JSON for projects.media_info."""
    return {
        "format": info.format_name,
        "duration": info.duration,
        "width": info.display_width,
        "height": info.display_height,
        "rotation": info.rotation,
        "fps": info.fps,
        "video_codec": info.video_codec,
        "audio_codec": info.audio_codec,
        "sample_rate": info.sample_rate,
        "size_bytes": info.size_bytes,
    }


# --- transcript ------------------------------------------------------------------------------


def speech_wav(source: Path, wav_path: Path) -> Path:
    """16 kHz mono WAV of the source (decoded once; reused when already there)."""
    if wav_path.is_file() and wav_path.stat().st_size > 44:
        return wav_path
    return extract_audio(source, wav_path)


def transcribe(
    wav_path: Path, engines: Sequence[tuple[str, Transcriber]], progress: Progress | None = None
) -> FallbackResult:
    """Engines in order with fallback; the result names the engine that produced it."""
    return transcribe_with_fallback(engines, wav_path, progress=progress or _noop)


def transcript_documents(transcript: Transcript) -> dict[str, str]:
    return {fmt: render_transcript(transcript, fmt) for fmt in TRANSCRIPT_FORMATS}


# --- highlights --------------------------------------------------------------------------------


def find_highlights(
    transcript: Transcript,
    wav_path: Path | None,
    options: ResolvedOptions,
    llm: ChatJsonClient | None = None,
) -> HighlightResult:
    return detect_highlights(
        transcript,
        wav_path=wav_path,
        min_s=options.min_s,
        max_s=options.max_s,
        top_k=options.top_k,
        max_overlap=options.max_overlap,
        min_score=options.min_score,
        # "auto" leaves the choice to detection (MiniLM when installed, else TF-IDF).
        embedder=None if options.embedder == "auto" else choose_embedder(options.embedder)[0],
        llm=llm,
        llm_top_n=options.llm_top_n,
    )


def embedder_label(name: str) -> str:
    return TFIDF_LABEL if name == TFIDF_NAME else name


def reasons_json(reasons: Sequence[Any]) -> list[dict[str, Any]]:
    return [r.model_dump() if hasattr(r, "model_dump") else dict(r) for r in reasons]


def snap_to_words(words: Sequence[Word], start: float, end: float) -> tuple[float, float]:
    """Move `start` to the nearest word start and `end` to the nearest word end, keeping at
    least one word inside. Without words the times are returned unchanged."""
    ws = sorted((w for w in words if w.text.strip()), key=lambda w: w.start)
    if not ws:
        return start, end
    s = min(ws, key=lambda w: (abs(w.start - start), w.start)).start
    later_ends = [w.end for w in ws if w.end > s]
    if not later_ends:
        return s, max(ws[-1].end, s)
    e = min(later_ends, key=lambda x: (abs(x - end), x))
    return round(s, 3), round(e, 3)


# --- render --------------------------------------------------------------------------------------


def render_size(aspect: str, max_short_side: int | None) -> tuple[int, int]:
    """Output size of `aspect`, scaled down so its short side is at most `max_short_side`."""
    w, h = aspect_size(aspect)
    if max_short_side is None or min(w, h) <= max_short_side:
        return w, h
    k = max_short_side / min(w, h)
    return max(16, round(w * k / 2) * 2), max(16, round(h * k / 2) * 2)


@dataclass(frozen=True)
class RenderSpec:
    aspect: str
    caption_style: str
    max_short_side: int | None = None
    watermark: bool = False
    preset: str = "veryfast"
    crf: int = 21
    threads: int | None = None  # ffmpeg -threads (None: ffmpeg decides)
    timeout_s: float | None = None  # a render running longer is killed (render-timeout)
    reframe_fallback: Literal["blur", "center"] = "blur"  # layout when no face is found
    reframe_sample_fps: float = 3.0  # frames per second sampled for face tracking


@dataclass(frozen=True)
class RenderedClip:
    mp4: Path
    jpg: Path
    width: int
    height: int
    duration: float
    size_bytes: int
    layout: str
    thumb_t: float
    command: list[str]  # the ffmpeg render command (diagnostics)
    crop_samples: int  # frames analysed for face tracking


def render_clip_files(
    source: Path,
    info: ProbeResult,
    words: Sequence[Word],
    *,
    start: float,
    end: float,
    spec: RenderSpec,
    out_mp4: Path,
    out_jpg: Path,
    work_dir: Path,
    progress: Progress | None = None,
) -> RenderedClip:
    """Reframe (face-following crop plan), burn word-by-word captions, normalise loudness and
    encode [start, end) in one ffmpeg pass, then pick a thumbnail framed the same way."""
    report = progress or _noop
    width, height = render_size(spec.aspect, spec.max_short_side)
    plan = plan_crop(
        source,
        start=start,
        end=end,
        aspect=spec.aspect,
        fallback=spec.reframe_fallback,
        sample_fps=spec.reframe_sample_fps,
        probe_result=info,
    )
    report(0.15)
    work_dir.mkdir(parents=True, exist_ok=True)
    ass = write_ass(
        words,
        work_dir / f"{out_mp4.stem}.ass",
        clip_start=start,
        clip_end=end,
        width=width,
        height=height,
        style=spec.caption_style,
    )
    result = render_clip(
        source,
        out_mp4,
        start=start,
        end=end,
        crop_plan=plan,
        ass_path=ass,
        width=width,
        height=height,
        aspect=spec.aspect,
        preset=spec.preset,
        crf=spec.crf,
        watermark_text=WATERMARK_TEXT if spec.watermark else None,
        threads=spec.threads,
        timeout_s=spec.timeout_s,
        progress=lambda f: report(0.15 + 0.75 * f),
        source_info=info,
    )
    ass.unlink(missing_ok=True)
    thumb = make_thumbnail(
        source,
        out_jpg,
        start=start,
        end=end,
        crop_plan=plan,
        width=width,
        height=height,
        source_info=info,
    )
    report(1.0)
    return RenderedClip(
        mp4=out_mp4,
        jpg=out_jpg,
        width=result.width,
        height=result.height,
        duration=result.duration,
        size_bytes=result.size_bytes,
        layout=plan.layout,
        thumb_t=thumb.t,
        command=result.command,
        crop_samples=plan.samples,
    )


def slugify(text: str, max_len: int = 40) -> str:
    """ASCII file-name slug of a clip title ("clip" when nothing is left)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_len].rstrip("-") or "clip"
