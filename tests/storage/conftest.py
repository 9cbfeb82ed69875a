from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from cliply.storage import LocalStorage, S3Storage, Storage

SECRET = "test-url-secret"
CREDS = {"access_key": "testing", "secret_key": "testing", "region": "us-east-1"}


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A real S3 API (moto in server mode) on a random loopback port."""
    from moto.server import ThreadedMotoServer  # heavy (flask): only when a test needs S3

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def make_s3(endpoint: str, **kw: object) -> S3Storage:
    store = S3Storage(
        endpoint_url=endpoint,
        bucket=f"b-{uuid.uuid4().hex[:12]}",
        prefix="cliply",
        part_size=5 * 1024 * 1024,
        **CREDS,  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )
    store.create_bucket()
    return store


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "local":
        return LocalStorage(
            tmp_path / "store", url_secret=SECRET, public_base_url="http://files.test/f"
        )
    return make_s3(request.getfixturevalue("moto_endpoint"))
