"""End-to-end pipeline benchmark on a generated talk: ingest → transcript → N rendered clips.

    uv run python benchmarks/pipeline.py --minutes 60          # the full hour (long)
    uv run python benchmarks/pipeline.py --minutes 5 --clips 10

The talk is espeak-ng speech (the test topic sentences, looped) over a 1080p picture of a face
moving across the frame, so reframing has someone to follow. It runs the same step functions
the job handlers run (pipeline.steps), with local storage in a temp folder, and prints wall
time per stage and peak memory (this process, and the largest child such as ffmpeg).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.mediagen import TOPIC_SENTENCES, astronaut_png, talk_audio  # noqa: E402

from cliply.pipeline import config, steps  # noqa: E402
from cliply.pipeline.options import ClipOptions  # noqa: E402
from cliply.storage import LocalStorage  # noqa: E402

TIMES: dict[str, float] = {}


@contextmanager
def timed(stage: str) -> Iterator[None]:
    t0 = time.perf_counter()
    yield
    TIMES[stage] = time.perf_counter() - t0
    print(f"  {stage:<22} {TIMES[stage]:8.1f} s", flush=True)


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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--minutes", type=float, default=60.0, help="talk length (default 60)")
    ap.add_argument("--clips", type=int, default=10, help="clips to render (default 10)")
    ap.add_argument("--keep", type=Path, help="reuse/keep the generated talk at this path")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="cliply-bench-"))
    try:
        print(f"generating a {args.minutes:g}-minute 1080p talk ...", flush=True)
        with timed("generate source"):
            if args.keep and args.keep.is_file():
                source = args.keep
            else:
                source = make_talk(work, args.minutes)
                if args.keep:
                    shutil.copy(source, args.keep)
        size_mb = source.stat().st_size / 1e6
        print(f"source: {size_mb:.0f} MB\nstages:")
        storage = LocalStorage(work / "storage", url_secret="bench", public_base_url="/files")
        key = "videos/bench/source.mp4"
        with timed("upload + ingest/probe"):
            with source.open("rb") as fh:
                storage.put_stream(key, fh)
            stored = storage.path_for(key)
            info = steps.inspect_source(stored, config.source_limits(None))
        wav = work / "audio.wav"
        with timed("transcribe"):
            steps.speech_wav(stored, wav)
            result = steps.transcribe(wav, config.transcriber_chain())
        words = result.transcript.words()
        opts = config.clip_options(ClipOptions(top_k=args.clips), None)
        with timed("highlights"):
            found = steps.find_highlights(result.transcript, wav, opts)
        spec = config.render_spec("9:16", "bold")
        with timed(f"render {len(found.highlights)} clips"):
            for i, h in enumerate(found.highlights):
                steps.render_clip_files(
                    stored,
                    info,
                    words,
                    start=h.start,
                    end=h.end,
                    spec=spec,
                    out_mp4=work / f"c{i}.mp4",
                    out_jpg=work / f"c{i}.jpg",
                    work_dir=work,
                )
        processing = sum(v for k, v in TIMES.items() if k != "generate source")
        self_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        clip_s = sum(h.end - h.start for h in found.highlights)
        print(
            f"\nsource {info.duration / 60:.1f} min, {len(words)} words "
            f"(engine {result.engine}), embedder {steps.embedder_label(found.embedder_name)}"
        )
        print(
            f"clips: {len(found.highlights)} totalling {clip_s:.0f} s at "
            f"{steps.render_size('9:16', None)} preset {spec.preset}"
        )
        print(
            f"end-to-end processing: {processing:.1f} s "
            f"({processing / max(info.duration, 1e-9):.3f} s per source second)"
        )
        print(
            f"peak memory: python {self_mb:.0f} MiB; largest child (ffmpeg, an upper bound: "
            f"it counts pages shared at fork) {child_mb:.0f} MiB"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
