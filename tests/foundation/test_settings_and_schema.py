"""Settings ↔ ENV.md, start-up errors naming the variable, migrations ↔ models (no drift)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, pool, text

from cliply.config import env_markdown

ROOT = Path(__file__).resolve().parents[2]


def test_env_md_matches_settings():
    assert (ROOT / "ENV.md").read_text() == env_markdown(), (
        "ENV.md is stale: run `cliply doctor --env-md > ENV.md`"
    )


def test_bad_setting_stops_startup_naming_the_variable():
    env = {**os.environ, "CLIPLY_PORT": "not-a-port"}
    r = subprocess.run(
        [sys.executable, "-m", "cliply", "doctor"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert "CLIPLY_PORT" in r.stderr


def test_models_match_migrated_schema(db_url):
    from cliply.models import Base

    eng = create_engine(db_url, poolclass=pool.NullPool)
    with eng.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    eng.dispose()
    assert diff == [], f"schema drift between models and migrations: {diff}"


def test_every_tenant_table_has_rls(db_url):
    from cliply.models import tenant_tables

    eng = create_engine(db_url, poolclass=pool.NullPool)
    with eng.connect() as conn:
        rows = dict(
            conn.execute(
                text(
                    "SELECT relname, relrowsecurity FROM pg_class WHERE relkind = 'r' "
                    "AND relnamespace = 'public'::regnamespace"
                )
            ).all()
        )
        bypass = conn.execute(
            text("SELECT rolbypassrls FROM pg_roles WHERE rolname = 'cliply_app'")
        ).scalar_one()
    eng.dispose()
    assert bypass is False
    for table in [*tenant_tables(), "workspaces"]:
        assert rows[table] is True, table


def test_downgrade_then_upgrade(pg_server_url, tmp_path):
    # A separate database so the shared one stays intact for other tests.
    import psycopg
    from sqlalchemy.engine import make_url

    from cliply.db.migrate import current, downgrade, upgrade

    url = make_url(pg_server_url)
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS cliply_roundtrip")
        conn.execute("CREATE DATABASE cliply_roundtrip")
    other = url.set(database="cliply_roundtrip").render_as_string(hide_password=False)
    from alembic.script import ScriptDirectory

    from cliply.db.migrate import alembic_config

    heads = ScriptDirectory.from_config(alembic_config(other)).get_heads()
    assert len(heads) == 1, f"one migration head expected, got {heads}"
    upgrade(other)
    assert current(other) == heads[0]
    downgrade(other, "base")
    assert current(other) is None
    eng = create_engine(other, poolclass=pool.NullPool)
    with eng.connect() as conn:
        left = conn.execute(
            text(
                "SELECT count(*) FROM pg_tables WHERE schemaname='public' "
                "AND tablename <> 'alembic_version'"
            )
        ).scalar_one()
    eng.dispose()
    assert left == 0
    upgrade(other)
    assert current(other) == heads[0]


@pytest.mark.parametrize(
    "cmd",
    [
        ["--help"],
        ["serve", "--help"],
        ["api", "--help"],
        ["db", "upgrade", "--help"],
        ["doctor", "--help"],
        ["user", "create", "--help"],
        ["worker", "--help"],
        ["process", "--help"],
    ],
)
def test_cli_help(cmd):
    from typer.testing import CliRunner

    from cliply.cli import app

    r = CliRunner().invoke(app, cmd)
    assert r.exit_code == 0, r.output
    if cmd[0] in ("serve", "api"):
        assert "--host" in r.output and "--port" in r.output
