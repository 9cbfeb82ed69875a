"""Several audio windows decoded at once (WHISPER_WORKERS): the same transcript as one at a
time, in window order, bounded memory, and a failure or a cancel stops the other windows."""

from __future__ import annotations

import threading
import wave
import weakref
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from cliply.transcribe.audio import SAMPLE_RATE, extract_wav, iter_windows
from cliply.transcribe.base import TranscriptionError
from cliply.transcribe.local import LocalTranscriber, ModelChoice, load_model, worker_plan
from tests.transcribe.conftest import Talk

HANG_GUARD_S = 30.0  # only ever reached when the code under test is broken
ENDLESS = 200_000  # segments a window yields unless it is stopped


def test_two_workers_give_the_same_transcript_as_one(long_talk: Talk, tmp_path: Path) -> None:
    """The ~54 s talk in 12 s windows (at least four model calls): the same segments, words,
    times and confidences whether the windows are decoded one or two at a time."""
    wav = extract_wav(long_talk.wav, tmp_path / "talk16k.wav")
    windows = len(list(iter_windows(wav, 12.0)))
    assert windows >= 4
    runs = {}
    for workers in (1, 2):
        progress: list[float] = []
        engine = LocalTranscriber(chunk_seconds=12.0, workers=workers, cpu_threads=1)
        runs[workers] = engine.transcribe(wav, language="en", progress=progress.append)
        assert progress == sorted(progress) and progress[-1] == 1.0
        assert len([p for p in progress if 0.0 < p < 1.0]) == windows - 1, progress
    assert runs[1].words(), "nothing recognised"
    assert runs[2].segments == runs[1].segments


def test_two_workers_at_the_default_threads_give_the_same_words(long_talk: Talk) -> None:
    """As the pipeline runs them: one worker on CTranslate2's default threads against two
    workers with the cores split between them."""
    one = LocalTranscriber(chunk_seconds=12.0, workers=1).transcribe(long_talk.wav, language="en")
    two = LocalTranscriber(chunk_seconds=12.0, workers=2).transcribe(long_talk.wav, language="en")
    assert two.segments == one.segments


def test_auto_workers() -> None:
    # One decode keeps ~1.4 cores busy: two on the CPU, the cores split between them.
    assert worker_plan(None, "cpu", 0, cores=2) == (2, 1)
    assert worker_plan(None, "cpu", 0, cores=8) == (2, 4)
    assert worker_plan(None, "cpu", 0, cores=1) == (1, 0)
    # An explicit thread count is kept; workers only where the cores allow it.
    assert worker_plan(None, "cpu", 2, cores=2) == (1, 2)
    assert worker_plan(None, "cpu", 2, cores=4) == (2, 2)
    # The GPU runs one (the batched pipeline fills it).
    assert worker_plan(None, "cuda", 0, cores=16) == (1, 0)
    # Explicit counts win; unset threads are split between them on the CPU.
    assert worker_plan(3, "cpu", 0, cores=6) == (3, 2)
    assert worker_plan(1, "cpu", 0, cores=6) == (1, 0)
    assert worker_plan(2, "cuda", 0, cores=6) == (2, 0)
    with pytest.raises(ValueError):
        LocalTranscriber(workers=0)


def test_workers_are_part_of_the_cached_model() -> None:
    one, two = load_model(workers=1), load_model(workers=2)
    assert one is not two and one is load_model(workers=1)
    assert one.model.num_workers == 1 and two.model.num_workers == 2


def test_workers_setting_reaches_the_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    from cliply.pipeline import config
    from tests.conftest import reset_caches

    def local_engine() -> LocalTranscriber:
        reset_caches()
        (engine,) = [e for _, e in config.transcriber_chain() if isinstance(e, LocalTranscriber)]
        return engine

    monkeypatch.delenv("WHISPER_WORKERS", raising=False)
    assert local_engine().workers is None
    monkeypatch.setenv("WHISPER_WORKERS", "3")
    assert local_engine().workers == 3
    monkeypatch.setenv("WHISPER_WORKERS", "auto")
    assert local_engine().workers is None
    reset_caches()


# --- the scheduling, with a stand-in model (no decoding) ------------------------------------


class FakeWhisper:
    """Stands in for `WhisperModel`: knows each window by its first samples and plays the
    script given for it (a generator of segments, run on the worker's thread)."""

    def __init__(self, wav: Path, chunk_s: float) -> None:
        self.index = {w.samples[:64].tobytes(): i for i, w in enumerate(iter_windows(wav, chunk_s))}
        self.scripts: dict[int, Any] = {}
        self.called: list[int] = []
        self.yielded: dict[int, int] = {}
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0
        self.alive: list[weakref.ref[Any]] = []
        self.max_alive = 0

    def transcribe(self, samples: Any, **_: Any) -> tuple[Iterator[Any], Any]:
        i = self.index[samples[:64].tobytes()]
        with self.lock:
            self.called.append(i)
            self.alive = [r for r in self.alive if r() is not None] + [weakref.ref(samples)]
            self.max_alive = max(self.max_alive, len(self.alive))
        return self._run(i), SimpleNamespace(language="en")

    def _run(self, i: int) -> Iterator[Any]:
        with self.lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            for seg in self.scripts.get(i, _segments(i, 1))():
                self.yielded[i] = self.yielded.get(i, 0) + 1
                yield seg
        finally:
            with self.lock:
                self.active -= 1


def _segments(i: int, n: int) -> Any:
    def script() -> Iterator[Any]:
        for k in range(n):
            yield SimpleNamespace(start=float(k), end=k + 0.5, text=f"w{i}.{k}", words=[])

    return script


@pytest.fixture
def noise_wav(tmp_path: Path) -> Path:
    """60 s of quiet noise: 10 s windows, each told apart by its samples."""
    rng = np.random.default_rng(3)
    pcm = (rng.standard_normal(60 * SAMPLE_RATE) * 300).astype(np.int16)
    path = tmp_path / "noise.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm.tobytes())
    return path


def _engine(monkeypatch: pytest.MonkeyPatch, fake: FakeWhisper, workers: int) -> LocalTranscriber:
    engine = LocalTranscriber(chunk_seconds=10.0, workers=workers)
    monkeypatch.setattr(
        engine, "choose_model", lambda wav, language: ModelChoice(fake, "en", "fake", None)
    )
    return engine


def test_segments_come_in_window_order_with_at_most_workers_at_once(
    monkeypatch: pytest.MonkeyPatch, noise_wav: Path
) -> None:
    fake = FakeWhisper(noise_wav, 10.0)
    assert len(fake.index) >= 5
    second_done = threading.Event()

    def first() -> Iterator[Any]:  # the first window finishes after the second
        assert second_done.wait(HANG_GUARD_S), "the second window never ran alongside"
        yield from _segments(0, 3)()

    def second() -> Iterator[Any]:
        yield from _segments(1, 2)()
        second_done.set()

    fake.scripts = {0: first, 1: second}
    progress: list[float] = []
    t = _engine(monkeypatch, fake, 2).transcribe(noise_wav, language="en", progress=progress.append)
    texts = [s.text for s in t.segments]
    assert texts == ["w0.0", "w0.1", "w0.2", "w1.0", "w1.1"] + [
        f"w{i}.0" for i in range(2, len(fake.index))
    ]
    starts = [s.start for s in t.segments]
    assert starts == sorted(starts)  # window offsets applied in order
    assert progress == sorted(progress) and progress[0] == 0.0 and progress[-1] == 1.0
    assert len([p for p in progress if 0.0 < p < 1.0]) == len(fake.index) - 1
    assert fake.max_active == 2
    assert fake.max_alive <= 3  # windows are read as workers free up, not all at once


def test_a_failing_window_stops_the_others(
    monkeypatch: pytest.MonkeyPatch, noise_wav: Path
) -> None:
    fake = FakeWhisper(noise_wav, 10.0)
    first_running = threading.Event()

    def first() -> Iterator[Any]:
        first_running.set()
        yield from _segments(0, ENDLESS)()

    def second() -> Iterator[Any]:
        assert first_running.wait(HANG_GUARD_S)
        raise RuntimeError("CUDA out of memory")
        yield  # a generator, like faster-whisper's

    fake.scripts = {0: first, 1: second}
    with pytest.raises(TranscriptionError) as caught:
        _engine(monkeypatch, fake, 2).transcribe(noise_wav, language="en")
    assert caught.value.code == "local-inference-failed"
    assert "CUDA out of memory" in caught.value.message
    assert fake.active == 0, "a window still decodes after transcribe() raised"
    assert fake.yielded[0] < ENDLESS, "the other window ran to its end"
    assert sorted(fake.called) == [0, 1]  # no window started after the failure


class Cancelled(Exception):
    pass


def test_a_progress_callback_cancelling_stops_the_windows(
    monkeypatch: pytest.MonkeyPatch, noise_wav: Path
) -> None:
    fake = FakeWhisper(noise_wav, 10.0)
    second_running = threading.Event()

    def first() -> Iterator[Any]:
        assert second_running.wait(HANG_GUARD_S)
        yield from _segments(0, 1)()

    def second() -> Iterator[Any]:
        second_running.set()
        yield from _segments(1, ENDLESS)()

    def progress(fraction: float) -> None:
        if fraction > 0.0:
            raise Cancelled

    fake.scripts = {0: first, 1: second}
    try:
        _engine(monkeypatch, fake, 2).transcribe(noise_wav, language="en", progress=progress)
    except Cancelled:
        # Checked while the error (and the frames in its traceback) is alive, as for a
        # caller that logs or keeps it: the windows must be stopped by then already.
        assert fake.active == 0, "a window still decodes after transcribe() raised"
    else:
        pytest.fail("the cancel did not propagate")
    assert fake.yielded.get(1, 0) < ENDLESS, "the other window ran to its end"
    assert sorted(fake.called) == [0, 1]
