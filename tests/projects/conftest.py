from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from tests.pipeline.fixtures import bad_inputs, fast_render, talk_video

__all__ = ["bad_inputs", "fast_render", "live", "talk_video"]


@pytest.fixture
def live(db_url: str) -> Iterator[str]:
    """The app under a real uvicorn on 127.0.0.1, so a client can drop its connection."""
    from cliply.app import create_app

    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=0, log_config=None, lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
