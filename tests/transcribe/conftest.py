from __future__ import annotations

import re
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests import mediagen


@dataclass(frozen=True)
class Talk:
    wav: Path
    timeline: list[tuple[float, float, str]]  # (start, end, sentence) on the joined audio
    onsets: list[float]  # when speech actually begins inside each sentence's span


def norm(word: str) -> str:
    return re.sub(r"[^a-z0-9']", "", word.lower())


def speech_onsets(wav_path: Path, timeline: list[tuple[float, float, str]]) -> list[float]:
    """First 10 ms frame of each sentence span that is clearly louder than silence
    (espeak-ng puts a little silence before each utterance)."""
    with wave.open(str(wav_path), "rb") as w:
        rate = w.getframerate()
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32)
    threshold = 0.05 * float(np.abs(samples).max())
    onsets = []
    for start, end, _ in timeline:
        span = np.abs(samples[int(start * rate) : int(end * rate)])
        loud = np.nonzero(span > threshold)[0]
        onsets.append(start + (int(loud[0]) / rate if len(loud) else 0.0))
    return onsets


def make_talk(folder: Path, sentences: list[str]) -> Talk:
    folder.mkdir(parents=True, exist_ok=True)
    wav, timeline = mediagen.talk_audio(folder, sentences)
    return Talk(wav, timeline, speech_onsets(wav, timeline))


@pytest.fixture(scope="session")
def long_talk(tmp_path_factory: pytest.TempPathFactory) -> Talk:
    """All topic sentences: about 54 s of speech with 0.6 s pauses."""
    sentences = [s for topic in mediagen.TOPIC_SENTENCES for s in topic]
    return make_talk(tmp_path_factory.mktemp("long_talk"), sentences)


@pytest.fixture(scope="session")
def short_talk(tmp_path_factory: pytest.TempPathFactory) -> Talk:
    return make_talk(tmp_path_factory.mktemp("short_talk"), mediagen.TOPIC_SENTENCES[0])
