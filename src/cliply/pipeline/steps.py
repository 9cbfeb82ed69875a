"""The pipeline's steps as plain functions over local files: no database, no storage, no jobs.

Job handlers (projects.tasks, clips.tasks) and `cliply process` (pipeline.local) both call
these, so probing, transcription, highlight detection and rendering exist once.
"""

from __future__ import annotations

import re
import shutil
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from cliply.errors import CliplyError
from cliply.highlights import TFIDF_NAME, HighlightResult, choose_embedder, detect_highlights
from cliply.highlights.candidates import MIN_CLIP_SPEECH_S
from cliply.highlights.llm import ChatJsonClient
from cliply.highlights.scoring import DEFAULT_WEIGHTS
from cliply.highlights.sentences import speech_seconds
from cliply.media import extract_audio, make_thumbnail, plan_crop, probe, render_clip, validate
from cliply.media.brand import CaptionBrand, LogoOverlay, branded_style
from cliply.media.captionfx import (
    CutPlan,
    EmojiOverlay,
    VoiceActivity,
    cut_words,
    emoji_png,
    is_profane,
    mask_words,
    plan_cuts,
    voice_activity,
)
from cliply.media.captions import (
    CaptionStyle,
    clip_words,
    emoji_box,
    emoji_cues,
    parse_ass,
    write_ass,
)
from cliply.media.export import ClipTimeline
from cliply.media.joins import join_intro_outro
from cliply.media.probe import ProbeResult
from cliply.media.reframe import CropPlan, aspect_size, caption_margins
from cliply.media.render import FrameTap, render_frame
from cliply.media.thumbnails import thumbnail_from_frames
from cliply.pipeline import memory
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
    wav_path: Path,
    engines: Sequence[tuple[str, Transcriber]],
    progress: Progress | None = None,
    *,
    language: str | None = None,
    release_models_after_s: float | None = None,
) -> FallbackResult:
    """Engines in order with fallback; the result names the engine that produced it.
    `language` forces the spoken language (a Whisper code); None detects it.
    Freed memory goes back to the system as the windows go by and at the end; a source at
    least `release_models_after_s` long also drops the cached speech models (None: keep)."""
    result = transcribe_with_fallback(
        engines, wav_path, language=language, progress=memory.trimming(progress or _noop)
    )
    release = memory.should_release(result.transcript.duration, release_models_after_s)
    memory.release_models(speech=release)
    return result


def transcript_documents(transcript: Transcript) -> dict[str, str]:
    return {fmt: render_transcript(transcript, fmt) for fmt in TRANSCRIPT_FORMATS}


class NoSpeech(CliplyError):
    """Nothing in the source was heard as speech: the project cannot have clips."""

    status, code, title = 422, "no-speech", "No speech found"
    retryable = False


class TooLittleSpeech(CliplyError):
    """Some words were heard, but too few to make a clip of."""

    status, code, title = 422, "too-little-speech", "Too little speech"
    retryable = False


NO_SPEECH_MESSAGE = (
    "No speech was found in this video: it is silent, music only, or in a language the "
    "transcription model cannot read, so there is nothing to make clips from."
)


# Below this detection confidence the language guess is reported as unsure.
UNSURE_LANGUAGE = 0.5


def no_speech_message(transcript: Transcript) -> str:
    """NO_SPEECH_MESSAGE, plus what language detection heard when it was unsure."""
    p = transcript.language_probability
    if p is not None and p < UNSURE_LANGUAGE:
        return (
            f"{NO_SPEECH_MESSAGE} Language detection could not tell the language (best guess "
            f"'{transcript.language}' at {p:.0%}); if there is speech, set the language "
            "(project option `language`, or `cliply process --language`)."
        )
    return NO_SPEECH_MESSAGE


def require_speech(transcript: Transcript) -> float:
    """Seconds of speech in the transcript; raises NoSpeech (code no-speech) when none."""
    seconds = speech_seconds(transcript.words())
    if seconds <= 0:
        raise NoSpeech(no_speech_message(transcript))
    return seconds


def require_clips(found: HighlightResult, transcript: Transcript) -> HighlightResult:
    """An empty result always says why: no speech, or too little of it for a clip."""
    if found.highlights:
        return found
    seconds = require_speech(transcript)
    raise TooLittleSpeech(
        f"Only {seconds:.1f} s of speech was found; a clip needs at least "
        f"{MIN_CLIP_SPEECH_S:.0f} s of speech, so no clips were made."
    )


# --- highlights --------------------------------------------------------------------------------


def find_highlights(
    transcript: Transcript,
    wav_path: Path | None,
    options: ResolvedOptions,
    llm: ChatJsonClient | None = None,
    weights: Mapping[str, float] | None = None,
    *,
    release_models_after_s: float | None = None,
) -> HighlightResult:
    """`weights`: a workspace's learnt score weights (None: the defaults); its clips' reasons
    then also show the default points. Freed memory goes back to the system afterwards; a
    transcript at least `release_models_after_s` long also drops the cached embedding model
    (None: keep)."""
    found = detect_highlights(
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
        prompt=options.prompt,
        weights=DEFAULT_WEIGHTS if weights is None else weights,
        baseline=None if weights is None else DEFAULT_WEIGHTS,
    )
    release = memory.should_release(transcript.duration, release_models_after_s)
    memory.release_models(embedding=release)
    return found


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
class BrandSpec:
    """A workspace's brand kit as the render draws it, its files as local paths."""

    captions: CaptionBrand = field(default_factory=CaptionBrand)
    font_path: Path | None = None
    """The caption font file; it sits alone in its folder (libass' fontsdir)."""
    logo: LogoOverlay | None = None
    intro: Path | None = None
    outro: Path | None = None
    digest: str = ""
    """Identifies the kit's settings and files (part of a look's digest)."""

    @property
    def fonts_dir(self) -> Path | None:
        return self.font_path.parent if self.font_path is not None else None


@dataclass(frozen=True)
class RenderSpec:
    """Everything that decides how a clip looks besides its time range: the user's choices
    (aspect, caption style, title overlay, caption word fixes) and the plan's (size cap,
    watermark). The editor's still preview and the render take the same spec."""

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
    overlay_title: str | None = None
    """Hook/title text drawn over the first seconds; None = no overlay."""
    word_edits: tuple[tuple[int, str], ...] = ()
    """(index in the transcript's word list, corrected text) pairs; "" hides the word."""
    thumb_at: float | None = None
    """Thumbnail frame, seconds after the clip's start; None = the best-scoring frame."""
    layout: str = "auto"
    """auto (chosen per scene) or track / split / screen / fit forced (reframe.LAYOUT_CHOICES)."""
    keywords: tuple[str, ...] = ()
    """The clip's keywords (its hashtags): emphasised, and given an emoji, when asked."""
    keyword_emphasis: bool = False
    keyword_emoji: bool = False
    mask_profanity: bool = False
    bleep: bool = False
    """Mute the masked words and play a tone over them (with mask_profanity)."""
    cut_fillers: bool = False
    """Jump cuts: remove filler words (um, uh, euh, äh, ...)."""
    max_silence_s: float | None = None
    """Jump cuts: pauses between words longer than this are shortened; None keeps them."""
    brand: BrandSpec | None = None
    """The workspace's brand kit (None: Cliply's own look)."""


def caption_style_of(spec: RenderSpec) -> str | CaptionStyle:
    """The spec's caption style with its brand applied (the style's name without a brand)."""
    if spec.brand is None:
        return spec.caption_style
    return branded_style(spec.caption_style, spec.brand.captions)


def edited_words(words: Sequence[Word], edits: Sequence[tuple[int, str]]) -> list[Word]:
    """The transcript's words with the user's caption fixes applied (by word index)."""
    out = list(words)
    for index, text in edits:
        if 0 <= index < len(out):
            out[index] = out[index].model_copy(update={"text": text})
    return out


def _caption_file(
    words: Sequence[Word],
    spec: RenderSpec,
    path: Path,
    *,
    start: float,
    end: float,
    width: int,
    height: int,
    margins: Sequence[tuple[float, float, int]] = (),
) -> Path:
    return write_ass(
        edited_words(words, spec.word_edits),
        path,
        clip_start=start,
        clip_end=end,
        width=width,
        height=height,
        style=caption_style_of(spec),
        title=spec.overlay_title,
        margins=margins,
        keywords=spec.keywords if spec.keyword_emphasis else (),
        mask_profanity=spec.mask_profanity,
    )


def export_words(
    words: Sequence[Word],
    spec: RenderSpec,
    *,
    start: float,
    end: float,
    cut: CutPlan | None = None,
) -> list[Word]:
    """The words a clip's subtitle export (SRT of [start, end)) carries: caption fixes applied
    and masked like its captions, and with jump cuts moved to the cut clip's clock (still
    counted from `start`, as the export expects). `cut`: the render's (RenderedClip.cut)."""
    out = edited_words(words, spec.word_edits)
    if spec.mask_profanity:
        out = mask_words(out)
    if cut is None:
        cut = cut_plan(out, spec, start=start, end=end)
    if not cut:
        return out
    return [
        w.model_copy(update={"start": start + w.start, "end": start + w.end})
        for w in cut_words(out, cut, clip_start=start, clip_end=end)
    ]


def cut_plan(
    words: Sequence[Word],
    spec: RenderSpec,
    *,
    start: float,
    end: float,
    voice: VoiceActivity | None = None,
) -> CutPlan:
    """The spec's jump cuts of [start, end) (none unless asked for); `voice`: the clip's
    voiced frames, so cuts keep clear of speech the word times missed."""
    return plan_cuts(
        words,
        clip_start=start,
        clip_end=end,
        fillers=spec.cut_fillers,
        max_silence_s=spec.max_silence_s,
        voice=voice,
    )


def clip_voice(source: Path, spec: RenderSpec, *, start: float, end: float) -> VoiceActivity | None:
    """The clip's voiced frames, read only when the spec asks for jump cuts."""
    if not spec.cut_fillers and spec.max_silence_s is None:
        return None
    return voice_activity(source, start, end)


@dataclass(frozen=True)
class CaptionLayer:
    """What is drawn over the picture: the ASS file, the emoji images, and the jump cuts
    whose timeline both are written on."""

    ass: Path
    cut: CutPlan
    emoji: tuple[EmojiOverlay, ...]
    bleeps: tuple[tuple[float, float], ...] = ()
    """Masked words to bleep (seconds of the cut clip)."""


def caption_layer(
    words: Sequence[Word],
    spec: RenderSpec,
    path: Path,
    *,
    start: float,
    end: float,
    width: int,
    height: int,
    voice: VoiceActivity | None = None,
    plan: CropPlan | None = None,
) -> CaptionLayer:
    """Captions (and emoji) for [start, end) on the jump-cut timeline: with cuts, the words are
    moved to the cut clip's clock and the fillers inside cuts are dropped. With the crop
    `plan`, captions keep clear of the face it shows (or sit on a split's seam)."""
    fixed = edited_words(words, spec.word_edits)
    cut = cut_plan(fixed, spec, start=start, end=end, voice=voice)
    margins = (
        caption_margins(plan, clip_start=start, clip_end=end, width=width, height=height)
        if plan is not None
        else []
    )
    if cut:
        margins = [(cut.map_time(a), cut.map_time(b), m) for a, b, m in margins]
    if cut:
        fixed = cut_words(fixed, cut, clip_start=start, clip_end=end)
        start, end = 0.0, end - start - cut.seconds_removed
    ass = _caption_file(
        fixed,
        replace(spec, word_edits=()),
        path,
        start=start,
        end=end,
        width=width,
        height=height,
        margins=margins,
    )
    cues = emoji_cues(
        fixed,
        clip_start=start,
        clip_end=end,
        style=caption_style_of(spec),
        keywords=spec.keywords if spec.keyword_emoji else (),
    )
    overlays: list[EmojiOverlay] = []
    if cues:
        doc = parse_ass(ass)
        for cue in cues:
            # The line's own margin where the layout moved it clear of a face.
            line_margin = next((m for a, b, m in margins if a <= cue.start < b), None)
            x, y, size = emoji_box(cue, doc, style=caption_style_of(spec), margin_v=line_margin)
            png = emoji_png(cue.emoji, path.parent / "emoji", size)
            if png is not None:
                overlays.append(EmojiOverlay(png, x, y, cue.start, cue.end))
    bleeps = tuple(
        (round(max(0.0, w.start - start), 3), round(min(end, w.end) - start, 3))
        for w in fixed
        if spec.mask_profanity and spec.bleep and w.end > start and w.start < end
        if is_profane(w.text)
    )
    return CaptionLayer(ass, cut, tuple(overlays), bleeps)


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
    captions: Path | None = None
    """The ASS the render burned in (kept only with keep_captions)."""
    loudness_lufs: float | None = None
    crop_plan: CropPlan | None = None
    """The reframe the render followed (for timeline exports)."""
    seconds_removed: float = 0.0
    """Time the jump cuts took out (the clip is that much shorter than end - start)."""
    emoji: tuple[EmojiOverlay, ...] = ()
    """The emoji images drawn over the captions."""
    cut: CutPlan | None = None
    """The jump cuts the render made (for the subtitle export)."""

    def layouts(self) -> list[dict[str, Any]]:
        """The layout of each segment, [{start, end, layout}] in source seconds."""
        return self.crop_plan.scene_report() if self.crop_plan is not None else []


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
    keep_captions: bool = False,
    plan: CropPlan | None = None,
) -> RenderedClip:
    """Reframe (face-following crop plan), burn word-by-word captions, normalise loudness and
    encode [start, end) in one ffmpeg pass, which also hands over the thumbnail candidates
    (framed like the clip, without captions); the best one becomes the thumbnail.
    `plan`: the crop plan when already made (see `plan_clip`), e.g. while another clip renders."""
    report = progress or _noop
    width, height = render_size(spec.aspect, spec.max_short_side)
    plan = plan or plan_clip(source, info, start=start, end=end, spec=spec)
    report(0.15)
    work_dir.mkdir(parents=True, exist_ok=True)
    layer = caption_layer(
        words,
        spec,
        work_dir / f"{out_mp4.stem}.ass",
        start=start,
        end=end,
        width=width,
        height=height,
        voice=clip_voice(source, spec, start=start, end=end),
        plan=plan,
    )
    ass = layer.ass
    joins = spec.brand is not None and (spec.brand.intro or spec.brand.outro)
    tap = (
        thumbnail_tap(work_dir / f"{out_mp4.stem}.thumbs", start, end, spec.thumb_at)
        if THUMBS_FROM_RENDER
        else None
    )
    result = render_clip(
        source,
        work_dir / f"{out_mp4.stem}.main.mp4" if joins else out_mp4,
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
        cut=layer.cut or None,
        emoji=layer.emoji,
        bleeps=layer.bleeps,
        fonts_dir=spec.brand.fonts_dir if spec.brand else None,
        logo=spec.brand.logo if spec.brand else None,
        frame_tap=tap,
    )
    if joins and spec.brand is not None:
        join_intro_outro(
            result.path,
            out_mp4,
            intro=spec.brand.intro,
            outro=spec.brand.outro,
            preset=spec.preset,
            crf=spec.crf,
            threads=spec.threads,
            timeout_s=spec.timeout_s,
        )
        result.path.unlink(missing_ok=True)
        joined = probe(out_mp4)
        result = replace(
            result, path=out_mp4, duration=joined.duration, size_bytes=joined.size_bytes
        )
    if not keep_captions:
        ass.unlink(missing_ok=True)
    try:
        tapped = [(start + t, path) for t, path in result.tap_frames]
        thumb = thumbnail_from_frames(tapped, out_jpg) or make_thumbnail(
            source,
            out_jpg,
            start=start,
            end=end,
            crop_plan=plan,
            width=width,
            height=height,
            source_info=info,
            at=None if spec.thumb_at is None else start + spec.thumb_at,
        )
    finally:
        if tap is not None:
            shutil.rmtree(tap.folder, ignore_errors=True)
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
        captions=ass if keep_captions else None,
        loudness_lufs=result.loudness_lufs,
        crop_plan=plan,
        seconds_removed=layer.cut.seconds_removed,
        emoji=layer.emoji,
        cut=layer.cut,
    )


THUMB_CANDIDATES = 8
# Thumbnail candidates from the render pass (render.FrameTap) instead of a second decode.
# Off: measured on a 25 s 1080x1920 clip, the tapped render cost 26.3 CPU s against 12.3 for
# the plain render (+ about 1.5 for make_thumbnail's own decode); see benchmarks/README.md.
THUMBS_FROM_RENDER = False


def thumbnail_tap(folder: Path, start: float, end: float, thumb_at: float | None) -> FrameTap:
    """Thumbnail candidates from the render pass: `THUMB_CANDIDATES` frames spread over the
    clip (as make_thumbnail spreads them), or the one frame the user chose (`thumb_at`)."""
    length = max(0.0, end - start)
    if thumb_at is not None:
        return FrameTap(folder, min(max(thumb_at, 0.0), max(0.0, length - 0.05)), 1.0, 1)
    step = length / THUMB_CANDIDATES
    return FrameTap(folder, step / 2, step, THUMB_CANDIDATES)


def plan_clip(
    source: Path, info: ProbeResult, *, start: float, end: float, spec: RenderSpec
) -> CropPlan:
    """The face-following crop plan `render_clip_files` renders [start, end) with."""
    return plan_crop(
        source,
        start=start,
        end=end,
        aspect=spec.aspect,
        fallback=spec.reframe_fallback,
        sample_fps=spec.reframe_sample_fps,
        probe_result=info,
        layout=spec.layout,
    )


def clip_timeline(
    name: str,
    source_ref: str,
    info: ProbeResult,
    *,
    start: float,
    end: float,
    width: int,
    height: int,
    plan: CropPlan | None,
) -> ClipTimeline:
    """A rendered clip as a cut of its source, for the editor exports."""
    return ClipTimeline(
        name=name,
        source_url=source_ref,
        source_duration=info.duration,
        fps=info.fps or 30.0,
        source_width=info.display_width,
        source_height=info.display_height,
        start=start,
        end=end,
        out_width=width,
        out_height=height,
        keyframes=plan.keyframes if plan is not None else (),
    )


def preview_time(words: Sequence[Word], start: float, end: float) -> float:
    """Clip time of a frame that shows a caption: the middle of the first spoken word."""
    timed = clip_words(words, start, end)
    if not timed:
        return min(0.5, (end - start) / 2)
    first = timed[min(1, len(timed) - 1)]
    return round(max(0.0, min((first.start + first.end) / 2, end - start - 0.05)), 3)


def preview_frames(
    source: Path,
    info: ProbeResult,
    words: Sequence[Word],
    *,
    start: float,
    end: float,
    specs: Sequence[RenderSpec],
    out_dir: Path,
    plan: CropPlan | None = None,
) -> list[Path]:
    """One still per spec (e.g. each caption style), on the same real frame of the clip and
    drawn the way `render_clip_files` draws it: same crop plan, captions and watermark."""
    if not specs:
        return []
    aspects = {s.aspect for s in specs}
    if len(aspects) != 1:
        raise ValueError("preview_frames takes specs of one aspect")
    crop = plan or plan_crop(
        source,
        start=start,
        end=end,
        aspect=specs[0].aspect,
        probe_result=info,
        layout=specs[0].layout,
    )
    first_at = preview_time(words, start, end)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for i, spec in enumerate(specs):
        width, height = render_size(spec.aspect, spec.max_short_side)
        layer = caption_layer(
            words,
            spec,
            out_dir / f"preview-{i}.ass",
            start=start,
            end=end,
            width=width,
            height=height,
            voice=clip_voice(source, spec, start=start, end=end),
            plan=crop,
        )
        ass = layer.ass
        at = layer.cut.map_time(first_at)  # the same word on the jump-cut clock
        paths.append(
            render_frame(
                source,
                out_dir / f"preview-{i}.jpg",
                start=start,
                at=at,
                crop_plan=crop,
                ass_path=ass,
                width=width,
                height=height,
                watermark_text=WATERMARK_TEXT if spec.watermark else None,
                cut=layer.cut or None,
                emoji=layer.emoji,
                fonts_dir=spec.brand.fonts_dir if spec.brand else None,
                logo=spec.brand.logo if spec.brand else None,
            )
        )
        ass.unlink(missing_ok=True)
    return paths


def slugify(text: str, max_len: int = 40) -> str:
    """ASCII file-name slug of a clip title ("clip" when nothing is left)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_len].rstrip("-") or "clip"
