"""Fixtures for API-layer tests: the app under a real uvicorn on loopback."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn


@pytest.fixture
def live(db_url: str) -> Iterator[str]:
    """The app under a real uvicorn on 127.0.0.1 (its own event loop and connection pool)."""
    from cliply.app import create_app

    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=0, log_config=None, lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(400):
        if server.started:
            break
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
