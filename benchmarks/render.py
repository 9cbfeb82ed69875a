"""Render overhead: `render_clip` against a plain ffmpeg command doing the same work.

Makes a ~60 s 1080p talking-head stand-in (espeak-ng speech, the astronaut moving over a lavfi
background), plans the crop, writes captions, then renders a 30 s 1080x1920 clip three ways:

  render_clip   our wrapper: probe, temp file + rename, -progress parsing, face-following crop
  plain         the same ffmpeg command (same face-following crop, captions, loudnorm, encode)
                run bare with subprocess: what render_clip must stay within 1.15x of
  plain fixed   a hand-written ffmpeg command with a fixed centre crop, for reference

Run: uv run python benchmarks/render.py [--preset veryfast] [--repeat 1]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests import mediagen as mg

from cliply.media import build_render_command, plan_crop, probe, render_clip, write_ass
from cliply.transcribe.models import Word


def make_source(d: Path) -> tuple[Path, list[Word]]:
    sentences = [s for topic in mg.TOPIC_SENTENCES for s in topic]
    talk, timeline = mg.talk_audio(d, sentences, gap=0.8)
    words: list[Word] = []
    for start, end, text in timeline:
        tokens = text.split()
        step = (end - start) / len(tokens)
        words += [
            Word(text=tok, start=start + i * step, end=start + (i + 0.8) * step)
            for i, tok in enumerate(tokens)
        ]
    seconds = min(60.0, mg.duration(talk))
    src, _ = mg.moving_face_video(
        d / "talk1080.mp4",
        d,
        seconds=seconds,
        size="1920x1080",
        x_expr="700+350*sin(t/5)",
        y=200,
        audio=talk,
        face_scale=3.0,
    )
    return src, words


def _cpu() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn: object) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process and its finished children).

    CPU time is the steadier figure on a shared machine: other load stretches wall time
    but barely changes the work ffmpeg does."""
    c0, t0 = _cpu(), time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - t0, _cpu() - c0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="veryfast")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="cliply-bench-") as tmp:
        d = Path(tmp)
        t0 = time.perf_counter()
        src, words = make_source(d)
        info = probe(src)
        print(
            f"source: {info.width}x{info.height} {info.duration:.1f} s "
            f"(made in {time.perf_counter() - t0:.1f} s)"
        )
        start, end = 15.0, 45.0
        t0 = time.perf_counter()
        plan = plan_crop(src, start=start, end=end, probe_result=info)
        plan_s = time.perf_counter() - t0
        print(
            f"plan_crop: {plan_s:.2f} s for {end - start:.0f} s of video, layout={plan.layout},"
            f" faces in {plan.face_coverage:.0%} of samples, {len(plan.keyframes)} keyframes"
        )
        ass = write_ass(words, d / "c.ass", clip_start=start, clip_end=end, style="bold")

        same = build_render_command(
            src,
            d / "same.mp4",
            start=start,
            end=end,
            crop_plan=plan,
            ass_path=ass,
            preset=args.preset,
            has_audio=True,
        )
        cw = plan.keyframes[0].w
        plain = [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-ss",
            f"{start}",
            "-i",
            str(src),
            "-t",
            f"{end - start}",
            "-filter_complex",
            f"[0:v]crop={int(cw)}:1080,scale=1080:1920,setsar=1,ass={ass},format=yuv420p[v];"
            "[0:a]loudnorm=I=-14:TP=-1.5:LRA=11,aresample=48000,aformat=channel_layouts=stereo[a]",
            "-map",
            "[v]",
            "-map",
            "[a]",
            "-c:v",
            "libx264",
            "-preset",
            args.preset,
            "-crf",
            "21",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            "-movflags",
            "+faststart",
            str(d / "plain.mp4"),
        ]
        results: dict[str, list[tuple[float, float]]] = {
            "render_clip": [],
            "plain": [],
            "plain fixed": [],
        }
        for _ in range(args.repeat):
            results["plain fixed"].append(timed(lambda: subprocess.run(plain, check=True)))
            results["plain"].append(timed(lambda: subprocess.run(same, check=True)))
            results["render_clip"].append(
                timed(
                    lambda: render_clip(
                        src,
                        d / "ours.mp4",
                        start=start,
                        end=end,
                        crop_plan=plan,
                        ass_path=ass,
                        preset=args.preset,
                        source_info=info,
                    )
                )
            )
        wall = {k: min(w for w, _ in v) for k, v in results.items()}
        cpu = {k: min(c for _, c in v) for k, v in results.items()}
        print(f"30 s clip, 1080x1920, preset {args.preset}, best of {args.repeat}")
        for k in results:
            print(f"{k:12s} wall {wall[k]:7.2f} s   cpu {cpu[k]:7.2f} s")
        for other in ("plain", "plain fixed"):
            print(
                f"ratio render_clip / {other:11s}: wall {wall['render_clip'] / wall[other]:.3f}"
                f"   cpu {cpu['render_clip'] / cpu[other]:.3f}"
            )
        out = probe(d / "ours.mp4")
        print(
            f"output: {out.display_width}x{out.display_height}, {out.duration:.2f} s, "
            f"{out.size_bytes / 1e6:.1f} MB"
        )


if __name__ == "__main__":
    main()
