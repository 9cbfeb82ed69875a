"""Boundaries and boilerplate on real recordings with known ground truth.

1. **Speaker/source change detection.** Random sequences of runs (1-3 utterances each) drawn
   from three real sources: a LibriVox reader (16 kHz), the US-English Asterisk voice and the
   Canadian-French Asterisk voice (both 8 kHz telephone prompts), from the Debian packages of
   `speech_corpus.py`. Sentences are the known utterances (no speech model involved), so the
   figures measure the audio side only. A detected change counts as right when it sits at a
   gap where the source really changes. Printed: precision, recall and F1 over all sequences.
2. **Hooks vs boilerplate.** The English corpus of `speech_corpus.py` (the LibriVox reading,
   then shuffled Asterisk prompts; known texts, words spread evenly over each utterance) is
   clipped with `detect_highlights`; printed: how many of the top clips are the real reading
   and where the best prompt clip ranks, with the boilerplate check on and off, and how many
   sentences of each kind the check flags.

    uv run python benchmarks/highlight_boundaries.py [--cache DIR] [--sequences 40]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import wave
from pathlib import Path

import numpy as np
from benchmarks import speech_corpus as sc

from cliply.highlights import TfidfEmbedder, detect_highlights
from cliply.highlights import features as features_module
from cliply.highlights.boilerplate import SentenceBoilerplate
from cliply.highlights.boundaries import find_boundaries
from cliply.highlights.sentences import Sentence
from cliply.transcribe.models import Segment, Transcript, Word


def _sources(root: Path) -> dict[str, list[tuple[Path, str]]]:
    return {
        "librivox": [(p, t + ".") for p, t in sc._librivox(root)],
        "en-prompts": sc._prompts(root, "en"),
        "fr-prompts": sc._prompts(root, "fr"),
    }


def _write(path: Path, parts: list[np.ndarray]) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sc.RATE)
        w.writeframes(np.concatenate(parts).tobytes())


def change_detection(root: Path, sequences: int, seed: int) -> None:
    sources = _sources(root)
    rng = random.Random(seed)
    cache: dict[Path, np.ndarray] = {}
    tp = fp = fn = 0
    gap = np.zeros(int(0.6 * sc.RATE), dtype=np.int16)
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(sequences):
            order: list[str] = []
            while len(order) < 6:
                pick = rng.choice([s for s in sources if not order or s != order[-1]])
                order.append(pick)
            parts: list[np.ndarray] = [gap]
            sentences: list[Sentence] = []
            labels: list[str] = []
            t = gap.size / sc.RATE
            for name in order:
                for path, text in rng.sample(sources[name], rng.randint(1, 3)):
                    if path not in cache:
                        cache[path] = sc._load(path)
                    x = cache[path]
                    sentences.append(
                        Sentence(len(sentences), t, t + x.size / sc.RATE, text, 0, 1, True)
                    )
                    labels.append(name)
                    parts += [x, gap]
                    t += (x.size + gap.size) / sc.RATE
            wav = Path(tmp) / f"seq{i}.wav"
            _write(wav, parts)
            truth = {g for g in range(len(labels) - 1) if labels[g] != labels[g + 1]}
            found = {b.gap for b in find_boundaries(sentences, wav).changes}
            tp += len(truth & found)
            fp += len(found - truth)
            fn += len(truth - found)
    precision = tp / max(1, tp + fp)
    recall = tp / max(1, tp + fn)
    f1 = 2 * precision * recall / max(1e-9, precision + recall)
    print(f"change detection over {sequences} sequences ({tp + fn} true source changes):")
    print(
        f"  precision {precision:.3f}  recall {recall:.3f}  F1 {f1:.3f}  (tp {tp}, fp {fp}, fn {fn})"
    )


def _transcript(corpus: sc.Corpus) -> Transcript:
    segments = []
    for u in corpus.utterances:
        toks = u.text.split()
        slot = (u.end - u.start) / max(1, len(toks))
        words = [
            Word(
                text=w, start=round(u.start + k * slot, 3), end=round(u.start + (k + 0.8) * slot, 3)
            )
            for k, w in enumerate(toks)
        ]
        segments.append(Segment(start=u.start, end=u.end, text=u.text, words=words))
    return Transcript(
        language="en", duration=corpus.duration, engine="reference", segments=segments
    )


def boilerplate_figures(cache: Path, top: int) -> None:
    corpus = sc.build(cache, "en", 150.0)
    # The packaged LibriVox lines have no final punctuation; the sentence splitter wants it.
    corpus = sc.Corpus(
        corpus.language,
        corpus.wav,
        [
            sc.Utterance(u.start, u.end, u.text if u.text[-1] in ".?!" else u.text + ".", u.source)
            for u in corpus.utterances
        ],
    )
    transcript = _transcript(corpus)
    reading = [(u.start, u.end) for u in corpus.utterances if u.source.startswith("sense")]

    def is_reading(start: float, end: float) -> bool:
        inside = sum(max(0.0, min(end, b) - max(start, a)) for a, b in reading)
        return inside >= 0.5 * (end - start)

    kw = {
        "embedder": TfidfEmbedder(),
        "min_s": 5.0,
        "max_s": 20.0,
        "top_k": top,
        "max_overlap": 0.0,
    }
    original = features_module.sentence_boilerplate
    for label in ("boilerplate check on", "boilerplate check off (old behaviour)"):
        if "off" in label:
            features_module.sentence_boilerplate = lambda toks, texts, *a: [  # type: ignore[assignment]
                SentenceBoilerplate((), 0.0) for _ in texts
            ]
        try:
            hs = detect_highlights(transcript, wav_path=corpus.wav, **kw).highlights  # type: ignore[arg-type]
        finally:
            features_module.sentence_boilerplate = original
        ranks = [i + 1 for i, h in enumerate(hs) if is_reading(h.start, h.end)]
        print(f"  {label}: the real reading's clips rank {ranks} of {len(hs)}")
    flagged = {"reading": [0, 0], "prompts": [0, 0]}
    profile_flags = features_module.sentence_boilerplate(
        [u.text.lower().split() for u in corpus.utterances],
        [u.text for u in corpus.utterances],
        "en",
        frozenset(),
    )
    for u, f in zip(corpus.utterances, profile_flags, strict=True):
        key = "reading" if u.source.startswith("sense") else "prompts"
        flagged[key][0] += f.is_boilerplate
        flagged[key][1] += 1
    print(
        f"  flagged as boilerplate: {flagged['prompts'][0]}/{flagged['prompts'][1]} prompts, "
        f"{flagged['reading'][0]}/{flagged['reading'][1]} reading lines"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "cliply-bench")
    parser.add_argument("--sequences", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--top", type=int, default=5)
    args = parser.parse_args()
    root = sc.fetch(args.cache)
    change_detection(root, args.sequences, args.seed)
    print(f"hooks vs boilerplate on the English corpus (top {args.top} clips, 5-20 s):")
    boilerplate_figures(args.cache, args.top)


if __name__ == "__main__":
    main()
