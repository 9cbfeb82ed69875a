"""Local transcription: Cliply's streamed engine vs faster-whisper called directly.

`transcribe.py wer [...]`: word error rate on real English, Spanish and French recordings,
Cliply's pipeline call next to a plain faster-whisper call (see transcribe_wer.py).
`transcribe.py edges [...]`: clip edges vs the acoustic speech onset/offset on the same
recordings.

Generates a ~10-minute espeak-ng talk, then transcribes it in fresh subprocesses (so peak
memory is per run): once with faster-whisper directly on the file, and with
`LocalTranscriber` (300 s windows, the WHISPER_CHUNK_S default), all with the same tiny.en
model. Compares sequential and batched (BatchedInferencePipeline) decoding at beam 5 and 1,
and the pipeline's default; prints real-time factor (wall and CPU), peak RSS, word error
rate against the generated text and the CPU ratio to the direct call. `--workers 1,2` compares
only the default with that many windows decoded at once (WHISPER_WORKERS), best of `repeat` by
wall time, with the cores kept busy (CPU / wall), the RSS left after the run, and whether the
words and timings are identical.

    uv run python benchmarks/transcribe.py [--minutes 10] [--repeat 2] [--keep DIR]
    uv run python benchmarks/transcribe.py --workers 1,2
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import mediagen  # noqa: E402

CHILD = r"""
import json, os, resource, sys, threading, time
from pathlib import Path
mode, path, kwargs = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3])
# How many of this process's threads are runnable (state R), sampled every 20 ms: what the
# program could use of an idle machine, whatever else shares this one.
runnable: list[int] = []
sampling = threading.Event()
def sample() -> None:
    while not sampling.wait(0.02):
        n = 0
        for tid in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{tid}/stat") as f:
                    n += f.read().rsplit(")", 1)[1].split()[0] == "R"
            except OSError:
                pass  # the thread ended
        runnable.append(n - 1)  # not the sampler itself
from cliply.transcribe.local import DEFAULT_VAD, LocalTranscriber, load_model
# Loading is outside the timed part for both; the engine's own (its workers and threads).
model = (
    load_model(kwargs.get("model"), device=kwargs.get("device", "cpu"),
               compute_type=kwargs.get("compute_type", "int8"))
    if mode == "direct" else LocalTranscriber(**kwargs).choose_model(path, "en")
)
rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0, c0 = time.perf_counter(), time.process_time()
threading.Thread(target=sample, daemon=True).start()
if mode == "direct":
    segments, info = model.transcribe(
        str(path), language="en", beam_size=5, word_timestamps=True, vad_filter=True,
        vad_parameters=dict(DEFAULT_VAD),
    )
    segments = list(segments)
    words = sum(len(s.words or []) for s in segments)
    text = " ".join(s.text.strip() for s in segments)
    decoding = "sequential"
    timed = []
else:
    t = LocalTranscriber(**kwargs).transcribe(path, language="en")
    words, text, decoding = len(t.words()), t.text, t.decoding
    timed = [(w.text, w.start, w.end, w.confidence) for w in t.words()]
elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
sampling.set()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with open("/proc/self/statm") as f:  # resident pages now (after the run), Linux
    end_kb = int(f.read().split()[1]) * resource.getpagesize() // 1024
print(json.dumps({"seconds": elapsed, "cpu": cpu, "peak_kb": peak, "loaded_kb": rss_loaded,
                  "end_kb": end_kb, "runnable": runnable,
                  "words": words, "text": text, "decoding": decoding, "timed": timed}))
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


def make_talk(folder: Path, minutes: float) -> tuple[Path, str]:
    """Varied sentences (repeated text makes Whisper loop and fall back to sampling,
    which would measure noise rather than the pipeline); returns the WAV and its text."""
    rng = random.Random(7)
    sentences: list[str] = []
    # espeak-ng at 150 wpm says one of these in about 4 s.
    for _ in range(int(minutes * 60 / 4.0)):
        s = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(WHEN)}."
        sentences.append(s[0].upper() + s[1:])
    text = " ".join(sentences)
    return mediagen.speech_wav(folder / "talk.wav", text), text


def run(mode: str, path: Path, kwargs: dict[str, Any]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(path), json.dumps(kwargs)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    if sys.argv[1:2] in (["wer"], ["edges"]):
        from benchmarks import transcribe_wer

        entry = transcribe_wer.main if sys.argv[1] == "wer" else transcribe_wer.edges_main
        entry(sys.argv[2:])
        return
    from benchmarks import speech_corpus as sc

    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--keep", type=Path, default=None, help="folder for the generated talk")
    parser.add_argument(
        "--windows", action="store_true", help="also compare 600 s and 120 s windows"
    )
    parser.add_argument(
        "--workers",
        default="",
        help="comma-separated worker counts (e.g. 1,2): compare only the default decoding with "
        "that many windows at once; NxT also sets T CTranslate2 threads per worker",
    )
    parser.add_argument(
        "--device",
        default="cpu",
        help="cpu (default), cuda or auto: where every run loads the model (compute type auto: "
        "int8 on the CPU, float16 on a GPU)",
    )
    parser.add_argument(
        "--model", default=None, help="a CTranslate2 model folder (default: the bundled tiny.en)"
    )
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="cliply-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    talk, reference = make_talk(folder, args.minutes)
    ref_words = sc.normalize(reference, "en")
    duration = mediagen.duration(talk)
    print(
        f"talk: {duration / 60:.1f} min of espeak-ng speech ({time.perf_counter() - t0:.0f} s "
        f"to make), {len(ref_words)} words"
    )
    from cliply.transcribe import gpu

    device, compute_type = gpu.resolve(args.device, "auto")
    print(
        f"model: {args.model or 'bundled tiny.en'}, {device}/{compute_type}, word timestamps, "
        f"VAD; {', '.join(gpu.gpu_names()) or 'no GPU'}; {talk}"
    )
    configs: list[tuple[str, str, dict[str, Any]]] = [
        ("faster-whisper direct, beam 5", "direct", {}),
        ("cliply sequential beam 5", "ours", {"batched": False, "beam_size": 5}),
        ("cliply sequential beam 1", "ours", {"batched": False, "beam_size": 1}),
        ("cliply batched x8 beam 5", "ours", {"batched": True, "beam_size": 5}),
        ("cliply batched x8 beam 1", "ours", {"batched": True, "beam_size": 1}),
        ("cliply default", "ours", {}),
    ]
    counts = [n for n in args.workers.split(",") if n]
    if counts:
        configs = [(f"cliply default, {n} workers", "ours", _workers(n)) for n in counts]
    if args.windows:
        configs += [
            ("cliply default, 600 s windows", "ours", {"chunk_seconds": 600.0}),
            ("cliply default, 120 s windows", "ours", {"chunk_seconds": 120.0}),
        ]
    # The pipeline's window (WHISPER_CHUNK_S default) unless a config says otherwise.
    for _, mode, kwargs in configs:
        kwargs.update(device=device, compute_type=compute_type, model=args.model)
        if mode != "direct":
            kwargs.setdefault("chunk_seconds", 300.0)
    results: dict[str, list[dict[str, Any]]] = {name: [] for name, _, _ in configs}
    loads = [_load()]
    # Interleaved rounds, best of `repeat`: a shared machine's noise only ever adds time.
    for _ in range(args.repeat):
        for name, mode, kwargs in configs:
            results[name].append(run(mode, talk, kwargs))
        loads.append(_load())
    best = "seconds" if counts else "cpu"
    rows = [(name, min(results[name], key=lambda r: r[best])) for name, _, _ in configs]
    direct = rows[0][1]  # the direct call, or with --workers the first count
    print(f"load average (1, 5, 15 min) before and after each round: {' | '.join(loads)}")
    print(
        f"{'run (best of ' + str(args.repeat) + ' by ' + best + ')':32} {'wall s':>7} {'CPU s':>7} "
        f"{'RTF':>6} {'CPU RTF':>7} {'peak MiB':>9} {'words':>6} {'WER %':>6} {'CPU x':>6} "
        f"decoding"
    )
    for name, r in rows:
        w = sc.wer(ref_words, sc.normalize(r["text"], "en"))
        print(
            f"{name:32} {r['seconds']:7.1f} {r['cpu']:7.1f} {r['seconds'] / duration:6.3f} "
            f"{r['cpu'] / duration:7.3f} {r['peak_kb'] / 1024:9.0f} {int(r['words']):6d} "
            f"{100 * w:6.1f} {r['cpu'] / direct['cpu']:6.2f} {r['decoding']}"
        )
    if counts:
        print("runnable threads of the run, share of 20 ms samples (0 / 1 / 2+), and the wall")
        print("time that implies on an idle 2-core machine (CPU s / mean of min(runnable, 2)):")
        for name, r in rows:
            n = r["runnable"] or [1]
            shares = " / ".join(f"{sum(min(x, 2) == k for x in n) / len(n):.0%}" for k in (0, 1, 2))
            busy = sum(min(x, 2) for x in n) / len(n)
            print(
                f"  {name}: {shares}; {r['cpu'] / busy:.1f} s ({busy:.2f} cores); here "
                f"{r['cpu'] / r['seconds']:.2f} cores busy; RSS after the run "
                f"{r['end_kb'] / 1024:.0f} MiB"
            )
        for name, r in rows[1:]:
            same = r["timed"] == direct["timed"]
            print(f"{name} vs {rows[0][0]}: words, times and confidences identical: {same}")
            if not same:
                _diff(direct["timed"], r["timed"])
    print(
        f"(peak RSS after model load alone: {direct['loaded_kb'] / 1024:.0f} MiB; "
        f"this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB)"
    )


def _workers(spec: str) -> dict[str, Any]:
    """ "2" → 2 workers (threads: auto); "2x1" → 2 workers of 1 thread each."""
    workers, _, threads = spec.partition("x")
    return {"workers": int(workers), **({"cpu_threads": int(threads)} if threads else {})}


def _diff(a: list[list[Any]], b: list[list[Any]]) -> None:
    """How two word lists differ: text, then the largest time shift among equal words."""
    ta, tb = [w[0] for w in a], [w[0] for w in b]
    print(f"  words: {len(a)} vs {len(b)}, same text: {ta == tb}")
    if ta == tb:
        shift = max(
            (abs(x[1] - y[1]) + abs(x[2] - y[2]) for x, y in zip(a, b, strict=True)), default=0.0
        )
        print(f"  largest start+end shift: {shift:.3f} s")


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
