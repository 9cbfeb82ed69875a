"""Spoken languages: codes, the packaged multilingual model, detection and transcription."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from pydantic import ValidationError

from cliply.pipeline.options import ClipOptions, language_of
from cliply.transcribe.languages import WHISPER_LANGUAGES, UnknownLanguage, normalize_language
from tests import mediagen

SPANISH = [
    "Buenos días a todos y bienvenidos a esta charla sobre el pan.",
    "La levadura come el azúcar de la masa y produce dióxido de carbono.",
    "Por eso el pan crece en el horno y queda muy suave por dentro.",
]


@pytest.mark.parametrize(
    "given, code",
    [
        (None, None),
        ("auto", None),
        ("", None),
        ("es", "es"),
        ("ES", "es"),
        ("es-MX", "es"),
        ("pt_BR", "pt"),
        ("iw", "he"),
        ("zh-CN", "zh"),
        ("yue", "yue"),
    ],
)
def test_language_codes_are_normalised(given: str | None, code: str | None) -> None:
    assert normalize_language(given) == code


@pytest.mark.parametrize("bad", ["xx", "klingon", "e", "english"])
def test_unknown_language_is_refused_with_the_choices(bad: str) -> None:
    with pytest.raises(UnknownLanguage) as err:
        normalize_language(bad)
    assert err.value.code == "unknown-language" and "es, fr" in err.value.message
    with pytest.raises(ValidationError, match="unknown language"):
        ClipOptions(language=bad)


def test_stored_options_give_the_language_or_detect() -> None:
    assert language_of({"language": "de"}) == "de"
    assert language_of({}) is None and language_of(None) is None
    assert language_of({"language": "nonsense"}) is None  # an old row never breaks a job


@pytest.mark.integration
def test_language_list_matches_the_tokenizer() -> None:
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    assert tuple(_LANGUAGE_CODES) == WHISPER_LANGUAGES


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.mark.integration
def test_multilingual_model_is_joined_checked_and_reused(model_cache: Path) -> None:
    from cliply.transcribe.multilingual import (
        MODEL_BIN_SHA256,
        MODEL_BIN_SIZE,
        multilingual_model_path,
    )

    folder = multilingual_model_path(model_cache)
    model = folder / "model.bin"
    assert model.stat().st_size == MODEL_BIN_SIZE
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    assert digest == MODEL_BIN_SHA256
    assert {p.name for p in folder.iterdir()} == {
        "model.bin",
        "config.json",
        "tokenizer.json",
        "vocabulary.txt",
    }
    stamp = model.stat().st_mtime_ns
    assert multilingual_model_path(model_cache) == folder
    assert model.stat().st_mtime_ns == stamp  # not rebuilt
    with model.open("r+b") as fh:  # a truncated copy (a crash mid-write) is rebuilt
        fh.truncate(1000)
    assert multilingual_model_path(model_cache) == folder
    assert model.stat().st_size == MODEL_BIN_SIZE
    assert not [p for p in model_cache.iterdir() if p.name.startswith(".")]  # no leftovers


@pytest.fixture(scope="session")
def spanish_talk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("spanish")
    return mediagen.speech_wav(folder / "es.wav", " ".join(SPANISH), voice="es")


def _recall(text: str, sentences: list[str]) -> float:
    from tests.transcribe.conftest import norm

    heard = {norm(w) for w in text.split()}
    said = [norm(w) for s in sentences for w in s.split()]
    return sum(1 for w in said if w in heard) / len(said)


@pytest.mark.integration
def test_spanish_is_detected_and_transcribed_by_the_multilingual_model(
    spanish_talk: Path, model_cache: Path
) -> None:
    from cliply.transcribe.local import LocalTranscriber

    engine = LocalTranscriber(model_cache_dir=model_cache)
    t = engine.transcribe(spanish_talk)
    assert t.language == "es" and t.model == "base"
    assert t.language_probability is not None and t.language_probability > 0.5
    assert _recall(t.text, SPANISH) >= 0.6, t.text
    forced = engine.transcribe(spanish_talk, language="es")
    assert forced.language == "es" and forced.language_probability is None
    assert _recall(forced.text, SPANISH) >= 0.6, forced.text


@pytest.mark.integration
def test_english_is_detected_and_kept_on_tiny_en(model_cache: Path, tmp_path: Path) -> None:
    from cliply.transcribe.local import LocalTranscriber

    said = list(mediagen.TOPIC_SENTENCES[0])
    wav = mediagen.speech_wav(tmp_path / "en.wav", " ".join(said))
    t = LocalTranscriber(model_cache_dir=model_cache).transcribe(wav)
    assert t.language == "en" and t.model == "tiny.en"
    assert t.language_probability is not None and t.language_probability > 0.5
    assert _recall(t.text, said) >= 0.7, t.text


def test_unreadable_language_is_no_speech_with_a_sentence() -> None:
    """Speech in a language the model cannot read comes out as no words and an unsure
    detection: the project fails `no-speech` and says what was heard."""
    from cliply.pipeline.steps import NoSpeech, require_speech
    from cliply.transcribe.models import Transcript

    unsure = Transcript(language="cy", language_probability=0.21, segments=[])
    with pytest.raises(NoSpeech) as err:
        require_speech(unsure)
    assert err.value.code == "no-speech"
    assert "best guess 'cy' at 21%" in err.value.message and "--language" in err.value.message
    sure = Transcript(language="es", language_probability=0.97, segments=[])
    with pytest.raises(NoSpeech) as err:
        require_speech(sure)
    assert "best guess" not in err.value.message
