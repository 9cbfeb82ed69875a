"""The optional LLM pass against a local fake OpenAI-compatible server."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from cliply.highlights import TfidfEmbedder, detect_highlights
from cliply.integrations.openai_chat import (
    OpenAIChatBadResponse,
    OpenAIChatClient,
    OpenAIChatHTTPError,
    OpenAIChatTimeout,
)
from tests.fakes.openai_chat import (
    ErrorReply,
    FakeOpenAIChat,
    RawReply,
    Reply,
    reverse_ranking_reply,
    sent_candidates,
)
from tests.highlights.topics import topic_talk


@pytest.fixture
def fake() -> Iterator[FakeOpenAIChat]:
    with FakeOpenAIChat(api_key="sk-test") as server:
        yield server


def client(fake: FakeOpenAIChat, **kw) -> OpenAIChatClient:
    opts = {"timeout_s": 5.0, "max_retries": 2, "backoff_s": 0.01}
    opts.update(kw)
    return OpenAIChatClient(base_url=fake.base_url, model="gpt-test", api_key="sk-test", **opts)


def detect(llm: OpenAIChatClient | None, **kw):
    opts = {"top_k": 3, "max_overlap": 0.0}
    opts.update(kw)
    return detect_highlights(topic_talk(), embedder=TfidfEmbedder(), llm=llm, **opts)


def test_llm_reranks_and_writes_titles(fake: FakeOpenAIChat) -> None:
    local = detect(None)
    fake.push(Reply(reverse_ranking_reply))
    with client(fake) as llm:
        result = detect(llm, llm_top_n=3)
    assert result.llm_applied and result.llm_fallback_reason is None
    # Reversed order of the local top three; scores and feature reasons untouched.
    assert [h.start for h in result.highlights] == [h.start for h in reversed(local.highlights)]
    for rank, h in enumerate(result.highlights, start=1):
        assert h.llm_rank == rank
        assert h.title.startswith("LLM title for c") and h.description
        assert h.hashtags[0] == "#llm" and "#tagc" in h.hashtags[1]
        local_h = next(x for x in local.highlights if x.start == h.start)
        assert h.score == local_h.score
        assert h.reasons[:-1] == local_h.reasons
        assert h.reasons[-1].name == "llm_rank" and h.reasons[-1].points == 0
        assert f"ranked it {rank} of 3" in h.reasons[-1].reason
        assert sum(r.points for r in h.reasons) == pytest.approx(h.score, abs=1e-6)

    (req,) = fake.requests
    assert req.path == "/v1/chat/completions"
    assert req.headers["authorization"] == "Bearer sk-test"
    assert req.body["model"] == "gpt-test"
    assert req.body["response_format"] == {"type": "json_object"}
    sent = sent_candidates(req.body)
    assert [c["id"] for c in sent] == ["c1", "c2", "c3"]
    assert sent[0]["text"] == local.highlights[0].text


def test_llm_can_promote_a_clip_from_below_the_local_top_k(fake: FakeOpenAIChat) -> None:
    local = detect(None, top_k=4, max_overlap=0.5)
    assert len(local.highlights) == 4
    fake.push(Reply(reverse_ranking_reply))
    with client(fake) as llm:
        result = detect(llm, llm_top_n=4, max_overlap=0.5)  # four sent, best three kept
    assert len(sent_candidates(fake.requests[0].body)) == 4
    assert result.highlights[0].start == local.highlights[3].start
    assert len(result.highlights) == 3


def test_server_errors_are_retried_then_fall_back(fake: FakeOpenAIChat) -> None:
    local = detect(None)
    fake.default = ErrorReply(500)
    with client(fake, max_retries=2) as llm:
        result = detect(llm)
    assert len(fake.requests) == 3  # first try + two retries
    assert not result.llm_applied
    assert "HTTP 500" in (result.llm_fallback_reason or "")
    assert [h.start for h in result.highlights] == [h.start for h in local.highlights]
    assert [h.title for h in result.highlights] == [h.title for h in local.highlights]
    assert all(h.llm_rank is None for h in result.highlights)
    assert any("local ranking kept" in n for n in result.notes)


def test_rate_limit_is_retried_after_the_servers_delay(fake: FakeOpenAIChat) -> None:
    fake.push(
        ErrorReply(429, "Rate limit reached", "requests", headers={"retry-after-ms": "20"}),
        ErrorReply(503, "overloaded"),
        Reply(reverse_ranking_reply),
    )
    slept: list[float] = []
    with client(fake, max_retries=3, sleep=slept.append) as llm:
        result = detect(llm)
    assert result.llm_applied
    assert len(fake.requests) == 3
    assert slept == [pytest.approx(0.02), pytest.approx(0.02)]  # server's delay, then backoff


def test_client_errors_are_not_retried(fake: FakeOpenAIChat) -> None:
    fake.default = ErrorReply(401, "Incorrect API key provided", "invalid_request_error")
    with client(fake) as llm, pytest.raises(OpenAIChatHTTPError) as info:
        llm.complete_json([{"role": "user", "content": "Reply in JSON."}])
    assert info.value.upstream_status == 401 and "Incorrect API key" in info.value.message
    assert len(fake.requests) == 1


def test_wrong_key_is_rejected_by_the_fake_and_reported(fake: FakeOpenAIChat) -> None:
    with OpenAIChatClient(base_url=fake.base_url, model="m", api_key="sk-wrong") as llm:
        result = detect(llm)
    assert not result.llm_applied and "HTTP 401" in (result.llm_fallback_reason or "")


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        (Reply("this is not json"), "not valid JSON"),
        (Reply("[1, 2, 3]"), "not an object"),
        (Reply('{"candidates": [{"id": "c1"'), "not valid JSON"),
        (Reply('{"candidates": []}', finish_reason="length"), "cut off"),
        (RawReply(200, b"<html>proxy error</html>"), "not JSON"),
        (Reply('{"ranking": [1, 2, 3]}'), "candidates"),
    ],
)
def test_garbage_replies_fall_back(fake: FakeOpenAIChat, action, expected: str) -> None:
    fake.push(action)
    with client(fake) as llm:
        result = detect(llm)
    assert not result.llm_applied
    assert expected in (result.llm_fallback_reason or "")
    assert len(result.highlights) == 3 and all(h.llm_rank is None for h in result.highlights)


def _reply_with(mutate) -> Reply:
    def build(body):
        data = json.loads(reverse_ranking_reply(body))
        mutate(data["candidates"])
        return json.dumps(data)

    return Reply(build)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda items: items[0].update(id="c9"), "do not match"),
        (lambda items: items.pop(), "do not match"),
        (lambda items: items[0].update(rank=items[1]["rank"]), "ranks"),
        (lambda items: items[0].update(rank="1"), "rank"),
        (lambda items: items[0].update(title="   "), "empty title"),
        (lambda items: items[0].update(hashtags="#oops"), "hashtags"),
    ],
)
def test_invalid_rankings_are_rejected(fake: FakeOpenAIChat, mutate, expected: str) -> None:
    fake.push(_reply_with(mutate))
    with client(fake) as llm:
        result = detect(llm)
    assert not result.llm_applied
    assert "LLM reply rejected" in (result.llm_fallback_reason or "")
    assert expected in (result.llm_fallback_reason or "")


def test_timeouts_fall_back_without_failing(fake: FakeOpenAIChat) -> None:
    fake.default = Reply(reverse_ranking_reply, delay_s=3.0)
    with client(fake, timeout_s=0.2, max_retries=1) as llm:
        result = detect(llm)
        with pytest.raises(OpenAIChatTimeout):
            llm.complete_json([{"role": "user", "content": "JSON please"}])
    assert not result.llm_applied
    assert "openai-chat-timeout" in (result.llm_fallback_reason or "")
    assert result.highlights


def test_unreachable_endpoint_falls_back() -> None:
    with FakeOpenAIChat() as gone:
        url = gone.base_url
    with OpenAIChatClient(base_url=url, model="m", max_retries=0) as llm:
        result = detect(llm)
    assert not result.llm_applied
    assert "openai-chat-connection-error" in (result.llm_fallback_reason or "")


def test_bad_completion_shape_is_a_typed_error(fake: FakeOpenAIChat) -> None:
    fake.push(RawReply(200, b'{"choices": []}', "application/json"))
    with client(fake) as llm, pytest.raises(OpenAIChatBadResponse) as info:
        llm.complete_json([{"role": "user", "content": "json"}])
    assert info.value.code == "openai-chat-bad-response"


def test_llm_is_told_the_users_prompt(fake: FakeOpenAIChat) -> None:
    fake.push(Reply(reverse_ranking_reply))
    with client(fake) as llm:
        result = detect(llm, llm_top_n=3, prompt="saving money")
    assert result.llm_applied
    (req,) = fake.requests
    user = req.body["messages"][1]["content"]
    assert (
        'The user wants clips about this (rank the candidates that match it first): "saving money"'
        in user
    )
    # The local prompt match stays a reason with its points; the LLM only reorders.
    for h in result.highlights:
        assert any(r.name == "prompt" for r in h.reasons)
        assert sum(r.points for r in h.reasons) == pytest.approx(h.score, abs=0.02)
