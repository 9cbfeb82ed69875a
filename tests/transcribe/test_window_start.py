"""A window that starts where the pipeline cuts one must not drop sentences.

Found on the benchmark's real English (benchmarks/transcribe.py wer, 600 s): with 300 s windows
the second window, starting at the cut after "...by dialing digits.", fell into Whisper's
run-on segments (no time stamps at sentence ends, segments ending mid-sentence at the 30 s
edges) and, conditioned on its own previous text, stayed in them until a segment's end time
overshot and "You have entered an invalid option. If this is correct, press..." was lost
150 s after the cut (WER 4.0 % against 2.1 % in one window). The same audio, rebuilt here from
the same recordings in the same order, decoded from that cut.
"""

from __future__ import annotations

import random
import wave
from pathlib import Path

import numpy as np
import pytest
from benchmarks import speech_corpus as sc

from cliply.transcribe.audio import SAMPLE_RATE, cut_points
from cliply.transcribe.local import LocalTranscriber
from tests.highlights import recordings

pytestmark = pytest.mark.integration

GAP_S = sc.GAP_S
CORPUS_S = 600.0  # the benchmark's `--seconds 600`


def _write(path: Path, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(samples.tobytes())


def test_the_second_window_keeps_every_sentence(tmp_path: Path) -> None:
    recordings.require_packages()
    root = Path("/")
    items = sc._prompts(root, "en")  # the benchmark's corpus, built the same way
    random.Random(1).shuffle(items)
    items = sc._librivox(root) + items
    gap = np.zeros(int(GAP_S * SAMPLE_RATE), dtype=np.int16)
    pieces, spans, t = [gap], [], GAP_S
    for path, text in items:
        samples = recordings.load(path)
        if t + samples.size / SAMPLE_RATE > CORPUS_S:
            break
        spans.append((t, t + samples.size / SAMPLE_RATE, text))
        pieces += [samples, gap]
        t += samples.size / SAMPLE_RATE + GAP_S
    everything = np.concatenate(pieces)
    _write(tmp_path / "all.wav", everything)
    # The pipeline's second 300 s window, exactly: from the first cut to the next.
    cut, cut2 = cut_points(tmp_path / "all.wav", 300.0)[1:3]
    assert 290 < cut < 300
    _write(tmp_path / "second.wav", everything[int(cut * SAMPLE_RATE) : int(cut2 * SAMPLE_RATE)])
    spans = [s for s in spans if s[1] <= cut2]

    transcript = LocalTranscriber(chunk_seconds=600).transcribe(
        tmp_path / "second.wav", language="en"
    )

    words = [(w.start + cut, w.end + cut, w.text) for w in transcript.words()]
    inside = [s for s in spans if s[0] >= cut]
    assert len(inside) >= 30
    ref: list[str] = []
    for i, (start, end, text) in enumerate(inside):
        before = inside[i - 1][1] if i else cut
        after = inside[i + 1][0] if i + 1 < len(inside) else end + 1.0
        heard = sc.normalize(
            " ".join(w for s, _, w in words if (before + start) / 2 <= s < (end + after) / 2),
            "en",
        )
        said = sc.normalize(text, "en")
        found = sum(1 for x in said if x in heard)
        assert found >= len(said) / 2, (start, text, heard)  # no sentence dropped
        ref += said
    hyp = sc.normalize(" ".join(w for s, _, w in words if s >= inside[0][0] - 0.4), "en")
    assert sc.wer(ref, hyp) < 0.04


def test_window_cuts_lose_and_double_no_words(tmp_path: Path) -> None:
    """Real speech (a reading, then phone prompts) in 30 s windows against one window: around
    every cut the same words, none lost at the edge of a window or heard twice."""
    wav = tmp_path / "talk.wav"
    recordings.join(wav, recordings.reading() + recordings.prompts())
    cuts = cut_points(wav, 30.0)[1:]
    assert len(cuts) >= 2
    whole = LocalTranscriber(chunk_seconds=600).transcribe(wav, language="en").words()
    split = LocalTranscriber(chunk_seconds=30).transcribe(wav, language="en").words()
    for cut in cuts:
        near = [
            [
                sc.normalize(w.text, "en")
                for w in words
                if cut - 4 <= (w.start + w.end) / 2 < cut + 4
            ]
            for words in (whole, split)
        ]
        assert near[0] and near[0] == near[1], (cut, near)
    starts = [w.start for w in split]
    assert starts == sorted(starts)
    assert abs(len(split) - len(whole)) <= 2
