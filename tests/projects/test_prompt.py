"""Topic-steered clipping through the API and the real queue: a project's prompt ranks the
matching moments first and shows the match as a reason; re-running with another prompt moves
the clip; a bad prompt is a 422 problem."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from jinja2 import Environment, FileSystemLoader

import cliply.web
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


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_the_prompt_travels_with_a_tus_upload_and_the_form_offers_it(client: TestClient) -> None:
    _, h = owner_ws(client)
    tus = {**h, "Tus-Resumable": "1.0.0", "Upload-Length": "100"}
    meta = f"filename {_b64('talk.mp4')},prompt {_b64('everything about pricing')}"
    r = client.post("/api/v1/uploads", headers={**tus, "Upload-Metadata": meta})
    assert r.status_code == 201, r.text
    project = client.get(f"/api/v1/projects/{r.json()['project_id']}", headers=h).json()
    assert project["options"]["prompt"] == "everything about pricing"
    bad = f"filename {_b64('talk.mp4')},prompt {_b64('x' * 301)}"
    r = client.post("/api/v1/uploads", headers={**tus, "Upload-Metadata": bad})
    assert r.status_code == 400 and "300" in r.text

    # The new-project forms send every named field (tus metadata / JSON `options.`).
    env = Environment(
        loader=FileSystemLoader(Path(cliply.web.__file__).parent / "templates"), autoescape=True
    )
    html = env.get_template("projects/_options.html").render(
        prefix="options.",
        idp="url",
        caption_styles=["bold"],
        aspects=["9:16"],
        languages=[],
        defaults={"top_k": 5, "min_s": 20, "max_s": 60},
    )
    assert 'name="options.prompt"' in html and 'maxlength="300"' in html
