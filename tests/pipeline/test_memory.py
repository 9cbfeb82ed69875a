"""Memory handed back between stages: models released after a long source, malloc trimmed."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cliply.config import get_settings
from cliply.highlights import embeddings
from cliply.media.reframe import static_plan
from cliply.media.render import build_render_command
from cliply.pipeline import config, memory, steps
from cliply.transcribe import local
from cliply.transcribe.base import ProgressCallback
from cliply.transcribe.models import Transcript
from tests.highlights.topics import topic_talk

SPEECH_KEY = ("speech-model", "cpu", "int8", 0, None)
EMBEDDING_KEY = ("embedding-model", "onnx")


@pytest.fixture
def cached_models() -> Iterator[None]:
    """A speech and an embedding model in the per-process caches (stand-ins, not loaded)."""
    speech, embedding = dict(local._models), dict(embeddings._MODEL_CACHE)
    local._models[SPEECH_KEY] = object()
    embeddings._MODEL_CACHE[EMBEDDING_KEY] = object()
    yield
    local._models.clear()
    local._models.update(speech)
    embeddings._MODEL_CACHE.clear()
    embeddings._MODEL_CACHE.update(embedding)


class FakeEngine:
    """Reports progress like the local engine (once per window) and returns `duration`."""

    name = "fake"

    def __init__(self, duration: float) -> None:
        self.duration = duration

    def transcribe(
        self,
        audio_path: Path,
        *,
        language: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> Transcript:
        for fraction in (0.0, 0.5, 1.0):
            if progress is not None:
                progress(fraction)
        return topic_talk().model_copy(update={"duration": self.duration})


def transcribe(duration: float, release_after_s: float | None) -> None:
    steps.transcribe(
        Path("unused.wav"), [("fake", FakeEngine(duration))], release_models_after_s=release_after_s
    )


@pytest.mark.usefixtures("cached_models")
def test_speech_models_are_released_after_a_long_source_only() -> None:
    transcribe(1199.0, 1200.0)
    assert SPEECH_KEY in local._models  # shorter than the setting: kept for the next job
    transcribe(3 * 3600.0, None)
    assert SPEECH_KEY in local._models  # no setting: kept
    transcribe(1200.0, 1200.0)
    assert SPEECH_KEY not in local._models
    # Scoring comes next and still needs its model.
    assert EMBEDDING_KEY in embeddings._MODEL_CACHE


@pytest.mark.usefixtures("cached_models")
def test_embedding_model_is_released_after_scoring_a_long_source() -> None:
    talk = topic_talk()
    options = config.clip_options({}, None, get_settings())

    def detect(duration: float, release_after_s: float | None) -> None:
        transcript = talk.model_copy(update={"duration": duration})
        found = steps.find_highlights(
            transcript, None, options, release_models_after_s=release_after_s
        )
        assert found.highlights

    detect(600.0, 1200.0)
    assert EMBEDDING_KEY in embeddings._MODEL_CACHE
    detect(600.0, 0.0)  # 0: after every source
    assert EMBEDDING_KEY not in embeddings._MODEL_CACHE
    assert SPEECH_KEY in local._models


def test_the_setting_reaches_the_steps() -> None:
    s = get_settings()
    assert config.release_models_after_s(s) == s.release_models_after_s == 1200.0
    changed = s.model_copy(update={"release_models_after_s": 0.0})
    assert config.release_models_after_s(changed) == 0.0


def test_progress_trims_at_most_every_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    trims: list[bool] = []
    monkeypatch.setattr(memory, "trim", lambda collect=True: trims.append(collect) or True)
    seen: list[float] = []
    clock = iter([0.0, 1.0, 6.0, 7.0, 12.5])
    monkeypatch.setattr(memory.time, "monotonic", lambda: next(clock))
    report = memory.trimming(seen.append, every_s=5.0)  # created at 0.0
    for f in (0.25, 0.5, 0.75, 1.0):  # at 1.0, 6.0, 7.0, 12.5 s
        report(f)
    assert seen == [0.25, 0.5, 0.75, 1.0]
    assert trims == [False, False]  # at 6.0 and 12.5; no garbage collection per window


def test_transcription_trims_between_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(memory, "TRIM_EVERY_S", 0.0)
    monkeypatch.setattr(
        memory, "trim", lambda collect=True: calls.append(f"trim {collect}") or True
    )
    steps.transcribe(
        Path("unused.wav"), [("fake", FakeEngine(60.0))], lambda f: calls.append(f"progress {f}")
    )
    # Before each window's report (the engine reports once per window), then after the stage.
    assert calls == [
        *("trim False", "progress 0.0", "trim False", "progress 0.5"),
        *("trim False", "progress 1.0", "trim True"),
    ]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_trim_hands_memory_back_on_glibc() -> None:
    assert memory.trim() is True


def test_render_threads_bound_the_decoder_and_x264() -> None:
    s = get_settings()
    default = config.render_threads(s.model_copy(update={"render_threads": None}))
    assert 2 <= default <= config.DEFAULT_RENDER_THREADS
    assert config.render_spec("9:16", "bold", settings=s).threads == default
    assert config.render_threads(s.model_copy(update={"render_threads": 6})) == 6

    cmd = build_render_command(
        "in.mp4",
        "out.mp4",
        start=1.0,
        end=3.0,
        crop_plan=static_plan(1920, 1080),
        threads=3,
    )
    source = cmd.index("-i")
    encoder = cmd.index("libx264")
    bounds = [i for i, arg in enumerate(cmd) if arg == "-threads"]
    assert [cmd[i + 1] for i in bounds] == ["3", "3"]
    assert bounds[0] < source < encoder < bounds[1]  # decoder (input option), then x264
    unbounded = build_render_command(
        "in.mp4", "out.mp4", start=1.0, end=3.0, crop_plan=static_plan(1920, 1080)
    )
    assert "-threads" not in unbounded
