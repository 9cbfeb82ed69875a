"""End-to-end pipeline benchmark on a generated talk: ingest → transcript → N rendered clips.

    uv run python benchmarks/pipeline.py --minutes 60          # the full hour (long)
    uv run python benchmarks/pipeline.py --minutes 180 --keep /tmp/talk180.mp4   # memory
    uv run python benchmarks/pipeline.py --minutes 5 --clips 10

The talk is espeak-ng speech (the test topic sentences, looped) over a 1080p picture of a face
moving across the frame, so reframing has someone to follow; talks over 60 minutes are copies
of a 60-minute one joined without re-encoding. It runs the same step functions the job
handlers and `cliply process` run (pipeline.steps, pipeline.batch), with local storage in a
temp folder, and prints per stage: wall time, CPU time (this process and its children) and
peak memory (this process, its largest child such as ffmpeg, and both at once), with the load
average, since the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.mediagen import TOPIC_SENTENCES, astronaut_png, talk_audio  # noqa: E402

from cliply.pipeline import config, steps  # noqa: E402
from cliply.pipeline.batch import ClipRender, render_clips  # noqa: E402
from cliply.pipeline.options import ClipOptions  # noqa: E402
from cliply.pipeline.stagestats import StageMeter  # noqa: E402
from cliply.storage import LocalStorage  # noqa: E402
from cliply.transcribe.local import LocalTranscriber  # noqa: E402


def make_talk(folder: Path, minutes: float) -> Path:
    """A `minutes`-long 1920x1080 talk: looped speech, a face drifting left and right."""
    sentences = [s for topic in TOPIC_SENTENCES for s in topic]
    wav, _ = talk_audio(folder, sentences)
    png, _ = astronaut_png(folder / "face.png")
    seconds = minutes * 60
    out = folder / "talk.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-y",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"color=c=0x304a6e:s=1920x1080:r=25:d={seconds}",
            "-loop",
            "1",
            "-i",
            str(png),
            "-stream_loop",
            "-1",
            "-i",
            str(wav),
            "-filter_complex",
            "[1:v]scale=380:-2[f];[0:v][f]overlay="
            "x='760+500*sin(t/7)':y=300:shortest=1:eval=frame,format=yuv420p[v]",
            "-map",
            "[v]",
            "-map",
            "2:a",
            "-t",
            str(seconds),
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-crf",
            "28",
            "-g",
            "50",
            "-c:a",
            "aac",
            "-b:a",
            "96k",
            str(out),
        ],
        check=True,
    )
    return out


def long_talk(folder: Path, minutes: float, piece_minutes: float = 60.0) -> Path:
    """A talk longer than `piece_minutes` made of copies of one generated piece, joined
    without re-encoding (generating three hours of 1080p would take longer than the run)."""
    if minutes <= piece_minutes:
        return make_talk(folder, minutes)
    piece = make_talk(folder, piece_minutes)
    copies = int(minutes // piece_minutes)
    rest = minutes - copies * piece_minutes
    parts = [piece] * copies
    if rest > 0.01:
        tail = folder / "tail"
        tail.mkdir(exist_ok=True)
        parts.append(make_talk(tail, rest))
    listing = folder / "parts.txt"
    listing.write_text("".join(f"file '{p}'\n" for p in parts))
    out = folder / "long.mp4"
    subprocess.run(
        [
            *("ffmpeg", "-y", "-v", "error", "-f", "concat", "-safe", "0", "-i", str(listing)),
            *("-c", "copy", "-movflags", "+faststart", str(out)),
        ],
        check=True,
    )
    return out


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--minutes", type=float, default=60.0, help="talk length (default 60)")
    ap.add_argument("--clips", type=int, default=10, help="clips to render (default 10)")
    ap.add_argument("--keep", type=Path, help="reuse/keep the generated talk at this path")
    ap.add_argument(
        "--piece-minutes",
        type=float,
        default=60.0,
        help="a longer talk is copies of one piece this long, joined (default 60)",
    )
    ap.add_argument(
        "--language",
        default=None,
        help="force the spoken language (default: detect, as a job does)",
    )
    ap.add_argument(
        "--lookahead",
        type=int,
        default=1,
        help="crop plans made while the previous clip encodes (0: none, the old order)",
    )
    ap.add_argument(
        "--parallel",
        type=int,
        default=None,
        help="clips encoded at once (default: RENDER_CLIPS_AT_ONCE, as `cliply process`)",
    )
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="cliply-bench-"))
    meter = StageMeter()
    try:
        print(f"generating a {args.minutes:g}-minute 1080p talk ...", flush=True)
        t0 = time.perf_counter()
        if args.keep and args.keep.is_file():
            source = args.keep
        else:
            source = long_talk(work, args.minutes, args.piece_minutes)
            if args.keep:
                shutil.copy(source, args.keep)
        print(
            f"source: {source.stat().st_size / 1e6:.0f} MB ({time.perf_counter() - t0:.0f} s "
            f"to make, not counted); load average {load()}",
            flush=True,
        )
        loads = [load()]
        storage = LocalStorage(work / "storage", url_secret="bench", public_base_url="/files")
        key = "videos/bench/source.mp4"
        with meter.stage("upload + ingest/probe"):
            with source.open("rb") as fh:
                storage.put_stream(key, fh)
            stored = storage.path_for(key)
            info = steps.inspect_source(stored, config.source_limits(None))
        wav = work / "audio.wav"
        with meter.stage("extract audio"):
            steps.speech_wav(stored, wav)
        chain = config.transcriber_chain()
        language = args.language
        local = next((e for _, e in chain if isinstance(e, LocalTranscriber)), None)
        if language is None and local is not None:
            # What the TRANSCRIBE job does first when no language is set, timed on its own.
            with meter.stage("detect language"):
                choice = local.choose_model(wav, None)
            language = choice.language
            print(f"  detected {language} ({choice.probability or 0:.0%}) -> {choice.label}")
        loads.append(load())
        with meter.stage("transcribe"):
            result = steps.transcribe(
                wav,
                chain,
                language=language,
                release_models_after_s=config.release_models_after_s(),
            )
        words = result.transcript.words()
        loads.append(load())
        opts = config.clip_options(ClipOptions(top_k=args.clips), None)
        with meter.stage("highlights"):
            found = steps.find_highlights(
                result.transcript, wav, opts, release_models_after_s=config.release_models_after_s()
            )
        spec = config.render_spec("9:16", "bold")
        jobs = [
            ClipRender(h.start, h.end, work / f"c{i}.mp4", work / f"c{i}.jpg")
            for i, h in enumerate(found.highlights)
        ]
        failed = 0
        parallel = args.parallel or config.render_clips_at_once()
        with meter.stage(f"render {len(jobs)} clips"):
            for _, done in render_clips(
                stored,
                info,
                words,
                jobs,
                spec=spec,
                work_dir=work,
                lookahead=args.lookahead,
                parallel=parallel,
            ):
                failed += not isinstance(done, steps.RenderedClip)
        loads.append(load())
        total = meter.total()
        clip_s = sum(h.end - h.start for h in found.highlights)
        print()
        print(meter.table())
        print(
            f"\nsource {info.duration / 60:.1f} min, {len(words)} words (engine {result.engine}, "
            f"model {result.transcript.model}, {result.transcript.decoding or '-'}), "
            f"embedder {steps.embedder_label(found.embedder_name)}"
        )
        print(
            f"clips: {len(found.highlights)} totalling {clip_s:.0f} s at "
            f"{steps.render_size('9:16', None)} preset {spec.preset} crf {spec.crf}, "
            f"{spec.threads} ffmpeg threads, "
            f"lookahead {args.lookahead}, {parallel} at once"
            + (f", {failed} FAILED" if failed else "")
        )
        print(
            f"end-to-end processing: {total.wall_s:.1f} s wall "
            f"({total.wall_s / max(info.duration, 1e-9):.3f} s per source second), "
            f"{total.cpu_s:.1f} s CPU ({total.cpu_s / max(info.duration, 1e-9):.3f} per source s)"
        )
        print(
            f"peak memory of the worker (this process + children at once, upper bound): "
            f"{total.peak_mib:.0f} MiB (python alone {total.self_peak_mib:.0f} MiB, largest "
            f"child {total.child_peak_mib:.0f} MiB); target < 2 GB (1,907 MiB): "
            + ("met" if total.peak_mib < 2e9 / 2**20 else "MISSED")
        )
        print(f"load average (1/5/15 min) at start, after transcribe, at end: {' | '.join(loads)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
