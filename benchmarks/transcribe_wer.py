"""Word error rate on real speech: Cliply's pipeline transcription next to a plain
faster-whisper call on the same model and audio (run as `benchmarks/transcribe.py wer`).

For each language a few minutes of real recordings (see speech_corpus.py; fetched from
Debian into --cache, never committed) are joined into one WAV. "plain" is
`WhisperModel(<the model Cliply picked>).transcribe(wav, language=<its language>, beam_size=5)`
with faster-whisper's defaults (no VAD). "cliply" is `LocalTranscriber().transcribe(wav)`, the
pipeline's own call (language detected, the model chosen from it, windows, word timestamps,
VAD), once per VAD setting compared (and per `--workers` count: windows decoded at once).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from benchmarks import speech_corpus as sc

# Decoding settings compared at the default VAD (`--decoding`); batched = faster-whisper's
# BatchedInferencePipeline, forced on here (the pipeline uses it from BATCHED_MIN_SECONDS on).
DECODING_SETTINGS: dict[str, dict[str, Any]] = {
    "sequential beam 5": {"batched": False, "beam_size": 5},
    "sequential beam 1": {"batched": False, "beam_size": 1},
    # The engine's default until 2026-12-03: each 30 s segment prompted with the text before.
    "seq. beam 5 prompted": {"batched": False, "beam_size": 5, "condition_on_previous_text": True},
    "batched x8 beam 5": {"batched": True, "beam_size": 5, "batch_size": 8},
    "batched x8 beam 1": {"batched": True, "beam_size": 1, "batch_size": 8},
}

VAD_SETTINGS: dict[str, dict[str, Any]] = {
    "no VAD": {"vad_filter": False, "vad_parameters": None},
    "VAD 2000ms/400ms pad": {  # faster-whisper's own defaults
        "vad_filter": True,
        "vad_parameters": {"min_silence_duration_ms": 2000, "speech_pad_ms": 400},
    },
    "VAD 500ms/200ms pad": {
        "vad_filter": True,
        "vad_parameters": {"min_silence_duration_ms": 500, "speech_pad_ms": 200},
    },
    "VAD 1000ms/400ms pad": {
        "vad_filter": True,
        "vad_parameters": {"min_silence_duration_ms": 1000, "speech_pad_ms": 400},
    },
}


def plain(model_dir: str, wav: Path, language: str) -> str:
    from cliply.transcribe.local import load_model

    whisper = load_model(model_dir)  # one worker, CTranslate2's default threads
    segments, _ = whisper.transcribe(str(wav), language=language, beam_size=5)
    return " ".join(s.text.strip() for s in segments)


def main(argv: list[str] | None = None) -> None:
    from cliply.transcribe import local
    from cliply.transcribe.multilingual import multilingual_model_path

    parser = argparse.ArgumentParser(prog="transcribe.py wer")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "cliply-bench")
    parser.add_argument("--languages", default="en,es,fr")
    parser.add_argument("--seconds", type=float, default=150.0, help="audio per language")
    parser.add_argument(
        "--vad",
        default="VAD 2000ms/400ms pad",
        help="VAD settings to compare (names, comma-separated): " + ", ".join(VAD_SETTINGS),
    )
    parser.add_argument(
        "--decoding",
        default=",".join(DECODING_SETTINGS),
        help="decoding settings to compare at the first --vad setting: "
        + ", ".join(DECODING_SETTINGS),
    )
    parser.add_argument(
        "--workers",
        default="",
        help="comma-separated worker counts (WHISPER_WORKERS), each run repeated per count; "
        "empty: the engine's auto",
    )
    parser.add_argument(
        "--chunk-s",
        type=float,
        default=None,
        help="window length (the pipeline's WHISPER_CHUNK_S is 300); default: the engine's",
    )
    args = parser.parse_args(argv)
    vad_names = [v for v in args.vad.split(",") if v]
    decoding_names = [d for d in args.decoding.split(",") if d]
    # Every run: (label, LocalTranscriber keyword arguments).
    runs: list[tuple[str, dict[str, Any]]] = [
        (name, {**VAD_SETTINGS[name], **DECODING_SETTINGS["sequential beam 5"]})
        for name in vad_names
    ]
    runs += [
        (name, {**VAD_SETTINGS[vad_names[0]], **DECODING_SETTINGS[name]})
        for name in decoding_names
        if name != "sequential beam 5"
    ]
    counts = [int(n) for n in args.workers.split(",") if n]
    if counts:
        runs = [(f"{name}, {n} workers", {**kw, "workers": n}) for name, kw in runs for n in counts]
    if args.chunk_s:
        runs = [(name, {**kw, "chunk_seconds": args.chunk_s}) for name, kw in runs]
    models = {
        "tiny.en": str(local.bundled_model_path()),
        "base": str(multilingual_model_path(args.cache / "models")),
    }
    rows: list[tuple[str, str, float, str, float, float]] = []
    print(f"load average {_load()}")
    print(
        f"{'lang':4} {'audio':>6} {'model':8} {'run':24} {'WER %':>6} {'seconds':>8} {'CPU s':>7}"
    )
    for lang in args.languages.split(","):
        corpus = sc.build(args.cache, lang, args.seconds)
        ref = sc.normalize(corpus.reference, lang)
        results: list[tuple[str, float, float, float]] = []
        chosen_model = ""
        detected = ""
        texts: dict[str, list[tuple[str, float, float]]] = {}
        for name, kwargs in runs:
            engine = local.LocalTranscriber(model_cache_dir=args.cache / "models", **kwargs)
            # Detection picks the model once (not timed), so every run times decoding alone.
            choice = engine.choose_model(corpus.wav, None)
            t0, c0 = time.perf_counter(), time.process_time()
            t = engine.transcribe(corpus.wav, language=choice.language)
            took, cpu = time.perf_counter() - t0, time.process_time() - c0
            chosen_model = t.model or ""
            texts[name] = [(w.text, w.start, w.end) for w in t.words()]
            detected = f"{choice.language} ({choice.probability or 0:.0%})"
            results.append((f"cliply, {name}", sc.wer(ref, sc.normalize(t.text, lang)), took, cpu))
        t0, c0 = time.perf_counter(), time.process_time()
        text = plain(models[chosen_model], corpus.wav, lang)
        results.insert(
            0,
            (
                "plain faster-whisper",
                sc.wer(ref, sc.normalize(text, lang)),
                time.perf_counter() - t0,
                time.process_time() - c0,
            ),
        )
        for run, w, took, cpu in results:
            print(
                f"{lang:4} {corpus.duration:5.0f}s {chosen_model:8} {run:24} {100 * w:6.1f} "
                f"{took:8.1f} {cpu:7.1f}"
            )
            rows.append((lang, chosen_model, corpus.duration, run, w, took))
        print(
            f"     {len(ref)} reference words, {len(corpus.utterances)} recordings; detected {detected}"
        )
        for name, _ in runs[1:] if counts else []:
            same = texts[name] == texts[runs[0][0]]
            print(f"     {name} vs {runs[0][0]}: words and times identical: {same}")
    print()
    print(f"load average {_load()}")
    print("WER difference, Cliply minus plain faster-whisper (points; goal <= +0.5):")
    for name, _ in runs:
        diffs = []
        for lang in args.languages.split(","):
            base = next(r[4] for r in rows if r[0] == lang and r[3] == "plain faster-whisper")
            ours = next(r[4] for r in rows if r[0] == lang and r[3] == f"cliply, {name}")
            diffs.append(f"{lang} {100 * (ours - base):+.1f}")
        current = (
            " (default VAD)" if name in VAD_SETTINGS and _is_default(VAD_SETTINGS[name]) else ""
        )
        print(f"  {name:24} " + ", ".join(diffs) + current)


def _load() -> str:
    import os

    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _is_default(setting: dict[str, Any]) -> bool:
    from cliply.transcribe.local import LocalTranscriber

    probe = LocalTranscriber()
    if probe.vad_filter != setting["vad_filter"]:
        return False
    return not probe.vad_filter or (probe.vad_parameters or {}) == (setting["vad_parameters"] or {})


if __name__ == "__main__":
    main()


def _voice_span(wav: Path, start: float, end: float) -> tuple[float, float] | None:
    """Where the voice starts and stops inside one recording of the corpus: the first and
    last sample above 3 % of the recording's peak (the recordings are clean studio takes)."""
    import wave

    import numpy as np

    with wave.open(str(wav), "rb") as w:
        rate = w.getframerate()
        w.setpos(int(start * rate))
        x = np.abs(np.frombuffer(w.readframes(int((end - start) * rate)), dtype=np.int16))
    if not x.size:
        return None
    loud = np.flatnonzero(x > 0.03 * x.max())
    return start + loud[0] / rate, start + (loud[-1] + 1) / rate


def edges_main(argv: list[str] | None = None) -> None:
    """Clip edges vs the acoustic speech onset/offset of each real recording: Whisper's
    first/last word times, and the edges Cliply cuts at (speech_edges)."""
    import statistics

    from cliply.highlights.edges import speech_edges
    from cliply.transcribe import local

    parser = argparse.ArgumentParser(prog="transcribe.py edges")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "cliply-bench")
    parser.add_argument("--languages", default="en,es,fr")
    parser.add_argument("--seconds", type=float, default=150.0)
    args = parser.parse_args(argv)
    print("Offsets in ms; start: edge minus voice onset (negative = lead-in, positive = the")
    print("first syllable is cut); end: edge minus voice offset (positive = lead-out).")
    print(
        f"{'lang':4} {'what':22} {'n':>3} {'start med':>9} {'min':>6} {'max':>6} {'cut':>4}"
        f" {'end med':>8} {'min':>6} {'max':>6} {'cut':>4}"
    )
    for lang in args.languages.split(","):
        corpus = sc.build(args.cache, lang, args.seconds)
        t = local.LocalTranscriber(model_cache_dir=args.cache / "models").transcribe(corpus.wav)
        words = t.words()
        rows: dict[str, tuple[list[float], list[float]]] = {
            "whisper words": ([], []),
            "cliply edges": ([], []),
        }
        for u in corpus.utterances:
            span = _voice_span(corpus.wav, u.start, u.end)
            inside = [w for w in words if u.start - 0.3 <= w.start < u.end]
            if span is None or not inside:
                continue
            on, off = span
            first, last = inside[0].start, max(w.end for w in inside)
            e = speech_edges(corpus.wav, words, first, last, corpus.duration + sc.GAP_S)
            rows["whisper words"][0].append(first - on)
            rows["whisper words"][1].append(last - off)
            rows["cliply edges"][0].append(e.start - on)
            rows["cliply edges"][1].append(e.end - off)
        for what, (starts, ends) in rows.items():
            if not starts:
                continue
            ms = [1000 * x for x in starts]
            me = [1000 * x for x in ends]
            print(
                f"{lang:4} {what:22} {len(ms):3d} {statistics.median(ms):9.0f} {min(ms):6.0f} "
                f"{max(ms):6.0f} {sum(x > 20 for x in ms):4d} {statistics.median(me):8.0f} "
                f"{min(me):6.0f} {max(me):6.0f} {sum(x < -20 for x in me):4d}"
            )
    print("cut: edges more than 20 ms inside the voice (start after onset / end before offset)")
