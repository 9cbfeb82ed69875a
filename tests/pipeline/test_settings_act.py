"""Each pipeline setting acts: changing it changes what the pipeline does.

The settings reach the steps through `cliply.pipeline.config` (clip_options, llm_client,
render_spec), the one place both the job handlers and `cliply process` take them from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from cliply.config import Settings, get_settings
from cliply.highlights.embeddings import ONNX_MINILM_NAME, SentenceTransformerEmbedder
from cliply.integrations.openai_chat import OpenAIChatClient, OpenAIChatTimeout
from cliply.media import MediaError, probe
from cliply.pipeline import config, steps
from tests.fakes.openai_chat import FakeOpenAIChat, Reply, reverse_ranking_reply, sent_candidates
from tests.highlights.topics import topic_talk


def settings(**changes: Any) -> Settings:
    return get_settings().model_copy(update={"highlight_embedder": "tfidf", **changes})


def highlights(s: Settings, llm: Any = None, **options: Any) -> Any:
    return steps.find_highlights(topic_talk(), None, config.clip_options(options, None, s), llm)


def test_caption_style_default_is_used_when_the_project_does_not_choose() -> None:
    assert config.clip_options({}, None, settings()).caption_style == "bold"
    karaoke = settings(caption_style_default="karaoke")
    assert config.clip_options({}, None, karaoke).caption_style == "karaoke"
    assert config.clip_options({"caption_style": "boxed"}, None, karaoke).caption_style == "boxed"


def test_clip_min_score_drops_lower_scored_clips() -> None:
    every = highlights(settings(clip_max_overlap=0.5), top_k=10).highlights
    scores = sorted(h.score for h in every)
    assert len(scores) >= 3 and scores[0] < scores[-1]
    bar = scores[len(scores) // 2]
    kept = highlights(settings(clip_min_score=bar, clip_max_overlap=0.5), top_k=10).highlights
    assert kept and all(h.score >= bar for h in kept) and len(kept) < len(every)


def test_highlight_embedder_selects_the_embedder() -> None:
    assert highlights(settings(highlight_embedder="tfidf")).embedder_name == "tfidf"
    # The ONNX MiniLM is a main dependency: selectable (and auto's choice) on every install.
    assert highlights(settings(highlight_embedder="onnx")).embedder_name == ONNX_MINILM_NAME
    if not SentenceTransformerEmbedder.available():
        with pytest.raises(ImportError):
            highlights(settings(highlight_embedder="minilm"))


def test_llm_top_n_timeout_and_retries_come_from_settings() -> None:
    with FakeOpenAIChat(api_key="sk-test") as fake:
        s = settings(
            llm_enabled=True,
            llm_base_url=fake.base_url,
            llm_api_key=SecretStr("sk-test"),
            llm_top_n=2,
            llm_timeout_s=0.3,
            llm_max_retries=1,
        )
        llm = config.llm_client(s)
        assert isinstance(llm, OpenAIChatClient)
        with llm:
            fake.push(Reply(reverse_ranking_reply))
            found = highlights(s, llm, top_k=4)
            assert found.llm_applied
            assert len(sent_candidates(fake.requests[0].body)) == 2  # LLM_TOP_N

            fake.requests.clear()
            fake.default = Reply(reverse_ranking_reply, delay_s=3.0)
            with pytest.raises(OpenAIChatTimeout):
                llm.complete_json([{"role": "user", "content": "JSON please"}])
        assert len(fake.requests) == 2  # one try + LLM_MAX_RETRIES, each cut at LLM_TIMEOUT_S


@pytest.mark.usefixtures("fast_render")
def test_render_settings_act(talk_video: tuple[Path, Any], tmp_path: Path) -> None:
    video, _ = talk_video
    info = probe(video)
    words = topic_talk().words()

    def render(name: str, **changes: Any) -> steps.RenderedClip:
        spec = config.render_spec("9:16", "bold", settings=settings(**changes))
        return steps.render_clip_files(
            video,
            info,
            words,
            start=0.0,
            end=4.0,
            spec=spec,
            out_mp4=tmp_path / f"{name}.mp4",
            out_jpg=tmp_path / f"{name}.jpg",
            work_dir=tmp_path / name,
        )

    # The flat test picture has no face: REFRAME_FALLBACK decides the layout.
    blur = render("blur", reframe_fallback="blur", reframe_sample_fps=1.0, render_threads=1)
    center = render("center", reframe_fallback="center", reframe_sample_fps=4.0)
    assert (blur.layout, center.layout) == ("fit", "center")
    assert center.crop_samples >= 3 * blur.crop_samples > 0  # REFRAME_SAMPLE_FPS
    i = blur.command.index("-threads")  # RENDER_THREADS
    assert blur.command[i + 1] == "1"
    # Unset: the cores, at most DEFAULT_RENDER_THREADS (not ffmpeg's own, growing choice).
    j = center.command.index("-threads")
    assert center.command[j + 1] == str(config.render_threads(settings()))

    with pytest.raises(MediaError) as err:  # RENDER_TIMEOUT_S: the render is killed
        render("slow", render_timeout_s=0.001)
    assert err.value.code == "render-timeout" and not err.value.retryable
    assert not (tmp_path / "slow.mp4").exists()
