"""Topic-steered clipping through the API and the real queue: a project's prompt ranks the
matching moments first and shows the match as a reason; re-running with another prompt moves
the clip; a bad prompt is a 422 problem."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.pipeline.jobrunner import run_jobs
from tests.projects.helpers import owner_ws, upload

pytestmark = pytest.mark.integration

BREAD_WORDS = ("bread", "yeast", "dough", "loaf", "bakers", "gluten")
MONEY_WORDS = ("money", "paycheck", "income", "interest", "savings", "saving", "account")


def _top_clip(client: TestClient, h: dict[str, str], pid: str) -> dict[str, object]:
    clips = client.get(f"/api/v1/projects/{pid}/clips", headers=h).json()["items"]
    auto = [c for c in clips if c["origin"] == "auto"]
    assert auto, clips
    return dict(min(auto, key=lambda c: c["rank"]))


def _about(text: object, words: tuple[str, ...]) -> int:
    return sum(w in str(text).lower() for w in words)


def test_prompt_steers_the_clips_through_the_api(
    client: TestClient,
    talk_video: tuple[Path, list[tuple[float, float, str]]],
    fast_render: None,
) -> None:
    video, _ = talk_video  # bread (4 sentences), then saving money (4 sentences)
    _, h = owner_ws(client)
    project = upload(client, h, video, min_s="6", max_s="14", top_k="1", prompt="how to save money")
    pid = project["id"]
    assert project["options"]["prompt"] == "how to save money"
    ran = run_jobs()
    assert all(r.status == "succeeded" for r in ran), [(r.kind, r.error) for r in ran]
    clip = _top_clip(client, h, pid)
    assert _about(clip["text"], MONEY_WORDS) > _about(clip["text"], BREAD_WORDS), clip["text"]
    reasons = clip["reasons"]
    assert isinstance(reasons, list)
    prompt = next(r for r in reasons if r["name"] == "prompt")
    assert prompt["reason"].startswith("matches your prompt 'how to save money': ")
    assert sum(r["points"] for r in reasons) == pytest.approx(clip["score"], abs=0.05)

    # Same project, another prompt: the top clip moves to the bread.
    r = client.post(
        f"/api/v1/projects/{pid}/highlights",
        headers=h,
        json={"min_s": 6, "max_s": 14, "top_k": 1, "prompt": "why bread rises: yeast and dough"},
    )
    assert r.status_code == 200, r.text
    ran = run_jobs()
    assert all(r.status == "succeeded" for r in ran), [(r.kind, r.error) for r in ran]
    clip = _top_clip(client, h, pid)
    assert _about(clip["text"], BREAD_WORDS) > _about(clip["text"], MONEY_WORDS), clip["text"]


def test_a_bad_prompt_is_a_problem(client: TestClient) -> None:
    _, h = owner_ws(client)
    for bad, words in (("x" * 301, "300"), ("\x07beep", "control characters")):
        r = client.post(
            "/api/v1/projects",
            headers=h,
            json={"url": "https://example.com/v.mp4", "options": {"prompt": bad}},
        )
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert "prompt" in r.text and words in r.text
