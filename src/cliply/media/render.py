"""One-pass clip rendering: seek, trim, reframe, burn captions, normalise loudness, encode.

Everything happens in a single ffmpeg process: `-ss` before `-i` (fast keyframe seek, then
exact decode to the start), `-t` for the exact length, one filtergraph for picture and sound,
libx264 + AAC with `+faststart` so platforms can start playback before the download ends.
The output is written under a temporary name and renamed, so a re-render replaces the old file
atomically and a failed one leaves nothing half-written.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cliply.media.brand import LogoOverlay, logo_graph
from cliply.media.captionfx import CutPlan, EmojiOverlay, overlay_filters
from cliply.media.errors import BAD_ARGUMENT, RENDER_FAILED, RENDER_TIMEOUT, MediaError
from cliply.media.probe import ProbeResult, probe
from cliply.media.reframe import ASPECTS, CropPlan, aspect_size, static_plan, video_filter
from cliply.media.tools import (
    check_interrupted,
    escape_filter_value,
    ffmpeg_bin,
    popen,
    run_ffmpeg,
    stderr_tail,
)

__all__ = [
    "ASPECTS",
    "FrameTap",
    "RenderResult",
    "build_render_command",
    "escape_filter_value",
    "render_clip",
    "render_frame",
]

ProgressCallback = Callable[[float], None]

# EBU R128 targets that suit phone playback on social platforms.
TARGET_LUFS = -14.0
LOUDNORM = f"loudnorm=I={TARGET_LUFS:g}:TP=-1.5:LRA=11"
_SILENT_LUFS = -70.0  # quieter than this is silence: there is nothing to normalise


@dataclass(frozen=True)
class RenderResult:
    path: Path
    duration: float
    width: int
    height: int
    has_audio: bool
    size_bytes: int
    command: list[str]
    loudness_lufs: float | None = None
    """Integrated loudness of the rendered clip (None: no audio or silent)."""
    tap_frames: tuple[tuple[float, Path], ...] = ()
    """(clip time, PNG) of the frames a FrameTap took from the render pass."""


@dataclass(frozen=True)
class FrameTap:
    """Frames taken from the render pass itself (reframed, before captions and overlays), for
    thumbnails without a second decode: the first frame at or after `first` seconds of clip
    time, then one each `step` seconds, `count` at most, written as PNGs into `folder`."""

    folder: Path
    first: float
    step: float
    count: int

    def times(self) -> list[float]:
        return [self.first + k * self.step for k in range(self.count)]

    def select(self) -> str:
        # Half a 50 fps frame early is fine (as in faces.sample_frames).
        return (
            f"select='gte(t,{self.first:.3f}+selected_n*{self.step:.3f}-0.01)"
            f"*lt(selected_n,{self.count})'"
        )


def _picture_graph(
    *,
    start: float,
    crop_plan: CropPlan,
    ass_path: str | Path | None,
    width: int | None,
    height: int | None,
    watermark_text: str | None,
    fonts_dir: str | Path | None,
    tail: str = "format=yuv420p",
    logo: LogoOverlay | None = None,
    cut: CutPlan | None = None,
    emoji: Sequence[EmojiOverlay] = (),
    tap: str | None = None,
) -> str:
    """The picture half of the filtergraph ([0:v:0] → [v]): reframe, captions, watermark.
    The render and the editor's still preview both use it, so a preview shows the render."""
    default_w, default_h = aspect_size(crop_plan.aspect)
    out_w, out_h = width or default_w, height or default_h
    if out_w % 2 or out_h % 2 or out_w < 16 or out_h < 16:
        raise MediaError(f"output size {out_w}x{out_h} must be even and >= 16", code=BAD_ARGUMENT)

    chain = video_filter(
        crop_plan,
        clip_start=start,
        width=out_w,
        height=out_h,
        in_label="0:v:0",
        out_label="vr" if logo is None else "vr0",
    )
    if logo is not None:  # the brand's logo, under the captions and the watermark
        chain += ";" + logo_graph(logo, width=out_w, height=out_h, in_label="vr0", out_label="vr")
    # Jump cuts after the reframe (its crop follows the source clock), before the captions
    # (written on the cut timeline).
    post: list[str] = cut.video_filters() if cut else []
    if ass_path is not None:
        opt = f"ass=filename={escape_filter_value(str(ass_path))}"
        if fonts_dir is not None:
            opt += f":fontsdir={escape_filter_value(str(fonts_dir))}"
        post.append(opt)
    if watermark_text:
        size = max(12, round(out_h * 0.022))
        post.append(
            "drawtext=expansion=none"
            f":font={escape_filter_value('DejaVu Sans:style=Bold')}"
            f":text={escape_filter_value(watermark_text)}:fontsize={size}"
            ":fontcolor=white@0.55:shadowcolor=black@0.5:shadowx=2:shadowy=2"
            # Top-left, below the platforms' top bar and clear of the right-hand buttons.
            f":x={round(out_w * 0.05)}:y={round(out_h * 0.10)}"
        )
    if tap is not None:
        # A second output of the reframed picture ([t], source clock: before any cut), e.g.
        # thumbnail candidates. The format pin keeps the chain in YUV: left open, the tap's
        # encoder (PNG, RGB) would have the crop and scale run in RGB for every frame.
        # (taken after the logo, which is part of the picture, as the chain's end: [vr])
        chain = chain.removesuffix("[vr]") + "[vrs]"
        chain += f";[vrs]format=yuv420p,split=2[vr][vrt];[vrt]{tap}[t]"
    if emoji:  # the emoji images go over the captions, before the final scale / format
        drawn = ",".join(post) or "null"
        return f"{chain};[vr]{drawn}[vx];{overlay_filters(emoji, 'vx', 'vy')};[vy]{tail}[v]"
    post.append(tail)
    return f"{chain};[vr]{','.join(post)}[v]"


def build_render_command(
    source: str | Path,
    out_mp4: str | Path,
    *,
    start: float,
    end: float,
    crop_plan: CropPlan,
    ass_path: str | Path | None = None,
    width: int | None = None,
    height: int | None = None,
    has_audio: bool = True,
    loudnorm: bool = True,
    watermark_text: str | None = None,
    preset: str = "veryfast",
    crf: int = 21,
    fonts_dir: str | Path | None = None,
    threads: int | None = None,
    progress: bool = False,
    loudnorm_filter: str | None = None,
    logo: LogoOverlay | None = None,
    cut: CutPlan | None = None,
    emoji: Sequence[EmojiOverlay] = (),
    bleeps: Sequence[tuple[float, float]] = (),
    frame_tap: FrameTap | None = None,
) -> list[str]:
    """The ffmpeg argv that renders [start, end) of `source` to `out_mp4`. `threads` bounds
    the source's decoder and x264 (None: ffmpeg decides, which grows with the cores)."""
    if start < 0 or end <= start:
        raise MediaError(f"bad clip window {start}..{end}", code=BAD_ARGUMENT)
    graph = _picture_graph(
        start=start,
        crop_plan=crop_plan,
        ass_path=ass_path,
        width=width,
        height=height,
        watermark_text=watermark_text,
        fonts_dir=fonts_dir,
        logo=logo,
        cut=cut,
        emoji=emoji,
        tap=frame_tap.select() if frame_tap is not None else None,
    )
    if has_audio:
        audio = f"{loudnorm_filter or LOUDNORM}," if loudnorm else ""
        if cut:
            audio = ",".join(cut.audio_filters()) + "," + audio
        # An explicit layout: loudnorm leaves it open and mono sources then fail to negotiate.
        graph += f";[0:a:0]{audio}aresample=48000,aformat=channel_layouts=stereo[a]"
        if bleeps:
            graph = bleep_audio(graph, bleeps)

    cmd = [ffmpeg_bin(), "-nostdin", "-hide_banner", "-v", "error", "-y"]
    if progress:
        cmd += ["-progress", "pipe:1", "-nostats"]
    if threads:
        # The decoder too: its frame threads each hold frames of the 1080p source.
        cmd += ["-threads", str(threads)]
    if cut:  # stop reading the source at the clip's end; the output is shorter by the cuts
        cmd += ["-ss", f"{start:.3f}", "-t", f"{end - start:.3f}", "-i", str(source)]
        cmd += ["-t", f"{end - start - cut.seconds_removed:.3f}"]
    else:
        cmd += ["-ss", f"{start:.3f}", "-i", str(source), "-t", f"{end - start:.3f}"]
    cmd += ["-filter_complex", graph, "-map", "[v]"]
    if has_audio:
        cmd += ["-map", "[a]", "-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2"]
    cmd += ["-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p"]
    cmd += ["-profile:v", "high", "-map_metadata", "-1", "-map_chapters", "-1"]
    if threads:
        cmd += ["-threads", str(threads)]
    cmd += ["-movflags", "+faststart", "-f", "mp4", str(out_mp4)]
    if frame_tap is not None:
        # Its own -t: without it the tap would keep the graph decoding to the source's end.
        cmd += ["-map", "[t]", "-t", f"{end - start:.3f}", "-fps_mode", "passthrough"]
        cmd += ["-c:v", "png", "-f", "image2", str(frame_tap.folder / "tap-%03d.png")]
    return cmd


BLEEP_HZ = 1000
BLEEP_LEVEL = 0.2  # -14 dBFS: about as loud as speech normalised to -14 LUFS


def bleep_audio(graph: str, bleeps: Sequence[tuple[float, float]]) -> str:
    """The graph with its final audio ([a]) muted during `bleeps` (output seconds) and a
    1 kHz tone played there instead (the masked words of profanity masking)."""
    if not graph.endswith("[a]"):
        raise MediaError("the audio graph has no final [a] output", code=BAD_ARGUMENT)
    during = "+".join(f"between(t,{a:.3f},{b:.3f})" for a, b in bleeps)
    return (
        f"{graph[:-3]},volume=0:enable='{during}'[speech];"
        f"sine=frequency={BLEEP_HZ}:sample_rate=48000,aformat=channel_layouts=stereo,"
        f"volume={BLEEP_LEVEL},volume=0:enable='not({during})'[bleep];"
        "[speech][bleep]amix=inputs=2:duration=first:normalize=0[a]"
    )


def measure_loudness(
    source: str | Path,
    *,
    start: float = 0.0,
    end: float | None = None,
    cut: CutPlan | None = None,
) -> dict[str, float] | None:
    """loudnorm's first-pass measurement of [start, end) of the first audio stream
    (input_i, input_tp, input_lra, input_thresh, target_offset); None when unreadable.
    With `cut`, only the sound the jump cuts keep is measured."""
    args = ["-ss", f"{start:.3f}", "-i", str(source)]
    if end is not None:
        args += ["-t", f"{end - start:.3f}"]
    pre = ",".join(cut.audio_filters()) + "," if cut else ""
    args += ["-map", "0:a:0", "-af", f"{pre}{LOUDNORM}:print_format=json", "-f", "null", "-"]
    text = run_ffmpeg(args)
    at = text.rfind("{")
    try:
        raw = json.loads(text[at : text.rfind("}") + 1]) if at >= 0 else {}
        keys = ("input_i", "input_tp", "input_lra", "input_thresh", "target_offset")
        values = {k: float(raw[k]) for k in keys}
    except (ValueError, KeyError):
        return None
    return values if all(math.isfinite(v) for v in values.values()) else None


def second_pass_filter(measured: dict[str, float] | None) -> str | None:
    """loudnorm with the measured values (so the gain is one linear step); None (the
    single-pass filter) when nothing was measured or the clip is silent."""
    if measured is None or measured["input_i"] < _SILENT_LUFS:
        return None
    return (
        f"{LOUDNORM}:measured_I={measured['input_i']:.2f}:measured_TP={measured['input_tp']:.2f}"
        f":measured_LRA={measured['input_lra']:.2f}"
        f":measured_thresh={measured['input_thresh']:.2f}"
        f":offset={measured['target_offset']:.2f}:linear=true"
    )


def _integrated(path: Path) -> float | None:
    measured = measure_loudness(path)
    if measured is None or measured["input_i"] < _SILENT_LUFS:
        return None
    return round(measured["input_i"], 1)


def render_clip(
    source: str | Path,
    out_mp4: str | Path,
    *,
    start: float,
    end: float,
    crop_plan: CropPlan | None = None,
    ass_path: str | Path | None = None,
    width: int | None = None,
    height: int | None = None,
    aspect: str = "9:16",
    loudnorm: bool = True,
    watermark_text: str | None = None,
    preset: str = "veryfast",
    crf: int = 21,
    fonts_dir: str | Path | None = None,
    threads: int | None = None,
    progress: ProgressCallback | None = None,
    timeout_s: float | None = None,
    source_info: ProbeResult | None = None,
    logo: LogoOverlay | None = None,
    cut: CutPlan | None = None,
    emoji: Sequence[EmojiOverlay] = (),
    bleeps: Sequence[tuple[float, float]] = (),
    frame_tap: FrameTap | None = None,
) -> RenderResult:
    """Render [start, end) seconds of `source` into `out_mp4` in one ffmpeg pass.

    Without `crop_plan` a centred crop of `aspect` is used. `cut` removes stretches (jump
    cuts; clip seconds) and `emoji` draws images (times on the cut timeline). `progress` is called with the
    fraction done (0..1), from ffmpeg's `-progress` output. Size defaults to ASPECTS[aspect].
    `frame_tap`: also write frames of the reframed picture (see FrameTap) in the same pass.
    """
    info = source_info or probe(source)
    if start >= info.duration:
        raise MediaError(
            f"clip start {start} s is past the end ({info.duration} s)", code=BAD_ARGUMENT
        )
    end = min(end, info.duration)
    plan = crop_plan or static_plan(info.display_width, info.display_height, aspect=aspect)
    out = Path(out_mp4)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=".part.mp4", dir=out.parent)
    os.close(fd)
    # Two-pass loudness: measure the clip's sound, then apply those values (linear gain).
    measured = (
        measure_loudness(source, start=start, end=end, cut=cut)
        if loudnorm and info.has_audio
        else None
    )
    cmd = build_render_command(
        source,
        tmp_name,
        start=start,
        end=end,
        crop_plan=plan,
        ass_path=ass_path,
        width=width,
        height=height,
        has_audio=info.has_audio,
        loudnorm=loudnorm,
        watermark_text=watermark_text,
        preset=preset,
        crf=crf,
        fonts_dir=fonts_dir,
        threads=threads,
        progress=True,
        loudnorm_filter=second_pass_filter(measured),
        logo=logo,
        cut=cut,
        emoji=emoji,
        bleeps=bleeps,
        frame_tap=frame_tap,
    )
    if frame_tap is not None:
        frame_tap.folder.mkdir(parents=True, exist_ok=True)
    try:
        kept = end - start - (cut.seconds_removed if cut else 0.0)
        _run_with_progress(cmd, kept, progress, timeout_s)
        os.replace(tmp_name, out)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    result = probe(out)
    return RenderResult(
        path=out,
        duration=result.duration,
        width=result.display_width,
        height=result.display_height,
        has_audio=result.has_audio,
        size_bytes=result.size_bytes,
        command=cmd,
        loudness_lufs=_integrated(out) if result.has_audio else None,
        tap_frames=_tapped(frame_tap),
    )


def _tapped(tap: FrameTap | None) -> tuple[tuple[float, Path], ...]:
    if tap is None:
        return ()
    files = sorted(tap.folder.glob("tap-*.png"))
    return tuple(zip(tap.times(), files, strict=False))


def _run_with_progress(
    cmd: list[str], duration: float, progress: ProgressCallback | None, timeout_s: float | None
) -> None:
    with tempfile.TemporaryFile() as err:
        proc = popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
        assert proc.stdout is not None
        timed_out = threading.Event()

        def expire() -> None:
            timed_out.set()
            proc.kill()

        timer = threading.Timer(timeout_s, expire) if timeout_s else None
        if timer:
            timer.start()
        try:
            for line in proc.stdout:
                key, _, value = line.strip().partition("=")
                if key == "out_time_us" and progress is not None and value.isdigit():
                    progress(min(1.0, int(value) / 1e6 / duration))
            code = proc.wait()
        finally:
            if timer:
                timer.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if timed_out.is_set():
            raise MediaError(f"the render ran longer than {timeout_s:g} s", code=RENDER_TIMEOUT)
        if code != 0:
            err.seek(0)
            text = err.read().decode("utf-8", "replace")
            check_interrupted(cmd, code, text)
            raise MediaError(f"ffmpeg exited with {code}: {stderr_tail(text)}", code=RENDER_FAILED)
    if progress is not None:
        progress(1.0)


def render_frame(
    source: str | Path,
    out_jpg: str | Path,
    *,
    start: float,
    at: float,
    crop_plan: CropPlan,
    ass_path: str | Path | None = None,
    width: int | None = None,
    height: int | None = None,
    watermark_text: str | None = None,
    fonts_dir: str | Path | None = None,
    max_height: int = 960,
    timeout_s: float = 120.0,
    logo: LogoOverlay | None = None,
    cut: CutPlan | None = None,
    emoji: Sequence[EmojiOverlay] = (),
) -> Path:
    """One JPEG of the clip `at` seconds after `start`, drawn by the render's own filtergraph
    (same crop, captions, watermark), then scaled down to at most `max_height` for the page."""
    if start < 0 or at < 0:
        raise MediaError(f"bad preview time {start}+{at}", code=BAD_ARGUMENT)
    default_w, default_h = aspect_size(crop_plan.aspect)
    out_w, out_h = width or default_w, height or default_h
    k = min(1.0, max_height / out_h)
    small_w, small_h = max(2, round(out_w * k / 2) * 2), max(2, round(out_h * k / 2) * 2)
    graph = _picture_graph(
        start=start,
        crop_plan=crop_plan,
        ass_path=ass_path,
        width=width,
        height=height,
        watermark_text=watermark_text,
        fonts_dir=fonts_dir,
        tail=f"scale={small_w}:{small_h}",
        logo=logo,
        cut=cut,
        emoji=emoji,
    )
    out = Path(out_jpg)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=".jpg", dir=out.parent)
    os.close(fd)
    # Input seek to the clip start (so the graph's clock is the clip's, as in the render),
    # then an output seek to the frame: frames before it are filtered and dropped.
    cmd = [ffmpeg_bin(), "-nostdin", "-hide_banner", "-v", "error", "-y"]
    cmd += ["-ss", f"{start:.3f}", "-i", str(source), "-ss", f"{at:.3f}"]
    cmd += ["-filter_complex", graph, "-map", "[v]", "-frames:v", "1", "-q:v", "3"]
    cmd += ["-f", "image2", "-update", "1", tmp_name]
    try:
        done = subprocess.run(cmd, capture_output=True, check=False, timeout=timeout_s)
        if done.returncode != 0 or os.path.getsize(tmp_name) == 0:
            detail = stderr_tail(done.stderr.decode("utf-8", "replace"))
            raise MediaError(f"preview frame failed: {detail}", code=RENDER_FAILED)
        os.replace(tmp_name, out)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return out
