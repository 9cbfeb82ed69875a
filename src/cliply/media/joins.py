"""Intro and outro clips joined around a rendered clip (the brand kit's), over local files."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from cliply.media.errors import BAD_ARGUMENT, MediaError
from cliply.media.probe import ProbeResult, probe
from cliply.media.render import LOUDNORM
from cliply.media.tools import run_ffmpeg


def _part_graph(i: int, info: ProbeResult, *, width: int, height: int, fps: float) -> str:
    video = (
        f"[{i}:v:0]scale={width}:{height}:force_original_aspect_ratio=decrease,"
        f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:black,setsar=1,fps={fps:.3f},"
        f"format=yuv420p[v{i}]"
    )
    fmt = "aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo"
    if info.has_audio:
        audio = f"[{i}:a:0]{LOUDNORM},{fmt}[a{i}]"
    else:  # a silent intro still needs a sound track for concat
        audio = f"anullsrc=r=48000:cl=stereo,atrim=duration={info.duration:.3f},{fmt}[a{i}]"
    return f"{video};{audio}"


def join_intro_outro(
    clip: Path,
    out: Path,
    *,
    intro: Path | None,
    outro: Path | None,
    preset: str = "veryfast",
    crf: int = 21,
    threads: int | None = None,
    timeout_s: float | None = None,
) -> Path:
    """`intro + clip + outro` into `out`: each part scaled and padded to the clip's size and
    frame rate; the intro's and outro's sound normalised to the clip's loudness target (the
    clip's own sound is already normalised and is passed through)."""
    if intro is None and outro is None:
        raise MediaError("nothing to join", code=BAD_ARGUMENT)
    main = probe(clip)
    width, height = main.display_width, main.display_height
    fps = main.fps or 30.0
    parts = [p for p in (intro, clip, outro) if p is not None]
    graphs: list[str] = []
    labels: list[str] = []
    for i, part in enumerate(parts):
        info = main if part == clip else probe(part)
        if part == clip:
            fmt = "aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo"
            video = f"[{i}:v:0]setsar=1,fps={fps:.3f},format=yuv420p[v{i}]"
            audio = (
                f"[{i}:a:0]{fmt}[a{i}]"
                if info.has_audio
                else f"anullsrc=r=48000:cl=stereo,atrim=duration={info.duration:.3f},{fmt}[a{i}]"
            )
            graphs.append(f"{video};{audio}")
        else:
            graphs.append(_part_graph(i, info, width=width, height=height, fps=fps))
        labels.append(f"[v{i}][a{i}]")
    graph = ";".join(graphs) + f";{''.join(labels)}concat=n={len(parts)}:v=1:a=1[v][a]"
    args = ["-v", "error", "-y"]
    for part in parts:
        args += ["-i", str(part)]
    args += ["-filter_complex", graph, "-map", "[v]", "-map", "[a]"]
    args += ["-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p"]
    args += ["-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2"]
    if threads:
        args += ["-threads", str(threads)]
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=".part.mp4", dir=out.parent)
    os.close(fd)
    args += ["-movflags", "+faststart", "-f", "mp4", tmp]
    try:
        run_ffmpeg(args, timeout=timeout_s)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out
