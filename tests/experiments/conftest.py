"""Experiments reuse the publishing fixtures (fake TikTok / YouTube / Meta on 127.0.0.1, an API
client, a Pro workspace with a rendered clip) and the pipeline's talk video."""

from __future__ import annotations

from tests.pipeline.fixtures import fast_render, talk_video
from tests.publishing.conftest import _pub_pool, api, clip_video, fakes, world

__all__ = ["_pub_pool", "api", "clip_video", "fakes", "fast_render", "talk_video", "world"]
