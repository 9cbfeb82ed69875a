"""Speaker-aware layouts on generated scenes with known ground truth.

One 640x360 video of five scenes joined by hard cuts (tests/layoutgen.py): one face moving,
one face still, two faces taking turns to speak (a mouth that opens and closes in time with a
tone burst), slides plus a face, and no face. The plan (`plan_crop`, layout auto) is made
once over the whole video; every video frame (25 fps) is then checked against the truth:

  layout accuracy      the layout in force at the frame is the scene's expected one
                       (track, track, split, screen, fit)
  speaker in crop      >= 90 % of the speaking face's box is inside a crop window shown
                       (auto; and with the layout forced to track on the two-face scene,
                       where the camera must cut to whoever speaks)
  jitter               mean absolute movement of the crop per frame (px, x+y) on the still
                       speaker (track) and on the two still faces (split panels)
  analysis CPU         CPU seconds of the layout analysis per minute of video, next to the
                       face-only analysis it replaces (faces.analyse at the same 3 fps)

With --frames DIR the whole video is rendered once (one ffmpeg pass, 540x960) and one frame
per layout is saved there as PNG.

Run: uv run python benchmarks/layouts.py [--frames DIR]
"""

from __future__ import annotations

import argparse
import itertools
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests import layoutgen as lg

from cliply.media import render_clip
from cliply.media.faces import Box, analyse
from cliply.media.reframe import CropPlan, crop_at, plan_crop, shows

SCENES = [
    lg.Scene("one", 6.1, bg=(110, 74, 48), move=35.0),
    lg.Scene("one", 5.2, bg=(90, 120, 150), move=0.0),
    lg.Scene("two", 12.4, bg=(60, 110, 70), turn=3.1),
    lg.Scene("screen", 6.3, bg=(70, 60, 120)),
    lg.Scene("none", 5.0, bg=(40, 40, 40)),
]
FPS = 25


def _cpu() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def frame_times(truth: lg.Truth) -> list[float]:
    n = len(truth.speaker)
    return [truth.start + (k + 0.5) / FPS for k in range(n)]


def speaker_in_crop(plan: CropPlan, truths: list[lg.Truth]) -> tuple[int, int]:
    hit = total = 0
    for tr in truths:
        for t in frame_times(tr):
            box = tr.speaking_box(t)
            if box is None:
                continue
            total += 1
            hit += shows(plan, t, Box(*box), share=0.9)
    return hit, total


def jitter(plan: CropPlan, truth: lg.Truth) -> float:
    """Mean |dx|+|dy| per frame over every crop window of the scene (first/last 0.4 s off:
    the cut itself is not jitter)."""
    times = [t for t in frame_times(truth) if truth.start + 0.4 < t < truth.end - 0.4]
    moves: list[float] = []
    for a, b in itertools.pairwise(times):
        sa, sb = plan.segment_at(a), plan.segment_at(b)
        if sa is not sb:
            continue
        for kfs in sa.panels:
            ka, kb = crop_at(kfs, a), crop_at(kfs, b)
            moves.append(abs(kb.x - ka.x) + abs(kb.y - ka.y))
    return sum(moves) / max(1, len(moves))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=Path, help="save one rendered frame per layout here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cliply-layouts-") as tmp:
        src = Path(tmp) / "scenes.mp4"
        truths = lg.make_video(src, SCENES, fps=FPS)
        total_s = truths[-1].end

        c0 = _cpu()
        plan = plan_crop(src, aspect="9:16")
        plan_cpu = _cpu() - c0
        c0 = _cpu()
        analyse(src, start=0.0, end=total_s, src_width=640, src_height=360)
        faces_cpu = _cpu() - c0

        print(f"{len(SCENES)} scenes, {total_s:.1f} s, 640x360, {FPS} fps; plan at 3 fps")
        print("segments:", ", ".join(f"{s.layout} {s.start:.2f}-{s.end:.2f}" for s in plan.scenes))
        print("true cuts:", ", ".join(f"{t.start:.2f}" for t in truths[1:]))
        print()
        print(
            f"{'scene':<18}{'expected':<10}{'layout acc':>11}{'speaker in crop':>17}{'jitter px':>11}"
        )
        all_ok = all_n = 0
        for tr, sc in zip(truths, SCENES, strict=True):
            times = frame_times(tr)
            expected = "track" if tr.kind == "one" else tr.layout
            ok = sum(plan.layout_at(t) == expected for t in times)
            all_ok += ok
            all_n += len(times)
            hit, n = speaker_in_crop(plan, [tr])
            name = f"{tr.kind}" + (
                f" moving {sc.move:g}px/s" if tr.kind == "one" and sc.move else ""
            )
            name += " still" if tr.kind == "one" and not sc.move else ""
            spk = f"{100 * hit / n:.1f} %" if n else "-"
            jit = f"{jitter(plan, tr):.2f}" if tr.kind in ("one", "two") and not sc.move else "-"
            print(f"{name:<18}{expected:<10}{100 * ok / len(times):>10.1f}%{spk:>17}{jit:>11}")
        hit, n = speaker_in_crop(plan, truths)
        print()
        print(f"layout accuracy (all frames): {100 * all_ok / all_n:.1f} %  (goal >= 95 %)")
        print(f"speaking face inside the crop (auto): {100 * hit / n:.1f} %  (goal >= 95 %)")

        two = next(t for t in truths if t.kind == "two")
        forced = plan_crop(src, start=two.start, end=two.end, aspect="9:16", layout="track")
        hit, n = speaker_in_crop(forced, [two])
        print(
            f"speaking face inside the crop, two faces, layout forced to track: "
            f"{100 * hit / n:.1f} %  (goal >= 95 %)"
        )
        still = [t for t, sc in zip(truths, SCENES, strict=True) if t.kind == "one" and not sc.move]
        print(f"jitter on the still speaker: {jitter(plan, still[0]):.2f} px/frame  (goal < 1 px)")
        per_min = 60.0 / total_s
        print(
            f"analysis CPU: {plan_cpu * per_min:.1f} s per minute of video "
            f"(face-only analysis: {faces_cpu * per_min:.1f} s)"
        )

        if args.frames:
            args.frames.mkdir(parents=True, exist_ok=True)
            out = Path(tmp) / "render.mp4"
            render_clip(
                src,
                out,
                start=0.0,
                end=total_s,
                crop_plan=plan,
                width=540,
                height=960,
                preset="ultrafast",
            )
            picks = {"track": truths[0], "split": truths[2], "screen": truths[3], "fit": truths[4]}
            for layout, tr in picks.items():
                t = (tr.start + tr.end) / 2
                png = args.frames / f"layout-{layout}.png"
                subprocess.run(
                    [
                        "ffmpeg",
                        "-v",
                        "error",
                        "-y",
                        "-ss",
                        f"{t:.2f}",
                        "-i",
                        str(out),
                        "-frames:v",
                        "1",
                        str(png),
                    ],
                    check=True,
                )
                print(f"frame: {png}")


if __name__ == "__main__":
    main()
