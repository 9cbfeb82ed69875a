"""`rotate_all`: every stored secret re-encrypted under the newest key, readable before and
after; a key missing from the setting gives a clear error and never plaintext."""

from __future__ import annotations

import base64
import secrets

import pytest
from tests.publishing.helpers import World, account_row, connect, start_connect

from cliply.accounts.models import OAuthState
from cliply.accounts.rotation import RotationIncomplete, rotate_all
from cliply.accounts.tokens import (
    TokensUnreadable,
    access_token,
    keyring,
    refresh_token,
    verifier_of,
)
from cliply.db.engine import owner_session

# Every test here needs the database (or a server process): integration tier.
pytestmark = pytest.mark.integration


def _key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def _use_keys(monkeypatch: pytest.MonkeyPatch, spec: str) -> None:
    from tests.conftest import reset_caches

    monkeypatch.setenv("TOKEN_ENCRYPTION_KEYS", spec)
    reset_caches()


def _readable(account_ids: list[str]) -> dict[str, tuple[str, str | None]]:
    ring = keyring()
    out = {}
    for account_id in account_ids:
        row = account_row(account_id)
        out[account_id] = (access_token(ring, row), refresh_token(ring, row))
    return out


def _states() -> list[OAuthState]:
    with owner_session() as db:
        return list(db.query(OAuthState).all())


def test_rotate_all(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    ids = [connect(world, "tiktok")["id"], connect(world, "youtube")["id"]]
    start_connect(world, "tiktok")  # a flow in progress: its verifier is a stored secret too
    before = _readable(ids)
    old_spec = os.environ["TOKEN_ENCRYPTION_KEYS"]
    old_id = old_spec.split(":")[0]
    verifiers = {s.nonce: verifier_of(keyring(), s) for s in _states()}

    # A new key first in the list: new writes use it, old values still read.
    _use_keys(monkeypatch, f"k2:{_key()},{old_spec}")
    assert _readable(ids) == before
    assert account_row(ids[0]).access_token_enc.startswith(f"v1:{old_id}:")

    rotated = rotate_all()
    assert rotated == 2 * len(ids) + len(verifiers)  # access + refresh per account, verifiers
    for account_id in ids:
        row = account_row(account_id)
        assert row.access_token_enc.startswith("v1:k2:")
        assert row.refresh_token_enc.startswith("v1:k2:")
    assert all(s.code_verifier_enc.startswith("v1:k2:") for s in _states())
    assert _readable(ids) == before
    assert rotate_all() == 0  # nothing left under the old key

    # The old key can now go.
    new_spec = os.environ["TOKEN_ENCRYPTION_KEYS"].split(",")[0]
    _use_keys(monkeypatch, new_spec)
    assert _readable(ids) == before
    assert {s.nonce: verifier_of(keyring(), s) for s in _states()} == verifiers

    # The publish path still works with rotated tokens: a refresh through the fake.
    from cliply.accounts.service import ensure_access_token

    assert ensure_access_token(account_row(ids[0]).id, margin_s=10**9)

    # A missing key: a clear, typed error, and nothing readable comes out.
    _use_keys(monkeypatch, f"k3:{_key()}")
    row = account_row(ids[1])
    with pytest.raises(TokensUnreadable) as err:
        access_token(keyring(), row)
    assert err.value.code == "token-decrypt-failed"
    assert "k2" in err.value.detail and "not configured" in err.value.detail
    assert before[ids[1]][0] not in err.value.detail
    with pytest.raises(RotationIncomplete) as rot:
        rotate_all()
    assert rot.value.code == "rotation-incomplete" and rot.value.failures


def test_publishing_with_a_missing_key_fails_clearly(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.publishing.helpers import run_due_jobs, schedule, schedule_row

    connect(world, "youtube")
    sched = schedule(world, "youtube", scheduled_at=None)
    _use_keys(monkeypatch, f"k9:{_key()}")
    ran = run_due_jobs()
    assert [r.status for r in ran] == ["failed"], [r.error for r in ran]
    row = schedule_row(sched["id"])
    assert row.status == "failed"
    assert "cannot be decrypted" in row.error
    assert world.fakes.google.videos == []


def test_cli_keys_rotate(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from typer.testing import CliRunner

    from cliply.cli import app

    account_id = connect(world, "tiktok")["id"]
    _use_keys(monkeypatch, f"k5:{_key()},{os.environ['TOKEN_ENCRYPTION_KEYS']}")
    result = CliRunner().invoke(app, ["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert "re-encrypted 3 secret(s)" in result.output
    assert account_row(account_id).access_token_enc.startswith("v1:k5:")


def test_old_oauth_flows_are_cleaned_up(world: World) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from cliply.accounts.tasks import cleanup_oauth_states

    start_connect(world, "tiktok")
    start_connect(world, "youtube")
    assert cleanup_oauth_states() == 0
    with owner_session() as db:
        db.execute(
            update(OAuthState)
            .where(OAuthState.platform == "tiktok")
            .values(expires_at=datetime.now(UTC) - timedelta(days=2))
        )
    assert cleanup_oauth_states() == 1
    assert [s.platform for s in _states()] == ["youtube"]
