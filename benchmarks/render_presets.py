"""x264 preset against a quality floor: CPU time, size and SSIM of one clip render per preset.

Makes the ~60 s 1080p talking-head stand-in of benchmarks/render.py, plans the crop, writes
captions, then renders the same 30 s 1080x1920 clip with `render_clip` once per preset (CRF
fixed). SSIM is measured against a lossless (FFV1) render of the same filtergraph, so it
scores the encoder alone. Presets run interleaved, best of `--repeat` kept, so a shared
machine's load hits them alike; the load average is printed with the figures.

    uv run python benchmarks/render_presets.py [--presets ultrafast,superfast,veryfast:21,...]
        [--crf 21] [--repeat 2]

Each entry is a preset, or preset:crf (faster presets at a higher CRF land near the default's
file size, so quality is compared at about equal size too).

ffmpeg here has no libvmaf, so SSIM (All and Y) is the quality figure.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.render import make_source

from cliply.media import build_render_command, plan_crop, probe, render_clip, write_ass

WIDTH, HEIGHT = 1080, 1920
START, END = 10.0, 40.0


def _children_cpu() -> float:
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return kids.ru_utime + kids.ru_stime


def _self_cpu() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    return me.ru_utime + me.ru_stime


def ssim(distorted: Path, reference: Path) -> tuple[float, float]:
    """(SSIM All, SSIM Y) of `distorted` against `reference`, frame by frame."""
    done = subprocess.run(
        [
            *("ffmpeg", "-nostdin", "-hide_banner", "-i", str(distorted), "-i", str(reference)),
            *("-lavfi", "[0:v][1:v]ssim", "-f", "null", "-"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    m = re.search(r"SSIM Y:([\d.]+).*All:([\d.]+)", done.stderr)
    if m is None:
        raise RuntimeError(done.stderr[-500:])
    return float(m.group(2)), float(m.group(1))


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--presets",
        default="ultrafast,superfast,superfast:23,superfast:24,veryfast,veryfast:23,faster",
    )
    ap.add_argument("--crf", type=int, default=21)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    presets = args.presets.split(",")
    work = Path(tempfile.mkdtemp(prefix="cliply-presets-"))
    src, words = make_source(work)
    info = probe(src)
    plan = plan_crop(src, start=START, end=END, aspect="9:16", probe_result=info)
    ass = write_ass(
        words, work / "c.ass", clip_start=START, clip_end=END, width=WIDTH, height=HEIGHT
    )
    # The lossless reference: the render's own picture graph, encoded with FFV1.
    cmd = build_render_command(
        src, work / "x.mp4", start=START, end=END, crop_plan=plan, ass_path=ass,
        width=WIDTH, height=HEIGHT, has_audio=False,
    )  # fmt: skip
    graph = cmd[cmd.index("-filter_complex") + 1]
    reference = work / "reference.mkv"
    subprocess.run(
        [
            *("ffmpeg", "-nostdin", "-v", "error", "-y", "-ss", f"{START:.3f}", "-i", str(src)),
            *("-t", f"{END - START:.3f}", "-filter_complex", graph, "-map", "[v]"),
            *("-c:v", "ffv1", "-f", "matroska", str(reference)),
        ],
        check=True,
    )
    print(f"clip: {END - START:.0f} s at {WIDTH}x{HEIGHT}, CRF {args.crf}; load {load()}")
    best: dict[str, tuple[float, float]] = {}
    for _ in range(args.repeat):
        for preset in presets:
            c0, s0, t0 = _children_cpu(), _self_cpu(), time.perf_counter()
            name, _, crf = preset.partition(":")
            render_clip(
                src, work / f"{preset}.mp4", start=START, end=END, crop_plan=plan,
                ass_path=ass, width=WIDTH, height=HEIGHT, preset=name,
                crf=int(crf) if crf else args.crf, source_info=info,
            )  # fmt: skip
            cpu = _children_cpu() - c0 + _self_cpu() - s0
            wall = time.perf_counter() - t0
            old = best.get(preset)
            best[preset] = (min(cpu, old[0]) if old else cpu, min(wall, old[1]) if old else wall)
    base = best.get("veryfast") or best.get(f"veryfast:{args.crf}")
    print(
        f"{'preset':10} {'CPU s':>7} {'wall s':>7} {'vs veryfast':>11} {'MB':>6} "
        f"{'SSIM All':>9} {'SSIM Y':>8}"
    )
    for preset in presets:
        out = work / f"{preset}.mp4"
        s_all, s_y = ssim(out, reference)
        cpu, wall = best[preset]
        ratio = f"{cpu / base[0]:.2f}x" if base else "-"
        print(
            f"{preset:10} {cpu:7.1f} {wall:7.1f} {ratio:>11} {out.stat().st_size / 1e6:6.2f} "
            f"{s_all:9.4f} {s_y:8.4f}"
        )
    print(f"load after: {load()}  (CPU s: render_clip's ffmpeg children + this process)")


if __name__ == "__main__":
    main()
