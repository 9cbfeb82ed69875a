"""Batched decoding (faster-whisper's BatchedInferencePipeline) for long sources: chosen by
length, and its words keep their timing."""

from __future__ import annotations

from pathlib import Path

import pytest

from cliply.transcribe.audio import extract_wav
from cliply.transcribe.local import BATCHED_MIN_SECONDS, LocalTranscriber
from tests import mediagen
from tests.transcribe.conftest import Talk
from tests.transcribe.test_local_engine import check_words_and_timing


def test_long_sources_are_batched_on_a_gpu_short_ones_not() -> None:
    engine = LocalTranscriber()
    assert engine.uses_batched(BATCHED_MIN_SECONDS, "cuda")
    assert engine.uses_batched(3 * 3600.0, "cuda")
    assert not engine.uses_batched(BATCHED_MIN_SECONDS - 1, "cuda")
    # On the CPU sequential decoding is as fast at equal WER (benchmarks/README.md).
    assert not engine.uses_batched(3 * 3600.0, "cpu")
    # Forced either way, and never without VAD (the batched pipeline cuts its chunks by VAD).
    assert LocalTranscriber(batched=True).uses_batched(10.0)
    assert not LocalTranscriber(batched=False).uses_batched(3 * 3600.0)
    assert not LocalTranscriber(vad_filter=False, vad_parameters=None).uses_batched(3 * 3600.0)
    with pytest.raises(ValueError):
        LocalTranscriber(batch_size=0)


def test_batched_path_keeps_words_and_their_timing(long_talk: Talk) -> None:
    """The ~54 s talk through the batched pipeline (in 20 s windows, so the window offsets
    are applied too): its words are timed like the sequential decoder's."""
    batched = LocalTranscriber(batched=True, chunk_seconds=20.0)
    transcript = batched.transcribe(long_talk.wav, language="en")
    assert transcript.decoding == "batched x8"
    check_words_and_timing(transcript, long_talk)
    for segment in transcript.segments:
        assert segment.words, segment.text
        assert segment.start - 0.5 <= segment.words[0].start
        assert segment.words[-1].end <= segment.end + 0.5
    sequential = LocalTranscriber(batched=False).transcribe(long_talk.wav, language="en")
    assert sequential.decoding == "sequential"
    assert abs(len(transcript.words()) - len(sequential.words())) <= 0.1 * len(sequential.words())


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.mark.integration
def test_language_model_is_freed_after_it_only_detected_english(
    model_cache: Path, tmp_path: Path
) -> None:
    from cliply.transcribe import local
    from cliply.transcribe.multilingual import multilingual_model_path

    said = mediagen.speech_wav(tmp_path / "en.wav", " ".join(mediagen.TOPIC_SENTENCES[0]))
    wav = extract_wav(said, tmp_path / "en16k.wav")  # what transcribe() hands choose_model
    base = str(multilingual_model_path(model_cache))

    def cached_refs() -> set[str]:
        return {key[0] for key in local._models}

    choice = LocalTranscriber(model_cache_dir=model_cache).choose_model(wav, None)
    assert choice.language == "en" and choice.label == "tiny.en"
    assert base not in cached_refs()
    kept = LocalTranscriber(model_cache_dir=model_cache, keep_language_model=True)
    assert kept.choose_model(wav, None).language == "en"
    assert base in cached_refs()
    local.forget_model(kept.choose_model(wav, "fr").whisper)  # the one it kept
    assert base not in cached_refs()


def test_beam_and_batching_settings_reach_the_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    from cliply.pipeline import config
    from tests.conftest import reset_caches

    def local_engine() -> LocalTranscriber:
        reset_caches()
        (engine,) = [e for _, e in config.transcriber_chain() if isinstance(e, LocalTranscriber)]
        return engine

    monkeypatch.delenv("WHISPER_BEAM_SIZE", raising=False)
    monkeypatch.delenv("WHISPER_BATCHED", raising=False)
    monkeypatch.delenv("WHISPER_CONDITION_ON_PREVIOUS_TEXT", raising=False)
    default = local_engine()
    assert default.beam_size == 5 and default.batched is None
    assert default.condition_on_previous_text is False
    monkeypatch.setenv("WHISPER_BEAM_SIZE", "1")
    monkeypatch.setenv("WHISPER_BATCHED", "on")
    monkeypatch.setenv("WHISPER_CONDITION_ON_PREVIOUS_TEXT", "true")
    tuned = local_engine()
    assert tuned.beam_size == 1 and tuned.batched is True
    assert tuned.condition_on_previous_text is True
    monkeypatch.setenv("WHISPER_BATCHED", "off")
    assert local_engine().batched is False
    reset_caches()
