"""Test session setup: settings for tests, one real PostgreSQL per session, clean tables per test.

PostgreSQL is the embedded server (a fresh data dir per session) unless
CLIPLY_TEST_DATABASE_URL names an external one. Tests that need the database ask for the
`db_url` fixture (or `client`), which migrates once and truncates every table before each test.
"""

from __future__ import annotations

import base64
import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_ROOT = Path(tempfile.mkdtemp(prefix="cliply-test-"))
os.environ.update(
    {
        "CLIPLY_ENV": "test",
        "CLIPLY_DATA_DIR": str(_ROOT / "data"),
        "SECRET_KEY": secrets.token_urlsafe(32),
        "TOKEN_ENCRYPTION_KEYS": "t1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        "LOG_JSON": "true",
        "RATE_LIMIT_PER_MINUTE": "100000",
        "AUTH_RATE_LIMIT_PER_MINUTE": "100000",
        "URL_INGEST_ALLOW_PRIVATE": "false",
        "HIGHLIGHT_EMBEDDER": "tfidf",
        "RENDER_PRESET": "ultrafast",
    }
)
for _var in ("DATABASE_URL", "STORAGE_URL", "SENTRY_DSN"):
    os.environ.pop(_var, None)


def reset_caches() -> None:
    from cliply import keys
    from cliply.config import get_settings
    from cliply.db.engine import reset_engine

    get_settings.cache_clear()
    keys.clear()
    reset_engine()


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """A migrated database for the whole session (URL in psycopg form)."""
    from cliply.db.migrate import upgrade

    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    external = os.environ.get("CLIPLY_TEST_DATABASE_URL")
    if external:
        import psycopg

        base = external.replace("postgresql+psycopg://", "postgresql://")
        name = f"cliply_test_{worker}"
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        from sqlalchemy.engine import make_url

        url = make_url(base).set(drivername="postgresql+psycopg", database=name)
        url_s = url.render_as_string(hide_password=False)
    else:
        from cliply.db.embedded import embedded_url

        url_s = embedded_url(_ROOT / f"pg-{worker}", "cliply_test", stop_at_exit=True)
    upgrade(url_s)
    os.environ["DATABASE_URL"] = url_s.replace("postgresql+psycopg://", "postgresql://")
    reset_caches()
    return url_s


@pytest.fixture
def db_url(pg_server_url: str) -> Iterator[str]:
    """The session database with every table emptied before the test."""
    from sqlalchemy import text

    from cliply.db.engine import get_engine
    from cliply.models import Base

    reset_caches()
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with get_engine().begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    yield pg_server_url
    reset_caches()


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:  # noqa: F821
    from fastapi.testclient import TestClient

    from cliply.app import create_app

    with TestClient(create_app()) as c:
        yield c


@pytest.fixture
def tmp_data_dir() -> Path:
    return _ROOT / "data"
