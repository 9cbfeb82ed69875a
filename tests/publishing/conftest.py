"""Publishing fixtures: fake TikTok, Google/YouTube and Meta Graph API on 127.0.0.1, settings pointing at
them, an API client, a workspace with a rendered clip in storage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from tests.fakes.server import ServerPool

# The app and the fakes are imported by the fixtures that use them: the unit tests in this
# directory (and analytics/, which reuses these fixtures) need neither.
if TYPE_CHECKING:
    from fastapi.testclient import TestClient
    from tests.publishing.helpers import Fakes, World


@pytest.fixture(scope="session")
def _pub_pool() -> Iterator[ServerPool]:
    pool = ServerPool()
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def clip_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real, tiny vertical MP4 (about 440 KB: two YouTube chunks of 256 KiB)."""
    from tests.mediagen import silent_video

    out = tmp_path_factory.mktemp("pubvideo") / "clip.mp4"
    return silent_video(out, seconds=2.0, size="360x640")


@pytest.fixture
def fakes(_pub_pool: ServerPool, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Fakes]:
    from tests.conftest import reset_caches
    from tests.fakes.meta import VERSION as GRAPH_VERSION
    from tests.fakes.meta import FakeMeta
    from tests.fakes.tiktok import FakeTikTok
    from tests.fakes.youtube import FakeYouTube
    from tests.publishing.helpers import CRON_SECRET, Fakes

    tiktok = FakeTikTok()
    google = FakeYouTube()
    tt_server = _pub_pool.lease(tiktok.app)
    g_server = _pub_pool.lease(google.app)
    meta = FakeMeta()
    m_server = _pub_pool.lease(meta.app)
    env = {
        "TIKTOK_CLIENT_KEY": tiktok.config.client_key,
        "TIKTOK_CLIENT_SECRET": tiktok.config.client_secret,
        "TIKTOK_AUTH_BASE": tt_server.base_url,
        "TIKTOK_API_BASE": tt_server.base_url,
        "GOOGLE_CLIENT_ID": google.config.client_id,
        "GOOGLE_CLIENT_SECRET": google.config.client_secret,
        "GOOGLE_AUTH_BASE": g_server.base_url,
        "GOOGLE_TOKEN_BASE": g_server.base_url,
        "YOUTUBE_API_BASE": g_server.base_url,
        "YOUTUBE_UPLOAD_BASE": g_server.base_url,
        "YOUTUBE_ANALYTICS_BASE": g_server.base_url,
        "YOUTUBE_CHUNK_SIZE": str(256 * 1024),
        "INTEGRATION_RETRY_BASE_S": "0.01",
        "PUBLISH_POLL_INTERVAL_S": "0.05",
        "PUBLISH_POLL_TIMEOUT_S": "20",
        "CRON_SECRET": CRON_SECRET,
        "META_APP_ID": meta.config.app_id,
        "META_APP_SECRET": meta.config.app_secret,
        "GRAPH_API_BASE": m_server.base_url,
        "GRAPH_API_VERSION": GRAPH_VERSION,
        "GRAPH_UPLOAD_BASE": m_server.base_url,
        "FACEBOOK_AUTH_BASE": m_server.base_url,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_caches()
    yield Fakes(
        tiktok=tiktok,
        google=google,
        tiktok_server=tt_server,
        google_server=g_server,
        meta=meta,
        meta_server=m_server,
    )
    _pub_pool.release_all()


@pytest.fixture
def api(fakes: Fakes) -> Iterator[TestClient]:
    from fastapi.testclient import TestClient

    from cliply.app import create_app

    with TestClient(create_app()) as client:
        yield client


@pytest.fixture
def world(api: TestClient, fakes: Fakes, clip_video: Path) -> World:
    """A Pro workspace with its owner and one rendered clip (MP4 in storage)."""
    from tests.publishing.helpers import make_world

    return make_world(api, fakes, clip_video)
