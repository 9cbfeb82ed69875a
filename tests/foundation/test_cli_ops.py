"""Operations commands: `cliply user create`, `cliply db current`, Sentry only with a DSN."""

from __future__ import annotations

import os
import subprocess
import sys

from cliply.logging import init_sentry


def _cliply(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cliply", *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ.copy(),
    )


def test_user_create_and_login(db_url, client):
    r = _cliply(
        "user",
        "create",
        "--email",
        "ops@example.com",
        "--workspace",
        "Ops",
        input="a long passphrase\na long passphrase\n",
    )
    assert r.returncode == 0, r.stderr
    assert "workspace" in r.stdout
    login = client.post(
        "/api/v1/auth/login", json={"email": "ops@example.com", "password": "a long passphrase"}
    )
    assert login.status_code == 200
    ws = client.get(
        "/api/v1/workspaces", headers={"Authorization": f"Bearer {login.json()['access_token']}"}
    ).json()
    assert [(w["name"], w["role"]) for w in ws] == [("Ops", "owner")]


def test_user_create_bad_input_is_a_clear_message(db_url):
    r = _cliply("user", "create", "--email", "not-an-email", input="short\nshort\n")
    assert r.returncode == 2
    assert "error:" in r.stderr and "email" in r.stderr
    assert "Traceback" not in r.stderr


def test_db_current_reports_head(db_url):
    from alembic.script import ScriptDirectory

    from cliply.db.migrate import alembic_config

    (head,) = ScriptDirectory.from_config(alembic_config(db_url)).get_heads()
    r = _cliply("db", "current")
    assert r.returncode == 0 and r.stdout.strip() == head


def test_sentry_starts_only_with_a_dsn():
    assert init_sentry(None, "test") is False
    assert init_sentry("", "test") is False
    import sentry_sdk

    assert init_sentry("https://public@127.0.0.1:9/1", "test") is True
    assert sentry_sdk.get_client().is_active()
    sentry_sdk.init(dsn=None)  # switch it off again for the rest of the session
