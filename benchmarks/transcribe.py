"""Local transcription: Cliply's streamed engine vs faster-whisper called directly.

`transcribe.py wer [...]`: word error rate on real English, Spanish and French recordings,
Cliply's pipeline call next to a plain faster-whisper call (see transcribe_wer.py).
`transcribe.py edges [...]`: clip edges vs the acoustic speech onset/offset on the same
recordings.

Generates a ~10-minute espeak-ng talk, then transcribes it in fresh subprocesses (so peak
memory is per run): once with faster-whisper directly on the file, and with
`LocalTranscriber` at its default 600 s window and at 120 s windows, all with the same
model and decoding options. Prints real-time factor, peak RSS and the ours/direct ratios.

    uv run python benchmarks/transcribe.py [--minutes 10] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import mediagen  # noqa: E402

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
mode, path, chunk = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3])
from cliply.transcribe.local import DEFAULT_VAD, LocalTranscriber, load_model
model = load_model()  # loading is outside the timed part for both
rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
if mode == "direct":
    segments, info = model.transcribe(
        str(path), language="en", beam_size=5, word_timestamps=True, vad_filter=True,
        vad_parameters=dict(DEFAULT_VAD),
    )
    words = sum(len(s.words or []) for s in segments)
else:
    t = LocalTranscriber(chunk_seconds=chunk).transcribe(path, language="en")
    words = len(t.words())
elapsed = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": elapsed, "peak_kb": peak, "loaded_kb": rss_loaded, "words": words}))
"""


SUBJECTS = [
    "the baker",
    "my neighbour",
    "a young pilot",
    "the old teacher",
    "our manager",
    "the quiet student",
    "a famous painter",
    "the city council",
    "my little brother",
    "the night nurse",
    "a travelling singer",
    "the football coach",
]
VERBS = [
    "repaired",
    "painted",
    "described",
    "carried",
    "ordered",
    "borrowed",
    "cleaned",
    "photographed",
    "returned",
    "measured",
    "delivered",
    "forgot",
]
OBJECTS = [
    "a wooden bicycle",
    "the silver kettle",
    "three green umbrellas",
    "an empty piano",
    "the broken telescope",
    "a basket of apples",
    "the winter garden",
    "two paper lanterns",
    "the harbour map",
    "a pair of boots",
    "the kitchen window",
    "a box of letters",
]
WHEN = [
    "before breakfast",
    "on Sunday morning",
    "after the storm",
    "during the concert",
    "last November",
    "in the afternoon",
    "at midnight",
    "before the market opened",
    "while it was snowing",
    "after a long day",
]


def make_talk(folder: Path, minutes: float) -> Path:
    """Varied sentences (repeated text makes Whisper loop and fall back to sampling,
    which would measure noise rather than the pipeline)."""
    rng = random.Random(7)
    sentences: list[str] = []
    # espeak-ng at 150 wpm says one of these in about 4 s.
    for _ in range(int(minutes * 60 / 4.0)):
        s = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(WHEN)}."
        sentences.append(s[0].upper() + s[1:])
    return mediagen.speech_wav(folder / "talk.wav", " ".join(sentences))


def run(mode: str, path: Path, chunk: float = 600.0) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(path), str(chunk)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    if sys.argv[1:2] in (["wer"], ["edges"]):
        from benchmarks import transcribe_wer

        run = transcribe_wer.main if sys.argv[1] == "wer" else transcribe_wer.edges_main
        run(sys.argv[2:])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--keep", type=Path, default=None, help="folder for the generated talk")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="cliply-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    talk = make_talk(folder, args.minutes)
    duration = mediagen.duration(talk)
    print(
        f"talk: {duration / 60:.1f} min of espeak-ng speech ({time.perf_counter() - t0:.0f} s to make)"
    )
    print(f"model: bundled tiny.en, cpu/int8, beam 5, word timestamps, VAD; {talk}")
    configs = [
        ("faster-whisper direct", "direct", 600.0),
        ("cliply local, 600 s windows", "ours", 600.0),
        ("cliply local, 300 s windows", "ours", 300.0),
        ("cliply local, 120 s windows", "ours", 120.0),
    ]
    results: dict[str, list[dict[str, float]]] = {name: [] for name, _, _ in configs}
    # Interleaved rounds, best of `repeat`: a shared machine's noise only ever adds time.
    for _ in range(args.repeat):
        for name, mode, chunk in configs:
            results[name].append(run(mode, talk, chunk))
    rows = [(name, min(results[name], key=lambda r: r["seconds"])) for name, _, _ in configs]
    direct = rows[0][1]
    print(
        f"{'run':30} {'seconds':>8} {'RTF':>6} {'peak RSS MiB':>13} {'words':>6} "
        f"{'time x':>7} {'mem x':>6}"
    )
    for name, r in rows:
        print(
            f"{name:30} {r['seconds']:8.1f} {r['seconds'] / duration:6.3f} "
            f"{r['peak_kb'] / 1024:13.0f} {int(r['words']):6d} "
            f"{r['seconds'] / direct['seconds']:7.2f} {r['peak_kb'] / direct['peak_kb']:6.2f}"
        )
    print(
        f"(peak RSS after model load alone: {direct['loaded_kb'] / 1024:.0f} MiB; "
        f"this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB)"
    )


if __name__ == "__main__":
    main()
