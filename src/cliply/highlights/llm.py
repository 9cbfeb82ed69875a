"""Optional LLM pass: re-rank the best local highlights and write titles and descriptions.

The LLM sees only the candidates' text. Its answer is validated strictly (every id exactly
once, ranks a permutation of 1..N, titles present); on any failure the local ranking stands
and the reason is reported. The local feature reasons and scores are never changed: the
LLM's opinion is added as its own zero-point reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from cliply.highlights.errors import LlmReplyInvalid
from cliply.highlights.models import Highlight, Reason

SYSTEM_PROMPT = (
    "You are an editor who picks the moments of a long video that work best as standalone "
    "short vertical clips on TikTok and YouTube Shorts. Judge each candidate on its hook, "
    "whether it makes sense without context, and how likely people are to watch it to the "
    "end and share it. Answer with a JSON object only."
)

_HASHTAG_CHARS = re.compile(r"[^\w]+", re.UNICODE)


class ChatJsonClient(Protocol):
    """What the LLM pass needs from a chat client (see integrations.openai_chat)."""

    model: str

    def complete_json(self, messages: Sequence[Mapping[str, str]]) -> dict[str, Any]: ...


class _Item(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: StrictStr
    rank: StrictInt
    title: StrictStr = Field(min_length=1, max_length=200)
    description: StrictStr = Field(default="", max_length=2000)
    hashtags: list[StrictStr] = Field(default_factory=list, max_length=30)


class _Reply(BaseModel):
    model_config = ConfigDict(extra="ignore")

    candidates: list[_Item]


@dataclass(frozen=True)
class LlmRerankOutcome:
    highlights: list[Highlight]
    applied: bool
    fallback_reason: str | None


def build_messages(
    highlights: Sequence[Highlight], max_chars: int, prompt: str | None = None
) -> list[dict[str, str]]:
    payload = [
        {
            "id": f"c{i + 1}",
            "duration_s": round(h.end - h.start, 1),
            "text": h.text if len(h.text) <= max_chars else h.text[:max_chars] + "…",
        }
        for i, h in enumerate(highlights)
    ]
    wanted = ""
    if prompt:
        # The user's own words, as data: quoted by json.dumps, never spliced in as instructions.
        wanted = (
            "The user wants clips about this (rank the candidates that match it first): "
            + json.dumps(prompt, ensure_ascii=False)
            + "\n"
        )
    instructions = wanted + (
        "Rank these clip candidates from best (rank 1) to worst. For each one write a catchy "
        "title (at most 70 characters, no hashtags), a one or two sentence description, and "
        "3 to 5 hashtags. Reply with JSON of exactly this shape: "
        '{"candidates": [{"id": "c1", "rank": 1, "title": "...", "description": "...", '
        '"hashtags": ["#example"]}]} — one entry per candidate id, each rank used once.\n\n'
        "Candidates:\n" + json.dumps(payload, ensure_ascii=False)
    )
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": instructions},
    ]


def parse_reply(reply: Mapping[str, Any], ids: Sequence[str]) -> dict[str, _Item]:
    """Validate the LLM's JSON against the ids that were sent; raise LlmReplyInvalid."""
    try:
        parsed = _Reply.model_validate(reply)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise LlmReplyInvalid(f"{where}: {first['msg']}") from exc
    got = [item.id for item in parsed.candidates]
    if sorted(got) != sorted(ids):
        raise LlmReplyInvalid(f"ids {got} do not match the candidates sent {list(ids)}")
    ranks = sorted(item.rank for item in parsed.candidates)
    if ranks != list(range(1, len(ids) + 1)):
        raise LlmReplyInvalid(f"ranks {ranks} are not 1..{len(ids)} each used once")
    for item in parsed.candidates:
        if not item.title.strip():
            raise LlmReplyInvalid(f"{item.id}: empty title")
    return {item.id: item for item in parsed.candidates}


def _clean_hashtags(tags: Sequence[str]) -> list[str]:
    out: list[str] = []
    for tag in tags:
        core = _HASHTAG_CHARS.sub("", tag)
        if core and f"#{core}" not in out:
            out.append(f"#{core}")
    return out[:10]


def rerank_with_llm(
    highlights: Sequence[Highlight],
    client: ChatJsonClient,
    *,
    top_n: int = 10,
    max_chars: int = 1500,
    prompt: str | None = None,
) -> LlmRerankOutcome:
    """Let the LLM reorder the first `top_n` highlights; the rest keep their place after them."""
    head = list(highlights[: max(0, top_n)])
    tail = list(highlights[len(head) :])
    if not head:
        return LlmRerankOutcome(list(highlights), False, "no highlights to send to the LLM")
    ids = [f"c{i + 1}" for i in range(len(head))]
    try:
        reply = client.complete_json(build_messages(head, max_chars, prompt))
        items = parse_reply(reply, ids)
    except LlmReplyInvalid as exc:
        return LlmRerankOutcome(list(highlights), False, f"LLM reply rejected: {exc}")
    except Exception as exc:
        # Any failure of the optional pass leaves the local ranking in place.
        code = getattr(exc, "code", type(exc).__name__)
        return LlmRerankOutcome(list(highlights), False, f"LLM request failed ({code}): {exc}")

    n = len(head)
    ranked: list[Highlight] = []
    for cid, h in zip(ids, head, strict=True):
        item = items[cid]
        llm_reason = Reason(
            name="llm_rank",
            value=round(1.0 - (item.rank - 1) / n, 4) if n > 1 else 1.0,
            weight=0.0,
            points=0.0,
            reason=f"LLM ({client.model}) ranked it {item.rank} of {n}; score unchanged",
        )
        ranked.append(
            h.model_copy(
                update={
                    "title": item.title.strip()[:100],
                    "description": item.description.strip() or None,
                    "hashtags": _clean_hashtags(item.hashtags) or h.hashtags,
                    "llm_rank": item.rank,
                    "reasons": [*h.reasons, llm_reason],
                }
            )
        )
    ranked.sort(key=lambda h: h.llm_rank or 0)
    return LlmRerankOutcome(ranked + tail, True, None)
