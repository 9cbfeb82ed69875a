from __future__ import annotations

from pathlib import Path

import pytest

from cliply.transcribe.base import TranscriptionError
from cliply.transcribe.deepgram import DeepgramTranscriber
from cliply.transcribe.local import LocalTranscriber
from cliply.transcribe.openai import OpenAITranscriber
from cliply.transcribe.registry import (
    AllEnginesFailed,
    DeepgramEngineConfig,
    LocalEngineConfig,
    OpenAIEngineConfig,
    build_chain,
    build_transcriber,
    transcribe_with_fallback,
)
from tests.fakes.deepgram import FakeDeepgram
from tests.fakes.openai_audio import FakeOpenAIAudio
from tests.transcribe.conftest import Talk, norm


def test_deepgram_failure_falls_back_to_local(short_talk: Talk) -> None:
    fake = FakeDeepgram()
    with fake.running() as url:
        chain = build_chain(
            ["deepgram", "local"],
            deepgram=DeepgramEngineConfig(api_key="revoked-key", base_url=url),
        )
        transcript, engine, attempts = transcribe_with_fallback(chain, short_talk.wav)
    assert engine == "local" and transcript.engine == "local"
    assert [(a.engine, a.ok, a.code) for a in attempts] == [
        ("deepgram", False, "deepgram-unauthorized"),
        ("local", True, None),
    ]
    assert "Invalid credentials" in (attempts[0].message or "")
    heard = {norm(w.text) for w in transcript.words()}
    said = [norm(x) for _, _, s in short_talk.timeline for x in s.split()]
    assert sum(1 for x in said if x in heard) >= 0.7 * len(said)


def test_first_working_engine_wins(short_talk: Talk) -> None:
    fake = FakeDeepgram()
    with fake.running() as url:
        chain = [
            ("deepgram", DeepgramTranscriber(api_key="dg-test-key", base_url=url)),
            ("local", LocalTranscriber()),
        ]
        result = transcribe_with_fallback(chain, short_talk.wav)
    assert result.engine == "deepgram" and len(result.attempts) == 1
    assert result.transcript.words()[0].text == "Hello"


def test_all_engines_failing(short_talk: Talk, tmp_path: Path) -> None:
    dg, oa = FakeDeepgram(), FakeOpenAIAudio()
    dg.fail_next(500, times=10)
    with dg.running() as dg_url, oa.running() as oa_url:
        chain = [
            (
                "deepgram",
                DeepgramTranscriber(
                    api_key="dg-test-key", base_url=dg_url, max_retries=1, sleep=lambda s: None
                ),
            ),
            ("openai", OpenAITranscriber(api_key="bad", base_url=oa_url)),
            ("local", LocalTranscriber(model=str(tmp_path / "missing-model"))),
        ]
        with pytest.raises(AllEnginesFailed) as err:
            transcribe_with_fallback(chain, short_talk.wav)
    assert err.value.code == "all-engines-failed"
    assert [a.code for a in err.value.attempts] == [
        "deepgram-server-error",
        "openai-unauthorized",
        "model-load-failed",
    ]
    assert err.value.retryable  # the 5xx might clear up later
    assert "deepgram: deepgram-server-error" in err.value.message


def test_missing_input_stops_the_chain() -> None:
    chain = [("local", LocalTranscriber()), ("local2", LocalTranscriber())]
    with pytest.raises(TranscriptionError) as err:
        transcribe_with_fallback(chain, Path("/no/such/file.mp4"))
    assert err.value.code == "audio-not-found"


def test_build_by_name() -> None:
    local = build_transcriber("local", local=LocalEngineConfig(chunk_seconds=120, cpu_threads=2))
    assert isinstance(local, LocalTranscriber) and local.chunk_seconds == 120
    dg = build_transcriber("deepgram", deepgram=DeepgramEngineConfig(api_key="k", diarize=True))
    assert isinstance(dg, DeepgramTranscriber) and dg.diarize
    oa = build_transcriber("openai", openai=OpenAIEngineConfig(api_key="k", base_url="http://x"))
    assert isinstance(oa, OpenAITranscriber) and oa.base_url == "http://x"
    with pytest.raises(TranscriptionError) as err:
        build_transcriber("deepgram")
    assert err.value.code == "engine-not-configured"
    with pytest.raises(TranscriptionError) as err:
        build_transcriber("whisperx")
    assert err.value.code == "unknown-engine"
    chain = build_chain(["deepgram", "openai", "local"], openai=OpenAIEngineConfig(api_key="k"))
    assert [name for name, _ in chain] == ["openai", "local"]
    with pytest.raises(TranscriptionError):
        build_chain(["deepgram"])
