"""Deepgram and OpenAI engines against local fake servers speaking their protocols."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cliply.integrations.deepgram import DeepgramClient, DeepgramError, parse_retry_after
from cliply.integrations.openai_audio import OpenAIAudioClient, OpenAIAudioError
from cliply.transcribe.base import TranscriptionError
from cliply.transcribe.deepgram import DeepgramTranscriber, transcript_from_response
from cliply.transcribe.formats import sentences
from cliply.transcribe.openai import OpenAITranscriber
from tests.fakes.deepgram import FakeDeepgram
from tests.fakes.openai_audio import FakeOpenAIAudio
from tests.transcribe.conftest import Talk


@pytest.fixture
def deepgram() -> Iterator[tuple[FakeDeepgram, str]]:
    fake = FakeDeepgram()
    with fake.running() as url:
        yield fake, url


@pytest.fixture
def openai() -> Iterator[tuple[FakeOpenAIAudio, str]]:
    fake = FakeOpenAIAudio()
    with fake.running() as url:
        yield fake, url


# --- Deepgram ---------------------------------------------------------------------------


def test_deepgram_request_and_mapping(deepgram: tuple[FakeDeepgram, str], short_talk: Talk) -> None:
    fake, url = deepgram
    progress: list[float] = []
    engine = DeepgramTranscriber(api_key="dg-test-key", base_url=url, diarize=True)
    t = engine.transcribe(short_talk.wav, language="en", progress=progress.append)
    (req,) = fake.received
    assert req.headers["authorization"] == "Token dg-test-key"
    assert req.headers["content-type"] == "audio/ogg"
    assert req.body.startswith(b"OggS")  # compressed audio, not the source file
    assert int(req.headers["content-length"]) == len(req.body)
    assert req.query == {
        "model": "nova-2",
        "smart_format": "true",
        "punctuate": "true",
        "utterances": "true",
        "diarize": "true",
        "language": "en",
    }
    assert t.engine == "deepgram" and t.model == "nova-2" and t.language == "en"
    assert [s.text for s in t.segments] == ["Hello and welcome.", "Today we bake bread!"]
    assert [s.speaker for s in t.segments] == ["0", "1"]
    first = t.words()[0]
    assert (first.text, first.start, first.end, first.speaker) == ("Hello", 0.32, 0.64, "0")
    assert first.confidence == pytest.approx(0.98)
    assert [s.text for s in sentences(t)] == ["Hello and welcome.", "Today we bake bread!"]
    assert progress[-1] == 1.0 and progress == sorted(progress)


def test_deepgram_without_utterances_cuts_segments_at_sentences() -> None:
    spoken = ["One", "two.", "Three", "four."]
    words = [
        {"word": w.strip(".").lower(), "punctuated_word": w, "start": i, "end": i + 0.5}
        for i, w in enumerate(spoken)
    ]
    alternative = {"transcript": "", "words": words}
    data = {
        "metadata": {"duration": 4.0},
        "results": {"channels": [{"alternatives": [alternative]}]},
    }
    t = transcript_from_response(data, model="nova-2", language=None)
    assert [s.text for s in t.segments] == ["One two.", "Three four."]
    assert t.duration == 4.0
    with pytest.raises(TranscriptionError) as err:
        transcript_from_response({"results": {}}, model="nova-2", language=None)
    assert err.value.code == "deepgram-bad-response"


def test_deepgram_bad_key_is_not_retried(
    deepgram: tuple[FakeDeepgram, str], short_talk: Talk
) -> None:
    fake, url = deepgram
    sleeps: list[float] = []
    engine = DeepgramTranscriber(api_key="wrong", base_url=url, sleep=sleeps.append)
    with pytest.raises(DeepgramError) as err:
        engine.transcribe(short_talk.wav)
    assert err.value.code == "deepgram-unauthorized" and not err.value.retryable
    assert "Invalid credentials" in err.value.message
    assert len(fake.received) == 1 and sleeps == []


def test_deepgram_forbidden(deepgram: tuple[FakeDeepgram, str], short_talk: Talk) -> None:
    fake, url = deepgram
    fake.fail_next(403)
    with pytest.raises(DeepgramError) as err:
        DeepgramTranscriber(api_key="dg-test-key", base_url=url).transcribe(short_talk.wav)
    assert err.value.code == "deepgram-forbidden" and not err.value.retryable


def test_deepgram_429_honours_retry_after(
    deepgram: tuple[FakeDeepgram, str], short_talk: Talk
) -> None:
    fake, url = deepgram
    fake.fail_next(429, retry_after="3")
    sleeps: list[float] = []
    engine = DeepgramTranscriber(api_key="dg-test-key", base_url=url, sleep=sleeps.append)
    t = engine.transcribe(short_talk.wav)
    assert sleeps == [3.0]
    assert len(fake.received) == 2 and fake.received[0].body == fake.received[1].body
    assert t.words()


def test_deepgram_500_then_success(deepgram: tuple[FakeDeepgram, str], tmp_path: Path) -> None:
    fake, url = deepgram
    fake.fail_next(500, times=2)
    audio = tmp_path / "a.wav"
    audio.write_bytes(b"RIFF....WAVEfmt fake audio bytes")  # sent as-is with compress=False
    sleeps: list[float] = []
    with DeepgramClient("dg-test-key", base_url=url, sleep=sleeps.append, backoff_base_s=1.0) as c:
        data = c.listen_file(audio, content_type="audio/wav")
    assert data["results"]["channels"][0]["alternatives"][0]["words"]
    assert len(sleeps) == 2 and 0.75 <= sleeps[0] <= 1.25 and 1.5 <= sleeps[1] <= 2.5
    assert [r.body for r in fake.received] == [audio.read_bytes()] * 3


def test_deepgram_gives_up_after_max_retries(
    deepgram: tuple[FakeDeepgram, str], tmp_path: Path
) -> None:
    fake, url = deepgram
    fake.fail_next(503, times=5)
    audio = tmp_path / "a.ogg"
    audio.write_bytes(b"OggS fake")
    with (
        DeepgramClient("dg-test-key", base_url=url, max_retries=2, sleep=lambda s: None) as c,
        pytest.raises(DeepgramError) as err,
    ):
        c.listen_file(audio)
    assert err.value.code == "deepgram-server-error" and err.value.retryable
    assert err.value.upstream_status == 503 and len(fake.received) == 3


def test_deepgram_long_retry_after_is_raised_not_slept(
    deepgram: tuple[FakeDeepgram, str], tmp_path: Path
) -> None:
    fake, url = deepgram
    fake.fail_next(429, retry_after="3600")
    audio = tmp_path / "a.ogg"
    audio.write_bytes(b"OggS fake")
    sleeps: list[float] = []
    with (
        DeepgramClient("dg-test-key", base_url=url, sleep=sleeps.append) as c,
        pytest.raises(DeepgramError) as err,
    ):
        c.listen_file(audio)
    assert err.value.code == "deepgram-rate-limited" and err.value.retryable and sleeps == []


def test_deepgram_unreachable(tmp_path: Path) -> None:
    audio = tmp_path / "a.ogg"
    audio.write_bytes(b"OggS fake")
    sleeps: list[float] = []
    # Port 9 on loopback: nothing listens, the connection is refused at once.
    with (
        DeepgramClient("k", base_url="http://127.0.0.1:9", max_retries=1, sleep=sleeps.append) as c,
        pytest.raises(DeepgramError) as err,
    ):
        c.listen_file(audio)
    assert err.value.code == "deepgram-unreachable" and err.value.retryable and len(sleeps) == 1


def test_parse_retry_after() -> None:
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 01 May 2024 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Wed, 01 May 2024 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


# --- OpenAI -----------------------------------------------------------------------------


def test_openai_single_upload(openai: tuple[FakeOpenAIAudio, str], short_talk: Talk) -> None:
    fake, url = openai
    t = OpenAITranscriber(api_key="sk-test", base_url=url).transcribe(short_talk.wav)
    (up,) = fake.uploads
    assert up.headers["authorization"] == "Bearer sk-test"
    assert up.fields["model"] == ["whisper-1"]
    assert up.fields["response_format"] == ["verbose_json"]
    assert sorted(up.fields["timestamp_granularities[]"]) == ["segment", "word"]
    assert up.content_type == "audio/ogg" and up.filename.endswith(".ogg")
    assert up.duration == pytest.approx(short_talk.timeline[-1][1] + 0.6, abs=0.2)
    assert t.engine == "openai" and t.model == "whisper-1" and t.language == "en"
    words = t.words()
    assert len(words) == int(up.duration)
    assert words[0].start == pytest.approx(0.1) and words[5].start == pytest.approx(5.1)
    # punctuation came back from the segment text onto the words
    assert [w.text for w in words[:5]] == ["Tick", "tick", "tick", "tick", "tick."]
    assert all(len(s.words) <= 5 for s in t.segments)


def test_openai_splits_big_audio_and_shifts_times(
    openai: tuple[FakeOpenAIAudio, str], long_talk: Talk
) -> None:
    fake, url = openai
    limit = 60_000  # bytes; the ~54 s talk compresses to well over this
    fake.max_bytes = limit
    progress: list[float] = []
    t = OpenAITranscriber(api_key="sk-test", base_url=url, max_upload_bytes=limit).transcribe(
        long_talk.wav, progress=progress.append
    )
    assert len(fake.uploads) >= 3
    assert all(u.size <= limit for u in fake.uploads)
    total = sum(u.duration for u in fake.uploads)
    assert total == pytest.approx(long_talk.timeline[-1][1] + 0.6, abs=0.5)
    # Every word sits at (start of its chunk) + (its time inside the chunk).
    expected: list[float] = []
    offset = 0.0
    for u in fake.uploads:
        expected += [offset + i + 0.1 for i in range(int(u.duration))]
        offset += u.duration
    assert [w.start for w in t.words()] == pytest.approx(expected, abs=0.05)
    # later chunks were prompted with the previous text
    assert "prompt" not in fake.uploads[0].fields and "prompt" in fake.uploads[1].fields
    assert progress[-1] == pytest.approx(1.0) and progress == sorted(progress)


def test_openai_413_is_clear(openai: tuple[FakeOpenAIAudio, str], tmp_path: Path) -> None:
    fake, url = openai
    fake.max_bytes = 10
    audio = tmp_path / "a.ogg"
    audio.write_bytes(b"OggS" + b"x" * 100)
    with OpenAIAudioClient("sk-test", base_url=url) as c, pytest.raises(OpenAIAudioError) as err:
        c.transcribe_file(audio)
    assert err.value.code == "openai-file-too-large" and err.value.upstream_status == 413
    with (
        OpenAIAudioClient("sk-test", base_url=url, max_upload_bytes=50) as c,
        pytest.raises(OpenAIAudioError) as err,
    ):
        c.transcribe_file(audio)  # refused before sending
    assert err.value.code == "openai-file-too-large" and err.value.upstream_status is None


def test_openai_errors(openai: tuple[FakeOpenAIAudio, str], short_talk: Talk) -> None:
    fake, url = openai
    with pytest.raises(OpenAIAudioError) as err:
        OpenAITranscriber(api_key="sk-wrong", base_url=url).transcribe(short_talk.wav)
    assert err.value.code == "openai-unauthorized" and not err.value.retryable
    assert "Incorrect API key" in err.value.message

    fake.fail_next(429, code="insufficient_quota")
    sleeps: list[float] = []
    engine = OpenAITranscriber(api_key="sk-test", base_url=url, sleep=sleeps.append)
    with pytest.raises(OpenAIAudioError) as err:
        engine.transcribe(short_talk.wav)
    assert err.value.code == "openai-quota-exceeded" and not err.value.retryable and sleeps == []

    fake.fail_next(429, retry_after="2")
    fake.fail_next(500)
    t = engine.transcribe(short_talk.wav)
    assert sleeps[0] == 2.0 and len(sleeps) == 2
    assert t.words()
