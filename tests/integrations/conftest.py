"""Fake TikTok / Google servers on loopback and clients pointed at them."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from cliply.integrations.google_oauth import GoogleOAuthClient
from cliply.integrations.oauth_common import RetryPolicy
from cliply.integrations.tiktok import ChunkRules, TikTokClient
from cliply.integrations.youtube import YouTubeClient
from tests.fakes.server import FaultPlan, RunningServer, ServerPool
from tests.fakes.tiktok import FakeTikTok, FakeTikTokConfig
from tests.fakes.youtube import FakeGoogleConfig, FakeYouTube

# Real backoff shape, tiny delays: tests exercise retries without waiting.
FAST_RETRY = RetryPolicy(max_retries=4, base_delay_s=0.005, max_delay_s=0.02)
KIB = 1024
MIB = 1024 * 1024


@dataclass
class TikTokEnv:
    fake: FakeTikTok
    server: RunningServer
    client: TikTokClient

    @property
    def faults(self) -> FaultPlan:
        return self.server.faults


@dataclass
class GoogleEnv:
    fake: FakeYouTube
    server: RunningServer
    oauth: GoogleOAuthClient
    youtube: YouTubeClient

    @property
    def faults(self) -> FaultPlan:
        return self.server.faults


@pytest.fixture(scope="session")
def _server_pool() -> Iterator[ServerPool]:
    pool = ServerPool()
    yield pool
    pool.close()


@pytest.fixture
def servers(_server_pool: ServerPool) -> Iterator[ServerPool]:
    """Loopback servers for this test's fakes; freed (not stopped) when the test ends."""
    yield _server_pool
    _server_pool.release_all()


@pytest.fixture
def make_tiktok(servers: ServerPool) -> Iterator[Callable[..., TikTokEnv]]:
    with ExitStack() as stack:

        def factory(
            config: FakeTikTokConfig | None = None,
            *,
            rules: ChunkRules | None = None,
            chunk_size: int = 10 * MIB,
        ) -> TikTokEnv:
            fake = FakeTikTok(config)
            server = servers.lease(fake.app)
            client = TikTokClient(
                auth_base=server.base_url,
                api_base=server.base_url,
                client_key=fake.config.client_key,
                client_secret=fake.config.client_secret,
                chunk_size=chunk_size,
                chunk_rules=rules or ChunkRules(),
                retry=FAST_RETRY,
            )
            stack.callback(client.close)
            return TikTokEnv(fake, server, client)

        yield factory


@pytest.fixture
def tiktok(make_tiktok: Callable[..., TikTokEnv]) -> TikTokEnv:
    return make_tiktok()


@pytest.fixture
def make_google(servers: ServerPool) -> Iterator[Callable[..., GoogleEnv]]:
    with ExitStack() as stack:

        def factory(
            config: FakeGoogleConfig | None = None, *, chunk_size: int = 1 * MIB
        ) -> GoogleEnv:
            fake = FakeYouTube(config)
            server = servers.lease(fake.app)
            oauth = GoogleOAuthClient(
                auth_base=server.base_url,
                token_base=server.base_url,
                client_id=fake.config.client_id,
                client_secret=fake.config.client_secret,
            )
            youtube = YouTubeClient(
                api_base=server.base_url,
                upload_base=server.base_url,
                chunk_size=chunk_size,
                retry=FAST_RETRY,
            )
            stack.callback(oauth.close)
            stack.callback(youtube.close)
            return GoogleEnv(fake, server, oauth, youtube)

        yield factory


@pytest.fixture
def google(make_google: Callable[..., GoogleEnv]) -> GoogleEnv:
    return make_google()


@pytest.fixture
def make_video(tmp_path: Path) -> Callable[[int], Path]:
    """A file of `size` pseudo-random bytes (content only matters for checksums)."""

    def factory(size: int, name: str = "clip.mp4") -> Path:
        path = tmp_path / f"{size}-{name}"
        path.write_bytes(random.Random(size).randbytes(size))
        return path

    return factory
